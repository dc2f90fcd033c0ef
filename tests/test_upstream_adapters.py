"""EncodecMAE and Jukebox adapters, tested up to the upstream packages they call.

Both packages come from GitHub only (README, backbone table), so they cannot
be installed on this CPU machine without network. These tests put stand-ins
with the upstream API into sys.modules and check everything on our side of
that boundary: what audio is passed, how batches are formed, how outputs are
pooled, and what the errors say.
"""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from audiorec import backbones
from audiorec.backbones.base import UnusableAudio
from audiorec.backbones.hub import WeightsNotFound
from tests.tiny_backbones import install_fake_encodecmae, install_fake_jukemirlib


@pytest.fixture
def fake_encodecmae(monkeypatch):
    return install_fake_encodecmae(monkeypatch)


def test_encodecmae_feeds_4_s_chunks_in_batches(fake_encodecmae):
    bb = backbones.get("encodecmae")({"chunks_per_batch": 4})
    tracks = [bb.prepare(np.full(24000 * 10, v, np.float32)) for v in (0.5, -0.25)]
    assert [c.shape[0] for c in tracks[0]] == [96000, 96000, 48000]  # 4 s, 4 s, and the 2-s rest
    out = bb.embed(tracks)
    assert out.shape == (2, 768)
    assert sorted(fake_encodecmae.calls) == [(2, 48000), (4, 96000)]  # equal lengths share a batch
    np.testing.assert_allclose(out[:, 0], [1.0, -0.5], rtol=1e-6)  # frame mean of 2 * value
    assert bb.dim == 768


def test_encodecmae_layer_index_uses_the_encoder_activations(fake_encodecmae):
    bb = backbones.get("encodecmae")({"layer": 3})
    v = bb.embed([bb.prepare(np.full(24000 * 4, 1.0, np.float32))])
    np.testing.assert_allclose(
        v[0, :3], 4 * (1.0 + np.arange(3)), rtol=1e-6
    )  # activations[3] = 4 * tokens


def test_encodecmae_without_its_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "encodecmae", None)
    bb = backbones.get("encodecmae")({})
    with pytest.raises(ImportError, match=r"encodecmae@v\.1\.0\.0"):
        bb.embed([bb.prepare(np.zeros(24000 * 4, np.float32))])


def test_encodecmae_missing_checkpoint_offline(monkeypatch):
    module = types.ModuleType("encodecmae")

    def load_model(*_, **__):
        raise OSError("We have no connection or you passed local_files_only")

    module.load_model = load_model
    monkeypatch.setitem(sys.modules, "encodecmae", module)
    bb = backbones.get("encodecmae")({})
    with pytest.raises(WeightsNotFound, match="lpepino/encodecmae-base"):
        bb.embed([bb.prepare(np.zeros(24000 * 4, np.float32))])


@pytest.fixture
def fake_jukemirlib(monkeypatch, tmp_path):
    return install_fake_jukemirlib(monkeypatch, tmp_path), tmp_path


def test_jukebox_first_24_s_layer_36_fp16_mean_over_time(fake_jukemirlib):
    calls, folder = fake_jukemirlib
    bb = backbones.get("jukebox")({"checkpoint_dir": str(folder)}, batch_size=8)
    x = [bb.prepare(np.full(44100 * 30, v, np.float32)) for v in (0.1, 0.2)] + [
        bb.prepare(np.full(44100 * 5, 0.3, np.float32))
    ]
    assert [len(a) for a in x] == [44100 * 24, 44100 * 24, 44100 * 5]
    out = bb.embed(x)
    assert out.shape == (3, 4800)
    np.testing.assert_allclose(out[:, 0], [0.1, 0.2, 0.3], rtol=1e-6)
    assert calls["setup"] == [(str(folder), "cpu")]
    assert sorted(calls["extract"]) == [
        ([44100 * 5], [36], True, False),
        ([44100 * 24] * 2, [36], True, False),
    ]


def test_jukebox_refuses_missing_weights_offline(fake_jukemirlib, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    bb = backbones.get("jukebox")({"checkpoint_dir": str(tmp_path / "empty")})
    with pytest.raises(
        WeightsNotFound, match=r"vqvae\.pth\.tar, prior_level_2\.pth\.tar .*openaipublic"
    ):
        bb.embed([bb.prepare(np.zeros(44100 * 2, np.float32))])


def test_jukebox_short_audio_is_recorded_not_crashed():
    bb = backbones.get("jukebox")({})
    with pytest.raises(UnusableAudio, match="shorter than min_seconds"):
        bb.prepare(np.zeros(1000, np.float32))
