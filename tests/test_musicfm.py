"""MusicFM: our port against independent references, and a tiny checkpoint in the published format."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch

from audiorec import backbones
from audiorec.audio.decode import resample
from audiorec.backbones import musicfm
from tests.conftest import REPO

CLIP = REPO / "tests" / "fixtures" / "music" / "electronic_neuronal_diving.flac"

# parameter names of the published checkpoint (upstream MusicFM25Hz), beyond the conformer's own
PUBLISHED = [
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


def _audio(seconds: float) -> np.ndarray:
    y, sr = sf.read(CLIP, dtype="float32")
    return resample(y, sr, 24000)[: int(seconds * 24000)]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """pretrained_msd.pt ({'state_dict': model.-prefixed weights}) and msd_stats.json, tiny widths."""
    folder = tmp_path_factory.mktemp("MusicFM")
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
    state["model.conformer.pos_conv_embed.conv.weight_g"] = torch.ones(
        1, 1, 128
    )  # old weight-norm names
    state["model.conformer.pos_conv_embed.conv.weight_v"] = torch.randn(32, 2, 128)
    state["model.conformer.pos_conv_embed.conv.bias"] = torch.zeros(32)
    assert set(PUBLISHED) <= set(state)
    torch.save({"state_dict": state}, folder / "pretrained_msd.pt")
    (folder / "msd_stats.json").write_text(
        json.dumps({"melspec_2048_mean": 6.77, "melspec_2048_std": 18.43})
    )
    return folder, net


def test_filterbank_is_librosas_htk_mel():
    import librosa

    ours = musicfm.htk_mel_filterbank(1025, 128, 24000)
    ref = librosa.filters.mel(
        sr=24000, n_fft=2048, n_mels=128, fmin=0.0, fmax=12000.0, htk=True, norm=None
    ).T
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-7)


def test_front_end_matches_librosa(checkpoint):
    import librosa

    folder, _ = checkpoint
    bb = backbones.get("musicfm")({"checkpoint": str(folder)})
    y = _audio(3.0)
    ours = bb.model.mel_db(torch.from_numpy(y)[None])[0].numpy()
    mel = librosa.feature.melspectrogram(
        y=y,
        sr=24000,
        n_fft=2048,
        hop_length=240,
        n_mels=128,
        htk=True,
        norm=None,
        pad_mode="reflect",
        power=2.0,
    )
    ref = 10 * np.log10(np.maximum(mel, 1e-10))[:, :-1]
    assert ours.shape == ref.shape == (128, 300)
    loud = (
        ref > -60
    )  # below that, float32 rounding of near-cancelling STFT bins moves a few dB values by < 0.3
    np.testing.assert_allclose(ours[loud], ref[loud], atol=2e-3)
    np.testing.assert_allclose(ours, ref, atol=0.3)


def test_loads_the_published_format_and_embeds_real_audio(checkpoint):
    folder, net = checkpoint
    bb = backbones.get("musicfm")({"checkpoint": str(folder), "chunk_seconds": 5.0, "layer": "all"})
    out = bb.embed([bb.prepare(_audio(10.0))])
    assert out["embedding"].shape == (1, 32) and out["layers"].shape == (1, 3, 32)
    np.testing.assert_allclose(
        out["layers"][0, 2], out["embedding"][0], rtol=1e-5
    )  # index 12 (here 2) = last
    for name, tensor in bb.model.conv.state_dict().items():
        assert torch.equal(tensor, net.conv.state_dict()[name]), name
    assert float(bb.model.stat[0]) == pytest.approx(6.77)


def test_frames_come_at_25_hz(checkpoint):
    folder, _ = checkpoint
    bb = backbones.get("musicfm")({"checkpoint": str(folder)})
    last, hidden = bb.model(torch.from_numpy(_audio(4.0))[None])
    assert last.shape == (1, 100, 32) and len(hidden) == 3


def test_the_studys_channel_pooling_gives_750_values_for_30_s(checkpoint):
    folder, _ = checkpoint
    params = {
        "checkpoint": str(folder),
        "variant": "msd",
        "pooling": "channels",
        "clip_seconds": 30.0,
        "pad_clip": True,
        "chunk_seconds": 30.0,
    }
    bb = backbones.get("musicfm")(params)
    assert bb.dim == 750
    v = bb.embed([bb.prepare(_audio(10.0))])
    assert v.shape == (1, 750) and np.isfinite(v).all()
    with pytest.raises(ValueError, match="pooling: channels needs clip_seconds"):
        backbones.get("musicfm")({"checkpoint": str(folder), "pooling": "channels"}).embed(
            [bb.prepare(_audio(10.0))]
        )


def test_fma_variant_needs_its_own_files(checkpoint):
    from audiorec.backbones.hub import WeightsNotFound

    folder, _ = checkpoint
    with pytest.raises(WeightsNotFound, match=r"pretrained_fma\.pt, fma_stats\.json"):
        backbones.get("musicfm")({"checkpoint": str(folder), "variant": "fma"}).dim  # noqa: B018


def test_silence_gives_a_finite_vector(checkpoint):
    folder, _ = checkpoint
    bb = backbones.get("musicfm")({"checkpoint": str(folder)})
    assert np.isfinite(bb.embed([bb.prepare(np.zeros(24000 * 2, np.float32))])).all()
