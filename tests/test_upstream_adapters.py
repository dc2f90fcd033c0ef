"""EncodecMAE, Jukebox and MuQ around their real models: batching, layers and what fails how.

The models are the golden fixtures' tiny checkpoints (tests/fixtures/upstream)
or, for MuQ, tiny models built with the upstream package in its own
environment. Parity with the upstream code itself is tests/test_upstream_parity.py.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import soundfile as sf

from audiorec import backbones
from audiorec.backbones.base import UnusableAudio
from audiorec.backbones.hub import WeightsNotFound, load_strictly
from tests import tiny_backbones
from tests.conftest import REPO

torch = pytest.importorskip(
    "torch", reason="the torch backbones' adapters; this environment has no torch"
)

CLIPS = REPO / "tests" / "fixtures" / "upstream"


def audio(rate: int) -> np.ndarray:
    return sf.read(CLIPS / f"clip_{rate}.flac", dtype="float32")[0]


def encodecmae(**params):
    return backbones.get("encodecmae")(
        {"checkpoint": str(tiny_backbones.encodecmae_folder()), **params}
    )


def test_encodecmae_batches_equal_chunks_and_pools_like_one_track_at_a_time():
    bb = encodecmae(chunks_per_batch=4)
    y = audio(24000)
    tracks = [bb.prepare(y), bb.prepare(y[: 24000 * 5])]
    assert [c.shape[0] for c in tracks[0]] == [96000, 48000]  # 4 s and the 2-s rest
    together = bb.embed(tracks)
    apart = np.concatenate([bb.embed([t]) for t in tracks])
    assert together.shape == (2, 32) and bb.dim == 32
    np.testing.assert_allclose(together, apart, rtol=1e-5, atol=1e-6)


def test_encodecmae_layers_are_upstreams_activation_indices():
    y = audio(24000)
    every = encodecmae(layer="all")
    x = every.prepare(y)
    out = every.embed([x])
    assert every.n_layers() == 2 and out["layers"].shape == (1, 2, 32)
    np.testing.assert_allclose(
        encodecmae(layer=1).embed([x]), out["layers"][:, 1], rtol=1e-5, atol=1e-6
    )
    with pytest.raises(ValueError, match="layer 2 does not exist"):
        encodecmae(layer=2).ready()


def test_encodecmae_missing_checkpoint_offline_names_the_hub_repo(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(WeightsNotFound, match="lpepino/encodecmae-base"):
        backbones.get("encodecmae")({}).ready()


def test_encodecmae_weights_lacking_a_tensor_fail_naming_it(tmp_path):
    folder = tmp_path / "ecmae"
    shutil.copytree(tiny_backbones.encodecmae_folder(), folder)
    state = torch.load(folder / "model.pt", weights_only=False)
    del state["state_dict"]["visible_encoder.final_norm.weight"]
    torch.save(state, folder / "model.pt")
    with pytest.raises(ValueError, match=r"lacks visible_encoder\.final_norm\.weight"):
        backbones.get("encodecmae")({"checkpoint": str(folder)}).ready()


def jukebox(**params):
    return backbones.get("jukebox")({**tiny_backbones.jukebox_params(), **params})


def test_jukebox_first_24_s_peak_normalised():
    bb = jukebox()
    y = np.concatenate([np.full(44100 * 20, 0.1), np.full(44100 * 10, 0.4)]).astype(np.float32)
    x = bb.prepare(y)
    assert x.size == 44100 * 24 and np.isclose(np.abs(x).max(), 1.0)
    np.testing.assert_allclose(x[:10], 0.25)  # 0.1 / 0.4, the clip's peak
    assert np.abs(jukebox(peak_normalise=False).prepare(y)).max() == pytest.approx(0.4)


def test_jukebox_batches_equal_lengths_like_single_tracks():
    bb = jukebox()
    y = audio(44100)
    x = [bb.prepare(y), bb.prepare(y[::-1].copy()), bb.prepare(y[: 44100 * 3])]
    together = bb.embed(x)
    apart = np.concatenate([bb.embed([t]) for t in x])
    assert together.shape == (3, 32)
    # a batch's convolutions sum in another order: a code at a near-tie may flip
    np.testing.assert_allclose(together, apart, atol=2e-4)


def test_jukebox_layer_beyond_the_prior_fails_at_the_start():
    with pytest.raises(ValueError, match="layer 5 does not exist: the prior has 4 layers"):
        jukebox(layer=5).ready()


def test_jukebox_refuses_missing_weights_before_any_track(tmp_path):
    with pytest.raises(WeightsNotFound, match=r"vqvae\.pth\.tar, prior_level_2\.pth\.tar"):
        jukebox(checkpoint_dir=str(tmp_path / "empty")).ready()
    with pytest.raises(WeightsNotFound, match="download is false"):
        backbones.get("jukebox").fetch_weights(
            {"checkpoint_dir": str(tmp_path / "empty"), "download": False}
        )


def test_jukebox_short_audio_is_recorded_not_crashed():
    with pytest.raises(UnusableAudio, match="shorter than min_seconds"):
        jukebox().prepare(np.zeros(1000, np.float32))


def test_strict_loading_names_missing_and_unexpected_tensors(tmp_path):
    from safetensors.torch import save_file

    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.LayerNorm(2))
    state = {k: v.clone() for k, v in model.state_dict().items()}
    del state["1.bias"]
    state["2.weight"] = torch.zeros(2)
    save_file(state, str(tmp_path / "model.safetensors"))
    with pytest.raises(
        ValueError, match=r"lacks 1\.bias; has tensors the model does not: 2\.weight"
    ):
        load_strictly(model, tmp_path)


def test_muq_layers_count_its_encoder_depth(tmp_path):
    tiny_backbones.upstream_or_skip("muq")
    folder = tiny_backbones.muq_folder(tmp_path / "tiny-muq", weights="bin")
    bb = backbones.get("muq")({"checkpoint": str(folder), "layer": "all", "clip_seconds": 6.0})
    out = bb.embed([bb.prepare(audio(24000))])
    assert bb.n_layers() == 3 and out["layers"].shape == (1, 3, 32)
    with pytest.raises(ValueError, match="layer 3 does not exist"):
        backbones.get("muq")({"checkpoint": str(folder), "layer": 3}).ready()


def test_own_env_backbone_delegates_from_the_main_venv_to_its_own(tmp_path, monkeypatch):
    """Both venvs' pythons link to one interpreter: the check compares venvs, not binaries."""
    import subprocess
    import sys

    from audiorec import software

    monkeypatch.setenv("AUDIOREC_ENVS", str(tmp_path))
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "muq")], check=True
    )
    monkeypatch.setattr(software, "importable", lambda module: False)
    assert software.delegate("muq") == tmp_path / "muq" / "bin" / "python"
    assert software.delegate("mert") is None
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "muq"))
    with pytest.raises(ImportError, match="rebuild it with `make env-muq`"):
        software.delegate("muq")


