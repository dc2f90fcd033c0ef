"""Tiny models of every backbone, saved in their published checkpoints' on-disk formats.

`build(kind, folder, monkeypatch)` returns the `params` that make
`backbones.get(kind)` load such a model through its production path. The
backbone contract suite (tests/test_backbone_contract.py) runs every
registered backbone through them, so a new backbone needs a builder here.
MusiCNN uses its real weights (from the musicnn wheel); EncodecMAE and
Jukebox use the golden fixtures' checkpoints (tests/fixtures/upstream); MuQ,
MuQ-MuLan and MULE are built with their upstream packages, which live in
their own environments (`OWN_ENV`): elsewhere their tests are skipped,
saying so, and `make test-envs` runs them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

TINY_WAV2VEC2 = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "conv_dim": [16, 16, 16],
    "conv_stride": [5, 4, 4],
    "conv_kernel": [10, 4, 4],
    "num_conv_pos_embeddings": 16,
    "num_conv_pos_embedding_groups": 4,
}


HOP_320 = {"conv_stride": [5, 8, 8], "conv_kernel": [10, 8, 8]}  # the published models' frame rate


def music2vec_folder(folder: Path, **sizes) -> Path:
    """Files as in m-a-p/music2vec-v1: config.json, pytorch_model.bin, preprocessor_config.json."""
    import torch
    from transformers import Data2VecAudioConfig, Data2VecAudioModel

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    model = Data2VecAudioModel(
        Data2VecAudioConfig(**{**TINY_WAV2VEC2, **sizes}, num_feat_extract_layers=3)
    )
    model.config.save_pretrained(folder)
    torch.save(model.state_dict(), folder / "pytorch_model.bin")
    (folder / "preprocessor_config.json").write_text(
        json.dumps(
            {
                "do_normalize": True,
                "sampling_rate": 16000,
                "feature_extractor_type": "Wav2Vec2FeatureExtractor",
            }
        )
    )
    return folder


def mert_folder(
    folder: Path, deepnorm: bool = False, stable: bool = False, layers: int = 2, **sizes
):
    """Files as in m-a-p/MERT-v1-*: MERT's config keys and HuBERT parameter names."""
    import torch
    from transformers import HubertConfig, HubertModel

    folder.mkdir(parents=True)
    torch.manual_seed(1)
    hubert = HubertModel(
        HubertConfig(
            **{**TINY_WAV2VEC2, "num_hidden_layers": layers, **sizes},
            num_feat_extract_layers=3,
            do_stable_layer_norm=stable,
            feat_proj_layer_norm=True,
        )
    )
    cfg = hubert.config.to_dict()
    cfg.update(
        architectures=["MERTModel"],
        auto_map={
            "AutoConfig": "configuration_MERT.MERTConfig",
            "AutoModel": "modeling_MERT.MERTModel",
        },
        model_type="mert_model",
        feature_extractor_cqt=False,
        feature_extractor_cqt_bins=336,
        deepnorm=deepnorm,
        attention_relax=-1.0,
        sample_rate=24000,
    )
    (folder / "config.json").write_text(json.dumps(cfg))
    torch.save(hubert.state_dict(), folder / "pytorch_model.bin")
    (folder / "preprocessor_config.json").write_text(
        json.dumps({"do_normalize": False, "sampling_rate": 24000})
    )
    return folder, hubert.eval()


# parameter names of the published checkpoint (upstream MusicFM25Hz), beyond the conformer's own
MUSICFM_PUBLISHED = [
    "model.conv.conv.0.conv1.weight",
    "model.conv.conv.0.bn1.running_mean",
    "model.conv.conv.0.conv3.weight",
    "model.conv.conv.1.bn3.weight",
    "model.conv.linear.weight",
    "model.conformer.layers.0.ffn1.intermediate_dense.weight",
    "model.conformer.layers.1.self_attn.linear_q.weight",
    "model.conformer.layer_norm.weight",
    "model.preprocessor_melspec_2048.mel_stft.spectrogram.window",
    "model.preprocessor_melspec_2048.mel_stft.mel_scale.fb",
    "model.quantizer_melspec_2048_0.random_projection",
    "model.quantizer_melspec_2048_0.codebook",
    "model.linear.weight",
    "model.cls_token",
    "model.conformer.pos_conv_embed.conv.weight_g",
]


