"""Every backbone against its real upstream: the vectors its authors' code computes.

Where the upstream is on PyPI (transformers for Music2Vec, librosa for MFCC,
muq, sxmp-mule), the test runs it live: a tiny random model saved in the
published on-disk format, the upstream's documented extraction path, and
audiorec's backbone on the same real music. Where it lives only on GitHub
(MERT's remote code, MusicFM, EncodecMAE, jukemirlib's walk, the musicnn
package's TensorFlow graph), the upstream's outputs are golden fixtures in
``tests/fixtures/upstream`` (and ``tests/fixtures/musicnn``), made by the
scripts beside them. Each test records its largest absolute difference,
printed at the end of the run (``conftest.pytest_terminal_summary``).

muq and sxmp-mule cannot be installed beside this environment's torch or
NumPy: their tests run in their own environments (``make test-envs``) and are
skipped here, saying so.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from audiorec import backbones
from tests import tiny_backbones
from tests.conftest import REPO

FIXTURES = REPO / "tests" / "fixtures" / "upstream"
TOLERANCE = 1e-4


def clip(rate: int) -> np.ndarray:
    y, sr = sf.read(FIXTURES / f"clip_{rate}.flac", dtype="float32")
    assert sr == rate
    return y


def check(parity, name: str, ours, theirs, tolerance: float = TOLERANCE) -> float:
    ours, theirs = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
    assert ours.shape == theirs.shape, (name, ours.shape, theirs.shape)
    diff = float(np.abs(ours - theirs).max())
    parity(name, diff)
    assert diff <= tolerance, f"{name}: max |difference| {diff:.3g} > {tolerance}"
    return diff


def embed(kind: str, params: dict, y: np.ndarray):
    bb = backbones.get(kind)(params)
    bb.ready()
    try:
        return bb.embed([bb.prepare(y)])
    finally:
        bb.close()


# -- golden fixtures ------------------------------------------------------------------
def test_encodecmae_matches_upstream_extract_features(parity):
    ref = np.load(FIXTURES / "encodecmae" / "outputs.npz")
    out = embed(
        "encodecmae", {"checkpoint": str(FIXTURES / "encodecmae"), "layer": "all"}, clip(24000)
    )
    check(parity, "encodecmae (last)", out["embedding"][0], ref["last"])
    check(parity, "encodecmae (every layer)", out["layers"][0], ref["layers"])


def test_musicfm_matches_upstream_get_latent(parity):
    ref = np.load(FIXTURES / "musicfm" / "outputs.npz")
    folder = str(FIXTURES / "musicfm")
    out = embed("musicfm", {"checkpoint": folder, "variant": "msd", "layer": "all"}, clip(24000))
    check(parity, "musicfm (every layer)", out["layers"][0], ref["layers"])
    channels = embed(
        "musicfm",
        {
            "checkpoint": folder,
            "variant": "msd",
            "layer": len(ref["layers"]) - 1,
            "pooling": "channels",
            "clip_seconds": 6.0,
            "chunk_seconds": 6.0,
            "pad_clip": True,
        },
        clip(24000),
    )
    check(parity, "musicfm (the study's channel pooling)", channels[0], ref["channels"])


@pytest.mark.parametrize("variant", ["mert", "mert_deepnorm"])
@pytest.mark.parametrize("normalize", ["preprocessor", False])
def test_mert_hubert_loader_matches_the_remote_code(parity, variant, normalize):
    ref = np.load(FIXTURES / variant / "outputs.npz")
    params = {
        "checkpoint": str(FIXTURES / variant),
        "layer": "all",
        "chunk_seconds": 5.0,
        "normalize": normalize,
    }
    out = embed("mert", params, clip(24000)[: 5 * 24000])
    key = "processed" if normalize else "raw"
    check(parity, f"{variant} ({key}, every layer)", out["layers"][0], ref[key])
    check(parity, f"{variant} ({key}, last)", out["embedding"][0], ref[key][-1])


def test_jukebox_matches_jukemirlibs_walk(parity):
    ref = np.load(FIXTURES / "jukebox" / "outputs.npz")
    hparams = json.loads((FIXTURES / "jukebox" / "provenance.json").read_text())["upstream"]
    y = clip(44100) * 0.5  # jukemirlib peak-normalises: so must the backbone
    for i, layer in enumerate(ref["layer_numbers"].astype(int)):
        out = embed(
            "jukebox",
            {
                "checkpoint_dir": str(FIXTURES / "jukebox"),
                "layer": int(layer),
                "fp16": False,
                "vqvae_hparams": hparams["vqvae_hparams"],
                "prior_hparams": hparams["prior_hparams"],
            },
            y,
        )
        check(parity, f"jukebox (layer {layer})", out[0], ref["layers"][i])


def test_musicnn_matches_the_original_package(parity):
    tiny_backbones.musicnn_weights_or_skip()
    from audiorec.backbones import musicnn

    for model in ("MSD_musicnn", "MTT_musicnn"):
        bb = musicnn.MusiCNNBackbone({"checkpoint": model})
        for path in sorted((REPO / "tests" / "fixtures" / "music").glob("*.flac")):
            ref = np.load(REPO / "tests" / "fixtures" / "musicnn" / f"{path.stem}__{model}.npz")
            out = bb.forward_patches(bb.prepare(sf.read(path, dtype="float32")[0]))
            check(
                parity,
                f"musicnn {model} penultimate ({path.stem})",
                out["penultimate"],
                ref["penultimate"],
            )
            check(parity, f"musicnn {model} taggram ({path.stem})", out["taggram"], ref["taggram"])


# -- live upstreams ---------------------------------------------------------------------
def test_music2vec_matches_transformers_documented_path(parity, tmp_path):
    import torch
    from transformers import Data2VecAudioModel, Wav2Vec2FeatureExtractor

    folder = tiny_backbones.music2vec_folder(tmp_path / "music2vec-v1")
    y = clip(16000)
    model = Data2VecAudioModel.from_pretrained(str(folder)).eval()
    inputs = Wav2Vec2FeatureExtractor.from_pretrained(str(folder))(
        y, sampling_rate=16000, return_tensors="pt"
    )
    with torch.no_grad():
        hidden = model(**inputs, output_hidden_states=True).hidden_states
    ref = torch.stack(hidden).squeeze(1).mean(-2).numpy()
    out = embed("music2vec", {"checkpoint": str(folder), "layer": "all", "chunk_seconds": 6.0}, y)
    check(parity, "music2vec (every layer)", out["layers"][0], ref)


def test_mfcc_matches_librosa(parity):
    import librosa

    y = clip(44100)
    y = librosa.resample(y, orig_sr=44100, target_sr=22050)
    mfcc = librosa.feature.mfcc(y=y, sr=22050, n_mfcc=13, n_fft=2048, hop_length=512, n_mels=128)
    cov = np.cov(mfcc)
    ref = np.concatenate([mfcc.mean(axis=1), cov[np.triu_indices(13)]])
    out = embed("mfcc", {}, y)
    check(parity, "mfcc (mean + covariance)", out[0], ref, tolerance=1e-3 * np.abs(ref).max())


def test_precomputed_reads_onions_published_file(parity, tmp_path):
    """Onion's id_<feature>.tsv.bz2: a header row, then the track id and its values."""
    ids = ["0009fFIM1eYThaPg", "0010xmHR6UICBOYT"]
    path = tiny_backbones.onion_feature_file(tmp_path / "id_mfcc_stats.tsv.bz2", ids, dim=104)
    import bz2

    rows = [line.split("\t") for line in bz2.decompress(path.read_bytes()).decode().splitlines()]
    ref = np.array([[float(v) for v in r[1:]] for r in rows[1:]])
    got_ids, vectors = backbones.get("precomputed")(
        {"path": path.name, "dim": 104}, root=tmp_path
    ).table()
    assert got_ids.tolist() == ids
    check(parity, "precomputed (Onion's file)", vectors, ref, tolerance=1e-6)


