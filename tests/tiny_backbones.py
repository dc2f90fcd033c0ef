"""Tiny models of every backbone, saved in their published checkpoints' on-disk formats.

`build(kind, folder, monkeypatch)` returns the `params` that make
`backbones.get(kind)` load such a model through its production path. The
backbone contract suite (tests/test_backbone_contract.py) runs every
registered backbone through them, so a new backbone needs a builder here.
MusiCNN uses its real weights (from the musicnn wheel); EncodecMAE and
Jukebox, whose upstream packages come from GitHub only, get stand-ins with
the upstream API (`STANDINS`), installed into sys.modules by monkeypatch.
"""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

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
STANDINS = {"encodecmae", "jukebox", "muq", "muq_mulan", "mule"}


def music2vec_folder(folder: Path) -> Path:
    """Files as in m-a-p/music2vec-v1: config.json, pytorch_model.bin, preprocessor_config.json."""
    from transformers import Data2VecAudioConfig, Data2VecAudioModel

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    model = Data2VecAudioModel(Data2VecAudioConfig(**TINY_WAV2VEC2, num_feat_extract_layers=3))
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


def mert_folder(folder: Path, deepnorm: bool = False, stable: bool = False):
    """Files as in m-a-p/MERT-v1-*: MERT's config keys and HuBERT parameter names."""
    from transformers import HubertConfig, HubertModel

    folder.mkdir(parents=True)
    torch.manual_seed(1)
    hubert = HubertModel(
        HubertConfig(
            **TINY_WAV2VEC2,
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


def musicfm_folder(folder: Path):
    """pretrained_msd.pt ({'state_dict': model.-prefixed weights}) and msd_stats.json, tiny widths."""
    from audiorec.backbones import musicfm

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    net = musicfm._network(conv_dim=8, encoder_dim=32, depth=2, ffn=64)
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


class FakeEncodecMAE(torch.nn.Module):
    """encode_wav / mask / encode_visible as in encodecmae v1: 320-sample hops, 768 wide."""

    def __init__(self):
        super().__init__()
        self.feat_projector = torch.nn.Linear(128, 768)
        self.visible_encoder = types.SimpleNamespace(layers=[0] * 10, get_activations=self._acts)
        self.calls = []

    def encode_wav(self, x):
        self.calls.append(tuple(x["wav"].shape))
        frames = x["wav"].unfold(1, 320, 320).mean(-1, keepdim=True)  # (B, T, 1)
        x["projected_wav_features"] = frames.expand(-1, -1, 768) + torch.arange(768.0)

    def mask(self, x, ignore_mask=False):
        assert ignore_mask
        x["visible_tokens"] = x["projected_wav_features"]
        x["visible_padding_mask"] = torch.zeros(x["visible_tokens"].shape[:2], dtype=torch.bool)

    def encode_visible(self, x):
        x["visible_embeddings"] = x["visible_tokens"] * 2

    def _acts(self, tokens, padding_mask=None):
        return [tokens * (i + 1) for i in range(10)]


def install_fake_encodecmae(monkeypatch) -> FakeEncodecMAE:
    model = FakeEncodecMAE()
    module = types.ModuleType("encodecmae")
    module.load_model = lambda name, mode="eval", device="cpu": model
    monkeypatch.setitem(sys.modules, "encodecmae", module)
    return model


def install_fake_jukemirlib(monkeypatch, folder: Path) -> dict:
    """jukemirlib's setup_models / extract / lib; weights as empty files in `folder`."""
    lib = types.SimpleNamespace(VQVAE=None, TOP_PRIOR=None, x_cond="stale", y_cond="stale")
    calls = {"setup": [], "extract": []}

    def setup_models(cache_dir=None, device=None):
        calls["setup"].append((cache_dir, device))
        return "vqvae", "prior"

    def extract(audio=None, layers=None, fp16=False, meanpool=False):
        assert lib.x_cond is None and lib.y_cond is None, "conditioning must be reset per call"
        lib.x_cond = lib.y_cond = "sized to this batch"
        calls["extract"].append(([a.shape[0] for a in audio], layers, fp16, meanpool))
        return {layers[0]: np.stack([np.full((30, 4800), a.mean(), np.float32) for a in audio])}

    module = types.ModuleType("jukemirlib")
    module.lib, module.setup_models, module.extract = lib, setup_models, extract
    monkeypatch.setitem(sys.modules, "jukemirlib", module)
    folder.mkdir(parents=True, exist_ok=True)
    for f in ("vqvae.pth.tar", "prior_level_2.pth.tar"):
        (folder / f).write_bytes(b"x")
    return calls


def onion_feature_file(path: Path, ids, dim: int = 5, seed: int = 0) -> Path:
    """A Music4All-Onion feature file: bz2-compressed TSV, an `id` column then the vector."""
    import bz2

    rng = np.random.default_rng(seed)
    lines = ["id\t" + "\t".join(f"f{j}" for j in range(dim))]
    lines += [f"{t}\t" + "\t".join(f"{v:.6f}" for v in rng.normal(size=dim)) for t in ids]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bz2.compress(("\n".join(lines) + "\n").encode()))
    return path


class _FakeMuQ(torch.nn.Module):
    """muq.MuQ's API: from_pretrained(folder), forward(wavs, output_hidden_states) -> an output
    with last_hidden_state (B, frames at 25 Hz, width) and hidden_states."""

    def __init__(self, width: int = 16, layers: int = 3):
        super().__init__()
        self.config = types.SimpleNamespace(encoder_dim=width, num_hidden_layers=layers)
        self.proj = torch.nn.Linear(960, width)  # 24 kHz / 25 Hz = 960 samples a frame

    @classmethod
    def from_pretrained(cls, folder):
        assert (Path(folder) / "config.json").exists(), folder
        torch.manual_seed(0)
        return cls()

    def forward(self, x, attention_mask=None, output_hidden_states=True):
        frames = x[:, : x.shape[1] // 960 * 960].reshape(len(x), -1, 960)
        h = torch.tanh(self.proj(frames))
        hidden = tuple(h * (i + 1) for i in range(4)) if output_hidden_states else None
        return types.SimpleNamespace(last_hidden_state=h, hidden_states=hidden)


class _FakeMuQMuLan(torch.nn.Module):
    """muq.MuQMuLan's audio tower: mulan(wavs=...) -> (B, 512)."""

    def __init__(self):
        super().__init__()
        self.config = types.SimpleNamespace(dim_latent=8)
        self.proj = torch.nn.Linear(240, 8)

    @classmethod
    def from_pretrained(cls, folder):
        assert (Path(folder) / "config.json").exists(), folder
        torch.manual_seed(0)
        return cls()

    def forward(self, wavs=None, texts=None):
        assert wavs is not None and texts is None
        frames = wavs[:, : wavs.shape[1] // 240 * 240].reshape(len(wavs), -1, 240)
        return torch.nn.functional.normalize(self.proj(frames).mean(1), dim=-1)


def install_fake_muq(monkeypatch, folder: Path) -> Path:
    module = types.ModuleType("muq")
    module.MuQ, module.MuQMuLan = _FakeMuQ, _FakeMuQMuLan
    monkeypatch.setitem(sys.modules, "muq", module)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"stand-in")
    return folder


def install_fake_mule(monkeypatch, folder: Path) -> Path:
    """mule.analysis.Analysis(scooch.Config(path)).analyze(wav) -> an object with _data (1, 1728)."""
    import soundfile as sf

    class Analysis:
        def __init__(self, cfg):
            self.cfg = cfg

        def analyze(self, path):
            y, sr = sf.read(path, dtype="float32")
            assert sr == 44100
            spectrum = np.abs(np.fft.rfft(y[: 44100 * 3]))[:1728]
            return types.SimpleNamespace(_data=(spectrum / (spectrum.max() + 1e-9))[None])

    analysis = types.ModuleType("mule.analysis")
    analysis.Analysis = Analysis
    monkeypatch.setitem(sys.modules, "mule", types.ModuleType("mule"))
    monkeypatch.setitem(sys.modules, "mule.analysis", analysis)
    scooch = types.ModuleType("scooch")
    scooch.Config = lambda path: {"config": path}
    monkeypatch.setitem(sys.modules, "scooch", scooch)
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "mule_embedding_average.yml"
    config.write_text("# stand-in\n")
    return config


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
        install_fake_encodecmae(monkeypatch)
        return {}
    if kind == "jukebox":
        install_fake_jukemirlib(monkeypatch, folder / "jukebox")
        return {"checkpoint_dir": str(folder / "jukebox")}
    if kind in ("muq", "muq_mulan"):
        folder = install_fake_muq(monkeypatch, folder / kind)
        return {"checkpoint": str(folder), "clip_seconds": 6.0, "chunk_seconds": 6.0}
    if kind == "mule":
        return {"config": str(install_fake_mule(monkeypatch, folder / "mule"))}
    if kind == "precomputed":
        return {"path": str(onion_feature_file(folder / "id_feature.tsv.bz2", ["a", "b", "z"]))}
    raise KeyError(f"no tiny model for backbone type {kind!r}: add one to tests/tiny_backbones.py")
