"""What every registered backbone does, each on a tiny model in its published format.

The suite discovers backbones from the registry, so a new backbone module
fails here until tests/tiny_backbones.py can build a model for it.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from audiorec import backbones
from audiorec.audio.cache import write_shard
from audiorec.audio.decode import resample
from audiorec.backbones.base import UnusableAudio
from audiorec.embeddings.store import read_embeddings, read_metadata
from audiorec.stages.extract import run as extract_run
from tests import tiny_backbones
from tests.conftest import REPO
from tests.envs import env_distributions, missing

CLIP = REPO / "tests" / "fixtures" / "music" / "rock_ninesix.flac"
KINDS = backbones.available()
AUDIO = [k for k in KINDS if backbones.get(k).needs_audio]


def clip(rate: int, seconds: float, offset: float = 0.0) -> np.ndarray:
    y, sr = sf.read(CLIP, dtype="float32")
    y = resample(y, sr, rate)
    start = int(offset * rate)
    return np.ascontiguousarray(y[start : start + int(seconds * rate)])


@pytest.fixture(params=AUDIO)
def model(request, tmp_path, monkeypatch):
    kind = request.param
    params = tiny_backbones.build(kind, tmp_path, monkeypatch)
    return kind, params, backbones.get(kind)(params, device="cpu", batch_size=2)


def test_embeds_real_music_into_finite_vectors_of_its_dim(model):
    kind, _, bb = model
    assert isinstance(bb.sample_rate, int) and bb.sample_rate >= 8000
    x = [bb.prepare(clip(bb.sample_rate, 6.0, offset)) for offset in (0.0, 4.0)]
    out = bb.embed(x)
    assert out.shape == (2, bb.dim), kind
    assert np.isfinite(out).all() and out.dtype == np.float32
    assert not np.allclose(out[0], out[1]), "two different excerpts gave the same vector"
    meta = bb.describe()
    assert {"checkpoint", "layer", "pooling"} <= set(meta), meta
    json.dumps(meta)  # written into Parquet metadata
    bb.close()


def test_refuses_empty_audio_as_a_track_failure(model):
    _, _, bb = model
    with pytest.raises(UnusableAudio):
        bb.prepare(np.zeros(0, np.float32))


def test_the_extraction_job_writes_vectors_and_failures(model, tmp_path):
    kind, params, bb = model
    shard = tmp_path / "cache.parquet"
    write_shard(
        shard,
        bb.sample_rate,
        [("a", clip(bb.sample_rate, 5.0)), ("b", clip(bb.sample_rate, 5.0, 5.0))],
    )
    (tmp_path / "cache.tsv").write_text("track_id\tstage\treason\nbroken\tdecode\tx: empty file\n")
    extract_run(
        [str(shard)],
        [str(tmp_path / "cache.tsv")],
        f"{kind}_test",
        {"type": kind, "params": params, "batch_size": 2, "device": "cpu"},
        str(tmp_path / "out.parquet"),
        str(tmp_path / "out.tsv"),
    )
    ids, vectors, meta = read_embeddings(tmp_path / "out.parquet")
    assert list(ids) == ["a", "b"] and vectors.shape == (2, bb.dim)
    assert meta["type"] == kind and meta["sample_rate"] == bb.sample_rate
    assert "versions" in read_metadata(tmp_path / "out.parquet")
    assert "broken" in (tmp_path / "out.tsv").read_text()


@pytest.mark.parametrize("kind", KINDS)
def test_describes_itself_and_has_a_tiny_model(kind, tmp_path, monkeypatch):
    params = tiny_backbones.build(kind, tmp_path, monkeypatch)
    bb = backbones.get(kind)(params)
    meta = bb.describe()
    assert {"checkpoint", "layer", "pooling"} <= set(meta)
    json.dumps(meta)
    cls = backbones.get(kind)
    assert not cls.needs_audio or cls.sample_rate_for(bb.params) >= 8000


@pytest.mark.parametrize("kind", [k for k in KINDS if not backbones.get(k).needs_audio])
def test_a_file_backbone_writes_what_an_extraction_writes(kind, tmp_path, monkeypatch):
    from audiorec.stages.import_embeddings import run as import_run

    params = tiny_backbones.build(kind, tmp_path, monkeypatch)
    pd.DataFrame({"track_id": ["a", "b", "broken"]}).to_parquet(tmp_path / "cat.parquet")
    import_run(
        f"{kind}_test",
        {"type": kind, "params": params},
        str(tmp_path),
        str(tmp_path / "cat.parquet"),
        str(tmp_path / "out.parquet"),
        str(tmp_path / "out.tsv"),
    )
    ids, vectors, meta = read_embeddings(tmp_path / "out.parquet")
    assert list(ids) == ["a", "b"] and np.isfinite(vectors).all() and meta["type"] == kind
    fails = pd.read_csv(tmp_path / "out.tsv", sep="\t")
    assert fails.track_id.tolist() == ["broken"]


RECORD = """
import json, sys
sys.path.insert(0, {src!r})
before = set(sys.modules)
from audiorec.stages.extract import run
run(*json.loads({args!r}))
print(json.dumps(sorted({{m.split(".")[0] for m in set(sys.modules) - before}})))
"""


@pytest.mark.parametrize("kind", AUDIO)
def test_its_env_file_lists_what_its_extraction_imports(kind, tmp_path):
    """An extraction job in a fresh process, its imports checked against envs/<type>.yaml."""
    params = tiny_backbones.build(kind, tmp_path)
    rate = backbones.get(kind).sample_rate_for(params)
    write_shard(tmp_path / "c.parquet", rate, [("a", clip(rate, 4.0))])
    (tmp_path / "c.tsv").write_text("track_id\tstage\treason\n")
    spec = {"type": kind, "params": params, "batch_size": 1, "device": "cpu"}
    args = json.dumps(
        [
            [str(tmp_path / "c.parquet")],
            [str(tmp_path / "c.tsv")],
            kind,
            spec,
            str(tmp_path / "o.parquet"),
            str(tmp_path / "o.tsv"),
        ]
    )
    code = RECORD.format(src=str(REPO / "src"), args=args)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    modules = json.loads(out.stdout.strip().splitlines()[-1])
    assert not missing(modules, REPO / "envs" / f"{kind}.yaml"), kind
    if not backbones.get(kind).uses_torch:
        assert "torch" not in modules


@pytest.mark.parametrize(
    ("kind", "upstream"),
    [
        ("encodecmae", "gin-config"),
        ("jukebox", "jukebox-infer"),
        ("muq", "muq"),
        ("muq_mulan", "muq"),
        ("mule", "sxmp-mule"),
    ],
)
def test_upstream_backbones_envs_name_their_package_and_torch(kind, upstream):
    """The package each needs beyond the shared stack, torch where it runs on torch."""
    listed = env_distributions(REPO / "envs" / f"{kind}.yaml")
    needed = {upstream, "numpy", "pyarrow", "soundfile"}
    if backbones.get(kind).uses_torch:
        needed.add("torch")
    assert needed <= listed, listed