def test_muq_matches_its_package(parity, tmp_path):
    muq = pytest.importorskip("muq", reason="muq runs in its own environment: make test-envs")
    import torch

    folder = tiny_backbones.muq_folder(tmp_path / "tiny-muq", weights="bin")
    y = clip(24000)
    safetensors = tiny_backbones.muq_folder(tmp_path / "tiny-muq-st")  # from_pretrained needs it
    model = muq.MuQ.from_pretrained(str(safetensors)).eval()
    with torch.no_grad():
        output = model(torch.from_numpy(y)[None], output_hidden_states=True)
    ref = torch.stack(output.hidden_states).squeeze(1).mean(-2).numpy()
    params = {"checkpoint": str(folder), "layer": "all", "clip_seconds": 6.0, "chunk_seconds": 6.0}
    out = embed("muq", params, y)
    check(parity, "muq (every layer)", out["layers"][0], ref)
    check(parity, "muq (last)", out["embedding"][0], output.last_hidden_state[0].mean(0).numpy())


def test_muq_mulan_matches_its_package(parity, tmp_path):
    muq = pytest.importorskip("muq", reason="muq runs in its own environment: make test-envs")
    import torch

    published, with_safetensors = tiny_backbones.muq_mulan_folders(tmp_path)
    y = clip(24000)
    model = muq.MuQMuLan.from_pretrained(str(with_safetensors)).eval()
    with torch.no_grad():
        ref = model(wavs=torch.from_numpy(y)[None])[0].numpy()
    params = {
        "checkpoint": str(published),
        "clip_seconds": 6.0,
        "chunk_seconds": 6.0,
        "pad_clip": False,
    }
    out = embed("muq_mulan", params, y)
    check(parity, "muq_mulan (audio tower)", out[0], ref)


def test_mule_matches_its_command_line(parity, tmp_path):
    pytest.importorskip("mule", reason="sxmp-mule runs in its own environment: make test-envs")
    config = tiny_backbones.mule_config(tmp_path / "mule")
    tracks = [clip(44100), clip(44100)[: 44100 * 4]]
    refs = []
    for i, y in enumerate(tracks):  # the package reads .wav and .mp3 (through ffmpeg), not .flac
        sf.write(tmp_path / f"{i}.wav", y, 44100, subtype="PCM_16")
        refs.append(tiny_backbones.mule_cli(config, tmp_path / f"{i}.wav", tmp_path))
    bb = backbones.get("mule")({"config": str(config), "dim": tiny_backbones.MULE_DIM})
    out = bb.embed([bb.prepare(y) for y in tracks])  # one Analysis for both, as extraction runs
    check(parity, "mule (average embedding)", out[0], refs[0])
    check(parity, "mule (a second track, same Analysis)", out[1], refs[1])
