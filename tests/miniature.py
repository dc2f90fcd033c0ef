"""A miniature of what the presets run on: Music4All-Onion's folder and the models' weights.

- ``onion_folder``: the synthetic generator's dataset in Music4All-Onion's
  layout (``audios/*.mp3`` at 44.1 kHz, ``id_information.csv``, the log as
  ``userid_trackid_timestamp.tsv.bz2``, MFCC statistics and i-vectors as
  ``id_<feature>.tsv.bz2``), from January 2018 to March 2020, so that both
  the 2024 paper's split (test from 2020-02-20) and the journal's (one year
  before 2019-02-01, one month after, with tracks released in that month)
  find data.
- ``record``: Music4All-Onion's Zenodo record on a loopback server: its
  public files and the API answer with their sizes and MD5s; ``dataset_root``
  is a preset's dataset folder holding only what is not public (the audio,
  ``id_information.csv``), so the presets' download rules fetch the rest.
- ``weights_cache``: a Hugging Face cache (``HF_HOME``) in which every hub id
  the presets name holds a tiny random-weight checkpoint in its published
  format (MERT's config and weights, Music2Vec's, MusicFM's ``.pt`` and
  stats, EncodecMAE's ``model.pt`` and ``config.gin``, MuQ's, MuQ-MuLan's and
  its two towers', XLM-RoBERTa's); Jukebox's two ``.pth.tar`` files in a
  folder; MULE's SCOOCH configuration and Keras model. MuQ and MULE models
  are built with their packages in their own venvs (``.envs/``).
- ``preset_config``: a preset (with any presets layered on it) pointed at the
  miniature: its dataset root, one audio shard, the CPU, two epochs,
  BERT4Rec's validation users from 2 new tracks (not 10), and the tiny models' few settings that the real checkpoints do not need (Jukebox's
  widths, MULE's output width). Everything else is the preset as shipped.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
from pathlib import Path

import yaml

from tests import tiny_backbones
from tests.conftest import REPO

REVISION = "0" * 40
ONION_FEATURES = ("mfcc_stats", "ivec256", "ivec1024")
PUBLIC = ["userid_trackid_timestamp.tsv.bz2", *(f"id_{f}.tsv.bz2" for f in ONION_FEATURES)]
PRIVATE = ["audios", "id_information.csv"]  # Music4All's, shared on request


def record(server, source: Path) -> dict:
    """Serve `source`'s public files as Zenodo serves the record; the presets' download
    settings that point at it."""
    import hashlib

    files = []
    for name in PUBLIC:
        data = (source / name).read_bytes()
        server.files[f"/records/6609677/files/{name}"] = data
        md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
        files.append({"key": name, "size": len(data), "checksum": f"md5:{md5}"})
    server.files["/api/records/6609677"] = json.dumps({"files": files}).encode()
    return {
        "url": f"{server.url}/records/6609677/files/{{name}}",
        "record": f"{server.url}/api/records/6609677",
    }


def yambda_files(scale: str = "50m") -> list[str]:
    """The hub files a Yambda preset of this scale downloads."""
    return [f"flat/{scale}/listens.parquet", "embeddings.parquet"]


def yambda_folder(root: Path, scale: str = "50m") -> Path:
    """Yambda in miniature, in its exact schema, under the file names of ``scale``: 150
    users, 4,000 tracks (95 % with a vector), 40 k listens over its last 10 days, so that
    each split window holds some."""
    from audiorec.data import yambda

    yambda.synthetic(
        root, scale, users=150, items=4000, events=40_000, dim=32, days=10, embedded=0.95
    )
    return root


def hub(server, source: Path, scale: str = "50m") -> dict:
    """Serve `source`'s Yambda files as the Hugging Face hub serves yandex/yambda (the
    resolve URLs and the tree API's listing: path, size, LFS SHA-256); the preset's
    download settings that point at it."""
    import hashlib

    listing = []
    for name in yambda_files(scale):
        data = (source / name).read_bytes()
        server.files[f"/datasets/yandex/yambda/resolve/main/{name}"] = data
        sha = hashlib.sha256(data).hexdigest()
        lfs = {"oid": sha, "size": len(data), "pointerSize": 134}
        listing.append(
            {"type": "file", "oid": "0" * 40, "size": len(data), "path": name, "lfs": lfs}
        )
    server.files["/api/datasets/yandex/yambda/tree/main"] = json.dumps(listing).encode()
    return {
        "url": f"{server.url}/datasets/yandex/yambda/resolve/main/{{name}}",
        "record": f"{server.url}/api/datasets/yandex/yambda/tree/main?recursive=true",
    }


def dataset_root(source: Path, folder: Path, audio: bool = True) -> Path:
    """A preset's dataset folder: Music4All's private files linked from `source` (none without
    `audio`); the public ones are left to the download rules."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in PRIVATE if audio else []:
        (folder / name).symlink_to(source / name)
    return folder