def musicfm_folder(folder: Path, depth: int = 2):
    """pretrained_msd.pt ({'state_dict': model.-prefixed weights}) and msd_stats.json, tiny widths."""
    import torch

    from audiorec.backbones import musicfm

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    net = musicfm._network(conv_dim=8, encoder_dim=32, depth=depth, ffn=64)
    for m in net.modules():  # give batch norms non-trivial statistics
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    state = {
        f"model.{k}": v
        for k, v in net.state_dict().items()
        if k not in {"window", "fb", "stat"} and "pos_conv_embed" not in k
    }
    state["model.preprocessor_melspec_2048.mel_stft.spectrogram.window"] = torch.hann_window(2048)
    state["model.preprocessor_melspec_2048.mel_stft.mel_scale.fb"] = torch.from_numpy(
        musicfm.htk_mel_filterbank(1025, 128, 24000)
    )
    state["model.quantizer_melspec_2048_0.random_projection"] = torch.randn(512, 16)
    state["model.quantizer_melspec_2048_0.codebook"] = torch.randn(64, 16)
    state["model.linear.weight"], state["model.linear.bias"] = torch.randn(64, 32), torch.zeros(64)
    state["model.cls_token"] = torch.randn(32)
    state["model.conformer.pos_conv_embed.conv.weight_g"] = torch.ones(1, 1, 128)  # old names
    state["model.conformer.pos_conv_embed.conv.weight_v"] = torch.randn(32, 2, 128)
    state["model.conformer.pos_conv_embed.conv.bias"] = torch.zeros(32)
    assert set(MUSICFM_PUBLISHED) <= set(state)
    torch.save({"state_dict": state}, folder / "pretrained_msd.pt")
    (folder / "msd_stats.json").write_text(
        json.dumps({"melspec_2048_mean": 6.77, "melspec_2048_std": 18.43})
    )
    return folder, net


def onion_feature_file(path: Path, ids, dim: int = 5, seed: int = 0) -> Path:
    """A Music4All-Onion feature file: bz2-compressed TSV, an `id` column then the vector."""
    import bz2

    rng = np.random.default_rng(seed)
    lines = ["id\t" + "\t".join(f"f{j}" for j in range(dim))]
    lines += [f"{t}\t" + "\t".join(f"{v:.6f}" for v in rng.normal(size=dim)) for t in ids]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bz2.compress(("\n".join(lines) + "\n").encode()))
    return path


UPSTREAM = Path(__file__).resolve().parent / "fixtures" / "upstream"
OWN_ENV = {"muq": "muq", "muq_mulan": "muq", "mule": "mule"}  # type -> its upstream module


def upstream_or_skip(kind: str):
    """The upstream module a backbone needs in its own environment, or a skip saying so."""
    module = OWN_ENV[kind]
    return pytest.importorskip(
        module, reason=f"{kind} runs in its own environment (envs/{kind}.yaml): make test-envs"
    )


def encodecmae_folder() -> Path:
    """The golden fixture's checkpoint: model.pt + config.gin as the hub repos hold them."""
    return UPSTREAM / "encodecmae"


def jukebox_params(layer: int = 2) -> dict:
    """The golden fixture's tiny Jukebox: vqvae.pth.tar + prior_level_2.pth.tar, CPU settings."""
    hparams = json.loads((UPSTREAM / "jukebox" / "provenance.json").read_text())["upstream"]
    return {
        "checkpoint_dir": str(UPSTREAM / "jukebox"),
        "layer": layer,
        "fp16": False,
        "vqvae_hparams": hparams["vqvae_hparams"],
        "prior_hparams": hparams["prior_hparams"],
    }


def _tiny_conformer() -> dict:
    from transformers import Wav2Vec2ConformerConfig

    config = Wav2Vec2ConformerConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        hidden_act="swish",
        position_embeddings_type="rotary",
        conv_depthwise_kernel_size=31,
        layer_norm_eps=1e-5,
    ).to_dict()
    return {k: v for k, v in config.items() if k not in ("id2label", "label2id")}


def _randomise_norms(model) -> None:
    import torch

    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (torch.nn.LayerNorm, torch.nn.BatchNorm2d)):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)


def _as_published(model, folder: Path, weights: str) -> Path:
    """save_pretrained's config.json and model.safetensors, or pytorch_model.bin instead."""
    import torch

    model.save_pretrained(folder)
    if weights == "bin":
        torch.save(model.state_dict(), folder / "pytorch_model.bin")
        (folder / "model.safetensors").unlink()
    return folder


def muq_folder(folder: Path, weights: str = "safetensors") -> Path:
    """A tiny MuQ as the hub repo holds it: config.json + model.safetensors (or .bin)."""
    import torch

    muq = upstream_or_skip("muq")
    config = {
        "encoder_dim": 32,
        "encoder_depth": 2,
        "conv_dim": 8,
        "codebook_size": 64,
        "w2v2_config": _tiny_conformer(),
        "stat": {"melspec_2048_mean": 6.77, "melspec_2048_std": 19.2},
    }
    torch.manual_seed(0)
    model = muq.MuQ(config)
    _randomise_norms(model)
    return _as_published(model, folder, weights)


