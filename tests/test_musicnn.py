"""The PyTorch MusiCNN against the original package's own outputs (tests/fixtures/musicnn)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from audiorec.backbones import musicnn
from audiorec.backbones.base import UnusableAudio
from audiorec.backbones.tf_checkpoint import CheckpointError, read_checkpoint
from audiorec.embeddings.driver import extract
from tests.conftest import REPO

FIXTURES = REPO / "tests" / "fixtures"
CLIPS = sorted((FIXTURES / "music").glob("*.flac"))
MODELS = ("MSD_musicnn", "MTT_musicnn")


def _weights_or_skip():
    try:
        musicnn.find_checkpoint("MSD_musicnn", None)
    except FileNotFoundError as err:
        pytest.skip(f"MusiCNN weights not installed ({err}); `make test` installs them")


@pytest.fixture(scope="module")
def backbones(tmp_path_factory):
    _weights_or_skip()
    cache = str(tmp_path_factory.mktemp("musicnn_cache"))
    return {m: musicnn.MusiCNNBackbone({"checkpoint": m, "cache_dir": cache}) for m in MODELS}


def _clip(path):
    y, sr = sf.read(path, dtype="float32")
    assert sr == 16000
    return y


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("clip", CLIPS, ids=lambda p: p.stem)
def test_matches_the_original_package(backbones, model, clip):
    ref = np.load(FIXTURES / "musicnn" / f"{clip.stem}__{model}.npz")
    bb = backbones[model]
    out = bb.forward_patches(bb.prepare(_clip(clip)))
    assert out["taggram"].shape == ref["taggram"].shape == (3, 50)
    assert np.abs(out["taggram"] - ref["taggram"]).max() < 1e-4
    assert np.abs(out["penultimate"] - ref["penultimate"]).max() < 1e-4
    # the pooled mid-end sums 561-channel convolutions of activations up to ~100:
    # float32 summation order alone moves them by ~1e-4 relative
    for layer in ("mean_pool", "max_pool"):
        assert (np.abs(out[layer] - ref[layer]) / (1 + np.abs(ref[layer]))).max() < 5e-4


@pytest.mark.parametrize("clip", CLIPS, ids=lambda p: p.stem)
def test_first_patch_pooling_reproduces_the_studys_vector(backbones, clip):
    """The package repeats patch 1's penultimate; the study averaged that: first-patch vectors."""
    ref = np.load(FIXTURES / "musicnn" / f"{clip.stem}__MSD_musicnn.npz")
    shipped = ref["penultimate_as_shipped"]
    assert np.all(shipped == shipped[0])  # the package bug, as recorded
    bb = backbones["MSD_musicnn"]
    x = bb.prepare(_clip(clip))
    first = musicnn.MusiCNNBackbone(
        {"pooling": "first", "cache_dir": bb.params["cache_dir"]}
    ).embed([x])[0]
    assert np.abs(first - shipped.mean(axis=0)).max() < 1e-4
    mean = bb.embed([x])[0]
    assert np.abs(mean - ref["penultimate"].mean(axis=0)).max() < 1e-4
    assert not np.allclose(mean, first, atol=1e-3)


def _top(bb, clip, n):
    tags = bb.forward_patches(bb.prepare(_clip(FIXTURES / "music" / f"{clip}.flac")))[
        "taggram"
    ].mean(0)
    return [musicnn.labels(bb.params["checkpoint"])[i] for i in np.argsort(-tags)[:n]]


def test_top_tags_are_plausible_on_real_music(backbones):
    assert _top(backbones["MSD_musicnn"], "rock_ninesix", 1) == ["rock"]
    assert "rock" in _top(backbones["MTT_musicnn"], "rock_ninesix", 2)
    assert _top(backbones["MSD_musicnn"], "electronic_neuronal_diving", 1) == ["electronic"]
    assert {"techno", "electronic"} & set(
        _top(backbones["MTT_musicnn"], "electronic_neuronal_diving", 2)
    )


def test_preprocessing_matches_the_package_arithmetic():
    y = np.random.default_rng(0).uniform(-1, 1, 16000 * 4).astype(np.float32)
    mel = musicnn.log_mel(y)
    import librosa

    ref = librosa.feature.melspectrogram(y=y, sr=16000, hop_length=256, n_fft=512, n_mels=96).T
    ref = np.log10(10000 * ref.astype(np.float16).astype(np.float32) + 1)
    np.testing.assert_array_equal(mel, ref)
    assert musicnn.patches(mel).shape == (1, 187, 96)  # 251 frames: one patch, the rest dropped