def onion_folder(root: Path) -> Path:
    from audiorec.data.synthetic import generate

    if (root / "id_information.csv").exists():
        return root
    generate(
        root,
        n_tracks=150,
        n_users=60,
        n_styles=4,
        clip_seconds=4.0,
        sample_rate=44100,
        audio_format="mp3",
        start_date="2018-01-01",
        months=27,
        sessions_per_month=3.0,
        session_length=8.0,
        taste_concentration=0.5,
        exploration=0.2,
        log_compression="bz2",
        feature_files=ONION_FEATURES,
        new_releases=0.12,
        release_after_months=13,
        seed=3,
        threads=2,
    )
    return root


def _hub(cache: Path, repo_id: str, folder: Path) -> None:
    """Files of `folder` as the cached snapshot of `repo_id` (refs/main -> a revision)."""
    entry = cache / "hub" / f"models--{repo_id.replace('/', '--')}"
    snapshot = entry / "snapshots" / REVISION
    shutil.rmtree(entry, ignore_errors=True)
    shutil.copytree(folder, snapshot)
    (entry / "refs").mkdir(parents=True)
    (entry / "refs" / "main").write_text(REVISION)


def _in_env(env: str, code: str, cache: Path) -> None:
    """Run `code` with the venv of envs/<env>.yaml (its package is not in this one)."""
    from audiorec import software

    python = software.python_path(env)
    environ = {**os.environ, "HF_HOME": str(cache), "HF_HUB_OFFLINE": "1"}
    environ["PATH"] = f"{python.parent}{os.pathsep}{environ.get('PATH', '')}"
    subprocess.run([str(python), "-c", code], check=True, cwd=REPO, env=environ)


def weights_cache(root: Path, own_envs: bool = False) -> Path:
    """The cache folder (use it as HF_HOME); `own_envs` adds MuQ, MuQ-MuLan and MULE.

    Each part is built once per `root`: a later call with `own_envs` adds only the
    models of the backbones' own venvs to the cache an earlier call made.
    """
    cache = root / "hf"
    build = root / "build"
    if not (root / ".done").exists():
        _main_env_models(root, build, cache)
        (root / ".done").write_text("")
    if own_envs and not (root / ".done-own").exists():
        _own_env_models(root, build, cache)
        (root / ".done-own").write_text("")
    return cache


def _main_env_models(root: Path, build: Path, cache: Path) -> None:
    """MERT, Music2Vec, MusicFM, EncodecMAE and Jukebox at their published depths."""
    shutil.rmtree(build, ignore_errors=True)
    # the depths of the published models, so that the presets' layers (12, 36) exist
    # and their 320-sample frames
    hop = tiny_backbones.HOP_320
    mert, _ = tiny_backbones.mert_folder(build / "mert", deepnorm=True, layers=24, **hop)
    _hub(cache, "m-a-p/MERT-v1-330M", mert)
    _hub(cache, "m-a-p/music2vec-v1", tiny_backbones.music2vec_folder(build / "music2vec", **hop))
    musicfm, _ = tiny_backbones.musicfm_folder(build / "musicfm", depth=12)
    shutil.copy(musicfm / "pretrained_msd.pt", musicfm / "pretrained_fma.pt")
    shutil.copy(musicfm / "msd_stats.json", musicfm / "fma_stats.json")
    _hub(cache, "minzwon/MusicFM", musicfm)
    _hub(cache, "lpepino/encodecmae-base", tiny_backbones.encodecmae_folder())
    jukebox_folder(root / "jukebox")


def _own_env_models(root: Path, build: Path, cache: Path) -> None:
    """MuQ and MuQ-MuLan (built in the muq venv) and MULE's config (in the mule venv)."""
    shutil.rmtree(build / "muq", ignore_errors=True)
    _in_env(
        "muq",
        "from pathlib import Path\n"
        "from tests.miniature import muq_models\n"
        f"muq_models(Path({str(build)!r}), Path({str(cache)!r}))\n",
        cache,
    )
    _in_env(
        "mule",
        "from pathlib import Path\n"
        "from tests.tiny_backbones import mule_config\n"
        f"mule_config(Path({str(root / 'mule')!r}))\n",
        cache,
    )


JUKEBOX_PRIOR = {**tiny_backbones.jukebox_params()["prior_hparams"], "prior_depth": 72}


def jukebox_folder(folder: Path) -> Path:
    """The golden fixture's tiny Jukebox with the 5B prior's 72 layers (its widths otherwise)."""
    import torch
    from jukebox_infer import make_models
    from jukebox_infer.hparams import setup_hparams

    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(tiny_backbones.UPSTREAM / "jukebox" / "vqvae.pth.tar", folder / "vqvae.pth.tar")
    vq = tiny_backbones.jukebox_params()["vqvae_hparams"]
    with torch.device("meta"):
        vqvae = make_models.make_vqvae(
            setup_hparams("vqvae", {"sample_length": 1048576, **vq, "restore_vqvae": ""}), "meta"
        )
    torch.manual_seed(0)
    prior = make_models.make_prior(
        setup_hparams("prior_5b", {**JUKEBOX_PRIOR, "restore_prior": ""}), vqvae, "cpu"
    )
    torch.save({"model": prior.state_dict()}, folder / "prior_level_2.pth.tar")
    return folder