def muq_mulan_folders(root: Path) -> tuple[Path, Path]:
    """A tiny MuQ-MuLan as OpenMuQ/MuQ-MuLan-large ships it (config.json + pytorch_model.bin),
    and a copy with model.safetensors (what upstream's from_pretrained needs for a folder).
    Its config names a tiny MuQ and a tiny XLM-RoBERTa, as the real one names its towers."""
    import torch

    muq = upstream_or_skip("muq_mulan")
    from transformers import XLMRobertaConfig, XLMRobertaModel

    audio = muq_folder(root / "tiny-muq-tower")
    text = root / "tiny-xlm-roberta"
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
    ).save_pretrained(text)
    config = {
        "mulan": {"sr": 24000, "clip_secs": 10, "dim_latent": 16},
        "audio_model": {"name": str(audio), "model_dim": 32, "use_layer_idx": -1},
        "text_model": {"name": str(text), "model_dim": 32},
        "audio_transformer": {"dim": 32, "tf_depth": 1, "heads": 2, "dim_head": 16},
        "text_transformer": {"dim": 32, "tf_depth": 1, "heads": 2, "dim_head": 16},
    }
    torch.manual_seed(1)
    model = muq.MuQMuLan(config)
    _randomise_norms(model)
    published = _as_published(model, root / "tiny-muq-mulan", "bin")
    return published, _as_published(model, root / "tiny-muq-mulan-st", "safetensors")


def musicnn_weights_or_skip() -> None:
    from audiorec.backbones import musicnn

    try:
        musicnn.find_checkpoint("MSD_musicnn", None)
    except FileNotFoundError as err:
        pytest.skip(f"MusiCNN weights not installed ({err}); `make test` installs them")


def build(kind: str, folder: Path, monkeypatch=None) -> dict:
    """Params loading a tiny (or, for MusiCNN, the real) model of backbone type `kind`."""
    folder = Path(folder)
    if kind == "mfcc":
        return {}
    if kind == "musicnn":
        musicnn_weights_or_skip()
        return {"checkpoint": "MSD_musicnn", "cache_dir": str(folder / "musicnn_cache")}
    if kind == "mert":
        return {"checkpoint": str(mert_folder(folder / "mert")[0]), "chunk_seconds": 1.0}
    if kind == "music2vec":
        return {"checkpoint": str(music2vec_folder(folder / "music2vec")), "chunk_seconds": 1.0}
    if kind == "musicfm":
        return {"checkpoint": str(musicfm_folder(folder / "musicfm")[0]), "variant": "msd"}
    if kind == "encodecmae":
        return {"checkpoint": str(encodecmae_folder())}
    if kind == "jukebox":
        return jukebox_params()
    if kind == "muq":
        folder = muq_folder(folder / "tiny-muq", weights="bin")
        return {"checkpoint": str(folder), "clip_seconds": 6.0, "chunk_seconds": 6.0}
    if kind == "muq_mulan":
        folder = muq_mulan_folders(folder)[0]
        return {"checkpoint": str(folder), "clip_seconds": 6.0, "chunk_seconds": 6.0}
    if kind == "mule":
        config = mule_config(folder / "mule")
        return {"config": str(config), "dim": MULE_DIM}
    if kind == "precomputed":
        return {"path": str(onion_feature_file(folder / "id_feature.tsv.bz2", ["a", "b", "z"]))}
    raise KeyError(f"no tiny model for backbone type {kind!r}: add one to tests/tiny_backbones.py")


MULE_DIM = 16
MULE_CONFIG = """\
Analysis:
  source_feature:
    AudioWaveform:
      input_file:
        AudioFile:
          sample_rate: 44100
      sample_rate: 16000
  feature_transforms:
    - MelSpectrogram:
        n_fft: 2048
        hop_length: 160
        win_length: 400
        window: 'hann'
        n_mels: 96
        fmin: 0.0
        fmax: 8000.0
        norm: 2.0
        mag_compression: 'log10_nonneg'
        htk: True
        power: 2.0
        mag_range: null
        extractor:
          BlockExtractor: null
    - EmbeddingFeature:
        model_location: "{model}"
        extractor:
          SliceExtractor:
            look_forward: 150
            look_backward: 150
            hop: 200
    - TimelineAverage:
        extractor:
          BlockExtractor: null
"""


def mule_config(folder: Path) -> Path:
    """MULE's "average" SCOOCH configuration (mule_embedding_average.yml's settings) naming a
    tiny Keras model saved as the published model.keras: MULE's input (96 mel bands x 300
    frames x 1), a MULE_DIM-wide output."""
    upstream_or_skip("mule")
    import tensorflow as tf

    folder.mkdir(parents=True, exist_ok=True)
    tf.keras.utils.set_random_seed(0)
    inputs = tf.keras.Input(shape=(96, 300, 1))
    x = tf.keras.layers.Conv2D(8, 5, strides=4, activation="relu")(inputs)
    x = tf.keras.layers.GlobalAveragePooling2D()(x)
    model = tf.keras.Model(inputs, tf.keras.layers.Dense(MULE_DIM)(x))
    model.save(folder / "model.keras")
    config = folder / "mule_embedding_average.yml"
    config.write_text(MULE_CONFIG.format(model=folder / "model.keras"))
    return config


def mule_cli(config: Path, audio: Path, tmp: Path) -> np.ndarray:
    """The package's documented path: `mule analyze -c config -i audio -o out.npy`."""
    import subprocess

    out = tmp / "mule_cli.npy"
    mule = Path(sys.executable).parent / "mule"
    subprocess.run(
        [str(mule), "analyze", "-c", str(config), "-i", str(audio), "-o", str(out)], check=True
    )
    return np.load(out).reshape(-1)