def test_test_envs_discards_each_venv_once_no_later_env_shares_it(tmp_path, monkeypatch):
    """`make test-envs DISCARD=1`: a venv shared by mert, music2vec and musicfm stays until the
    last of them is tested; the kept env's venv stays; a failed env still counts as failed."""
    from audiorec import software

    monkeypatch.setenv("AUDIOREC_ENVS", str(tmp_path))
    names = ["mert", "music2vec", "mfcc", "musicfm", "muq", "muq_mulan"]
    for name in names:  # what build() leaves: the venv folder and its name's link
        (tmp_path / software.env_key(name)).mkdir(exist_ok=True)
        (tmp_path / name).symlink_to(software.env_key(name))
    assert software.env_key("mert") == software.env_key("musicfm")
    seen = []

    def fake_test(name):
        seen.append((name, sorted(p.name for p in tmp_path.iterdir() if p.is_symlink())))
        assert (tmp_path / name).resolve().is_dir(), f"{name}'s venv was removed before its test"
        return 1 if name == "mfcc" else 0

    monkeypatch.setattr(software, "test", fake_test)
    assert software.main(["test", *names, "--discard", "--keep", "muq"]) == 1
    assert [name for name, _ in seen] == names
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(["muq", "muq_mulan", software.env_key("muq")])
    assert software.main(["test", "--discard", "--keep", "muq"]) == 2  # nothing named: no pass