def muq_models(build: Path, cache: Path) -> None:
    """MuQ, and MuQ-MuLan with its towers named by their hub ids (run in the muq venv)."""
    from transformers import XLMRobertaConfig, XLMRobertaModel

    muq = tiny_backbones.upstream_or_skip("muq")
    import torch

    tower = tiny_backbones.muq_folder(build / "muq")
    _hub(cache, "OpenMuQ/MuQ-large-msd-iter", tower)
    torch.manual_seed(0)
    XLMRobertaModel(
        XLMRobertaConfig(
            vocab_size=64,
            hidden_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=64,
            max_position_embeddings=80,
        )
    ).save_pretrained(build / "xlm-roberta-base")
    _hub(cache, "xlm-roberta-base", build / "xlm-roberta-base")
    config = {
        "mulan": {"sr": 24000, "clip_secs": 10, "dim_latent": 16},
        "audio_model": {"name": "OpenMuQ/MuQ-large-msd-iter", "model_dim": 32, "use_layer_idx": -1},
        "text_model": {"name": "xlm-roberta-base", "model_dim": 32},
        "audio_transformer": {"dim": 32, "tf_depth": 1, "heads": 2, "dim_head": 16},
        "text_transformer": {"dim": 32, "tf_depth": 1, "heads": 2, "dim_head": 16},
    }
    torch.manual_seed(1)
    mulan = muq.MuQMuLan(config)
    folder = build / "muq-mulan"
    mulan.save_pretrained(folder)
    torch.save(mulan.state_dict(), folder / "pytorch_model.bin")  # as MuQ-MuLan-large ships it
    (folder / "model.safetensors").unlink()
    _hub(cache, "OpenMuQ/MuQ-MuLan-large", folder)


def _merge(base: dict, extra: dict) -> dict:
    from snakemake.utils import update_config

    out = copy.deepcopy(base)
    update_config(out, copy.deepcopy(extra))
    return out


def preset_config(
    presets: list[str], root: Path, data: Path, results: Path, download: dict | None = None
) -> Path:
    """The presets (later ones layered on earlier) on the miniature, their downloads from
    `download` (``record``'s settings); returns the config file."""
    config: dict = {}
    for name in presets:
        config = _merge(config, yaml.safe_load((REPO / "presets" / f"{name}.yaml").read_text()))
    config["results_dir"] = str(results)
    config["dataset"]["root"] = str(data)
    if download:
        config.setdefault("download", {}).update(download)
    config.setdefault("audio", {})["n_shards"] = 1
    # one thread a job: the miniature's jobs spend their time starting Python, so two cores
    # run two of them at once instead of one on both
    for section in ("backbones", "recommenders"):
        for entry in config.get(section, {}).values():
            if "resources" in entry:
                entry["resources"]["threads"] = 1
    if "resources" in config.get("evaluation", {}):
        config["evaluation"]["resources"]["threads"] = 1
    for entry in config.get("backbones", {}).values():
        if "device" in entry:
            entry["device"] = "cpu"
        entry["batch_size"] = 4
        entry.pop("workers", None)
        params = entry.setdefault("params", {})
        if entry["type"] == "jukebox":
            params["vqvae_hparams"] = tiny_backbones.jukebox_params()["vqvae_hparams"]
            params["prior_hparams"] = JUKEBOX_PRIOR
            params.update(checkpoint_dir=str(root / "jukebox"), fp16=False)
        if entry["type"] == "mule":
            params.update(config=str(root / "mule" / "mule_embedding_average.yml"))
            params["dim"] = tiny_backbones.MULE_DIM
    for entry in config.get("recommenders", {}).values():
        if "device" in entry:
            entry["device"] = "cpu"
        params = entry.setdefault("params", {})
        if entry["type"] in TRAINED:
            params["max_epochs"] = 2
        if entry["type"] == "bimodal":
            params["elsa_epochs"] = 2
        if entry["type"] == "bert4rec":
            params["val_min_items"] = 2  # a miniature's validation users have few new tracks
    results.parent.mkdir(parents=True, exist_ok=True)
    path = results.parent / f"{'+'.join(presets)}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


TRAINED = {"shallow", "bert4rec", "sasrec", "elsa", "hybrid", "bimodal"}


def snakemake_env(cache: Path) -> dict:
    return {**os.environ, "HF_HOME": str(cache), "HF_HUB_OFFLINE": "1"}
