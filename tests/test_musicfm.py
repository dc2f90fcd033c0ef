"""MusicFM: our port against independent references, and a tiny checkpoint in the published format."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from audiorec import backbones
from audiorec.audio.decode import resample
from audiorec.backbones import musicfm
from tests.conftest import REPO
from tests.tiny_backbones import musicfm_folder

CLIP = REPO / "tests" / "fixtures" / "music" / "electronic_neuronal_diving.flac"


def _audio(seconds: float) -> np.ndarray:
    y, sr = sf.read(CLIP, dtype="float32")
    return resample(y, sr, 24000)[: int(seconds * 24000)]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return musicfm_folder(tmp_path_factory.mktemp("MusicFM"))


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
