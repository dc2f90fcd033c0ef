"""MERT and Music2Vec: tiny random models saved as the published checkpoints are, loaded offline."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch

from audiorec import backbones
from audiorec.audio.decode import resample
from audiorec.backbones.hub import WeightsNotFound
from tests.conftest import REPO
from tests.tiny_backbones import mert_folder, music2vec_folder

CLIP = REPO / "tests" / "fixtures" / "music" / "rock_ninesix.flac"


def _audio(rate: int, seconds: float = 3.0) -> np.ndarray:
    y, sr = sf.read(CLIP, dtype="float32")
    return resample(y, sr, rate)[: int(seconds * rate)]


@pytest.fixture(scope="module")
def music2vec_dir(tmp_path_factory):
    return music2vec_folder(tmp_path_factory.mktemp("music2vec-v1"))


def _mert_dir(root, deepnorm: bool = False, stable: bool = False):
    name = "mert-deepnorm" if deepnorm else "mert-stable" if stable else "mert"
    return mert_folder(root / name, deepnorm=deepnorm, stable=stable)


def test_music2vec_loads_offline_and_embeds_real_audio(music2vec_dir):
    bb = backbones.get("music2vec")({"checkpoint": str(music2vec_dir), "chunk_seconds": 1.0})
    x = bb.prepare(_audio(16000))
    assert len(x) == 3 and x[0].shape == (16000,)
    v = bb.embed([x])
    assert v.shape == (1, 32) and np.isfinite(v).all()
    meta = bb.describe()
    assert meta["checkpoint"] == str(music2vec_dir) and "16000 Hz" in meta["input"]


def test_music2vec_at_the_studys_24_khz(music2vec_dir):
    bb = backbones.get("music2vec")({"checkpoint": str(music2vec_dir), "sample_rate": 24000})
    assert bb.sample_rate == 24000 and "study" in bb.describe()["input"]


def test_all_layers_are_kept_and_one_can_be_chosen(music2vec_dir):
    x = backbones.get("music2vec")({"checkpoint": str(music2vec_dir)}).prepare(_audio(16000))
    every = backbones.get("music2vec")({"checkpoint": str(music2vec_dir), "layer": "all"}).embed(
        [x]
    )
    assert every["layers"].shape == (1, 3, 32)
    one = backbones.get("music2vec")({"checkpoint": str(music2vec_dir), "layer": 1}).embed([x])
    np.testing.assert_allclose(every["layers"][:, 1], one, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="layer 7 does not exist"):
        backbones.get("music2vec")({"checkpoint": str(music2vec_dir), "layer": 7}).embed([x])


def test_chunks_pool_as_one_mean_over_frames(music2vec_dir):
    """Mean over chunks weighted by frames equals the mean of per-chunk means for equal chunks."""
    bb = backbones.get("music2vec")({"checkpoint": str(music2vec_dir), "chunk_seconds": 1.0})
    x = bb.prepare(_audio(16000))
    whole = bb.embed([x])[0]
    parts = np.stack([bb.embed([[c]])[0] for c in x])
    np.testing.assert_allclose(whole, parts.mean(axis=0), rtol=1e-5, atol=1e-6)


def test_mert_loads_as_hubert_and_matches_the_weights_own_forward(tmp_path):
    folder, reference = _mert_dir(tmp_path)
    bb = backbones.get("mert")({"checkpoint": str(folder), "chunk_seconds": 2.0, "layer": "all"})
    y = _audio(24000, 2.0)
    out = bb.embed([bb.prepare(y)])
    with torch.no_grad():
        ref = reference(torch.from_numpy(y)[None], output_hidden_states=True)
    np.testing.assert_allclose(
        out["embedding"][0], ref.last_hidden_state[0].mean(0).numpy(), rtol=1e-4, atol=1e-5
    )
    np.testing.assert_allclose(
        out["layers"][0, 2], ref.hidden_states[2][0].mean(0).numpy(), rtol=1e-4, atol=1e-5
    )


def test_mert_pre_layer_norm_variant(tmp_path):
    folder, reference = _mert_dir(tmp_path, stable=True)
    bb = backbones.get("mert")({"checkpoint": str(folder), "chunk_seconds": 2.0})
    y = _audio(24000, 2.0)
    with torch.no_grad():
        ref = reference(torch.from_numpy(y)[None]).last_hidden_state[0].mean(0).numpy()
    np.testing.assert_allclose(bb.embed([bb.prepare(y)])[0], ref, rtol=1e-4, atol=1e-5)


def test_mert_deepnorm_scales_the_residuals(tmp_path):
    folder, hubert = _mert_dir(tmp_path, deepnorm=True)
    bb = backbones.get("mert")({"checkpoint": str(folder), "chunk_seconds": 2.0})
    y = torch.from_numpy(_audio(24000, 2.0))[None]
    alpha = (2.0 * 2) ** 0.25
    with torch.no_grad():  # post-norm encoder by hand: LN(alpha * x + f(x)) around both sublayers
        h = hubert.feature_projection(hubert.feature_extractor(y).transpose(1, 2))
        h = hubert.encoder.layer_norm(h + hubert.encoder.pos_conv_embed(h))
        for layer in hubert.encoder.layers:
            h = layer.layer_norm(alpha * h + layer.attention(h)[0])
            h = layer.final_layer_norm(alpha * h + layer.feed_forward(h))
    np.testing.assert_allclose(
        bb.embed([bb.prepare(y[0].numpy())])[0], h[0].mean(0).numpy(), rtol=1e-4, atol=1e-5
    )


def test_mert_with_cqt_features_is_refused(tmp_path):
    folder, _ = _mert_dir(tmp_path)
    cfg = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**cfg, "feature_extractor_cqt": True}))
    bb = backbones.get("mert")({"checkpoint": str(folder)})
    with pytest.raises(ValueError, match="CQT input features needs loader: remote_code"):
        bb.embed([bb.prepare(_audio(24000, 2.0))])


def test_study_clip_rule_first_30_s_zero_padded(tmp_path):
    folder, _ = _mert_dir(tmp_path)
    bb = backbones.get("mert")(
        {"checkpoint": str(folder), "clip_seconds": 30.0, "pad_clip": True, "chunk_seconds": 30.0}
    )
    chunks = bb.prepare(_audio(24000, 2.0))
    assert len(chunks) == 1 and chunks[0].shape == (30 * 24000,) and float(chunks[0][-1]) == 0.0
    long = bb.prepare(np.ones(24000 * 45, np.float32))
    assert len(long) == 1 and long[0].shape == (30 * 24000,)


def test_short_audio_is_refused_and_last_chunk_rules(tmp_path):
    from audiorec.backbones.base import UnusableAudio

    folder, _ = _mert_dir(tmp_path)
    bb = backbones.get("mert")(
        {"checkpoint": str(folder), "chunk_seconds": 2.0, "min_seconds": 1.0}
    )
    with pytest.raises(UnusableAudio, match="shorter than min_seconds"):
        bb.prepare(np.zeros(12000, np.float32))
    assert [c.shape[0] for c in bb.prepare(np.zeros(24000 * 5, np.float32))] == [
        48000,
        48000,
        24000,
    ]
    assert [c.shape[0] for c in bb.prepare(np.zeros(int(24000 * 4.5), np.float32))] == [
        48000,
        48000,
    ]


def test_missing_weights_are_named(tmp_path):
    folder, _ = _mert_dir(tmp_path)
    (folder / "pytorch_model.bin").unlink()
    bb = backbones.get("mert")({"checkpoint": str(folder)})
    with pytest.raises(WeightsNotFound, match=r"missing model\.safetensors or pytorch_model\.bin"):
        bb.dim  # noqa: B018


def test_hub_id_without_cache_says_how_to_get_it(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    bb = backbones.get("mert")({"checkpoint": "m-a-p/MERT-v1-95M"})
    with pytest.raises(
        WeightsNotFound, match=r"HF_HUB_OFFLINE is set .*huggingface-cli download m-a-p/MERT-v1-95M"
    ):
        bb.dim  # noqa: B018


def test_silence_gives_a_finite_vector(music2vec_dir, tmp_path):
    folder, _ = _mert_dir(tmp_path)
    for name, ckpt, rate in (("music2vec", music2vec_dir, 16000), ("mert", folder, 24000)):
        for normalize in (True, False):
            bb = backbones.get(name)({"checkpoint": str(ckpt), "normalize": normalize})
            v = bb.embed([bb.prepare(np.zeros(rate * 2, np.float32))])
            assert np.isfinite(v).all(), (name, normalize)