@pytest.mark.parametrize(
    ("seconds", "short", "n_patches"),
    [
        (1.0, "repeat_pad", 1),
        (1.0, "zero_pad", 1),
        (9.0, "repeat_pad", 3),
        (125.0, "repeat_pad", 41),
    ],
)
def test_lengths(backbones, seconds, short, n_patches):
    bb = musicnn.MusiCNNBackbone(
        {
            "short_clips": short,
            "patch_batch": 16,
            "cache_dir": backbones["MSD_musicnn"].params["cache_dir"],
        }
    )
    y = 0.1 * np.random.default_rng(1).standard_normal(int(16000 * seconds)).astype(np.float32)
    x = bb.prepare(y)
    assert x.shape == (n_patches, 187, 96)
    v = bb.embed([x])
    assert v.shape == (1, 200) and np.isfinite(v).all()


def test_short_clip_can_be_refused():
    bb = musicnn.MusiCNNBackbone({"short_clips": "fail"})
    with pytest.raises(UnusableAudio, match="shorter than one 187-frame patch"):
        bb.prepare(np.zeros(8000, np.float32))


def test_extraction_survives_silence_stereo_and_empty_audio(backbones, tmp_path):
    stereo = tmp_path / "stereo.wav"
    left = _clip(CLIPS[0])[: 16000 * 4]
    sf.write(stereo, np.stack([left, -left], axis=1), 16000)
    from audiorec.audio.decode import decode

    tracks = [
        ("silent", np.zeros(16000 * 4, np.float32)),
        ("stereo", decode(stereo, 16000)),  # the cache is always mono
        ("empty", np.zeros(0, np.float32)),
        ("clip", _clip(CLIPS[1])),
    ]
    out = extract(backbones["MSD_musicnn"], tracks)
    assert out.ids == ["silent", "stereo", "clip"] and out.vectors.shape == (3, 200)
    assert np.isfinite(out.vectors).all()
    assert [(f["track_id"], f["reason"]) for f in out.failures] == [("empty", "no audio samples")]


@pytest.mark.parametrize(
    ("layer", "dim"), [("taggram", 50), ("mean_pool", 753), ("cnn3", 64), ("timbral", 408)]
)
def test_other_layers(backbones, layer, dim):
    bb = musicnn.MusiCNNBackbone(
        {"layer": layer, "cache_dir": backbones["MSD_musicnn"].params["cache_dir"]}
    )
    assert bb.dim == dim
    assert bb.embed([bb.prepare(_clip(CLIPS[0]))]).shape == (1, dim)


def test_conversion_is_cached(backbones, tmp_path):
    _weights_or_skip()
    state = musicnn.load_state_dict("MSD_musicnn", cache_dir=str(tmp_path))
    cached = list(tmp_path.glob("MSD_musicnn-*.pt"))
    assert len(cached) == 1
    again = musicnn.load_state_dict("MSD_musicnn", cache_dir=str(tmp_path))
    assert all((state[k] == again[k]).all() for k in state)


def test_checkpoint_reader_refuses_other_files(tmp_path):
    (tmp_path / "x.index").write_bytes(b"not a checkpoint" * 4)
    with pytest.raises(CheckpointError, match="not a TensorFlow checkpoint index"):
        read_checkpoint(tmp_path / "x")
    with pytest.raises(CheckpointError, match="not found"):
        read_checkpoint(tmp_path / "missing")


def test_missing_weights_error_says_how_to_get_them(tmp_path):
    with pytest.raises(FileNotFoundError, match="MusiCNN checkpoint MSD_musicnn not found"):
        musicnn.find_checkpoint("MSD_musicnn", str(tmp_path))


@pytest.mark.gpu
def test_gpu_matches_cpu(backbones):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    x = backbones["MSD_musicnn"].prepare(_clip(CLIPS[0]))
    cpu = backbones["MSD_musicnn"].forward_patches(x)
    gpu_bb = musicnn.MusiCNNBackbone(
        {"cache_dir": backbones["MSD_musicnn"].params["cache_dir"]}, device="cuda"
    )
    gpu = gpu_bb.forward_patches(x)
    assert np.abs(gpu["penultimate"] - cpu["penultimate"]).max() < 1e-4


def test_cpu_gemm_and_convolution_front_ends_agree(backbones):
    """The GPU path (one convolution per filter bank) computes what the CPU path does."""
    import torch

    bb = backbones["MSD_musicnn"]
    x = torch.from_numpy(bb.prepare(_clip(CLIPS[0])))
    with torch.inference_mode():
        gemm = bb.net(x)
        bb.net.gemm_front_end = False
        try:
            conv = bb.net(x)
        finally:
            bb.net.gemm_front_end = True
    for k in gemm:
        assert ((gemm[k] - conv[k]).abs() / (1 + conv[k].abs())).max() < 1e-4, k
