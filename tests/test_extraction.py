import numpy as np
import pandas as pd
import pytest

from audiorec import backbones
from audiorec.audio.cache import write_shard
from audiorec.backbones.base import Backbone, UnusableAudio
from audiorec.embeddings.driver import extract
from audiorec.embeddings.store import align, read_embeddings, read_metadata
from audiorec.stages.extract import run as extract_run
from audiorec.stages.merge_embeddings import run as merge


class Picky(Backbone):
    """Fails one track in prepare and poisons any batch containing another."""

    PARAMS = {"sample_rate": {"type": "integer", "default": 8000}}

    @property
    def dim(self):
        return 2

    def describe(self):
        return {"checkpoint": "none", "layer": "none", "pooling": "none"}

    def prepare(self, y):
        y = super().prepare(y)
        if y[0] == 2:
            raise UnusableAudio("too quiet")
        return y

    def embed(self, batch):
        if any(b[0] == 3 for b in batch):
            raise RuntimeError("boom")
        return np.array([[b[0], b.size] for b in batch], np.float32)


def test_one_bad_track_never_costs_its_batch():
    tracks = [(f"t{i}", np.full(5, float(i), np.float32)) for i in range(6)]
    tracks.append(("t6", np.zeros(0, np.float32)))
    out = extract(Picky({}, batch_size=4), tracks)
    assert out.ids == ["t0", "t1", "t4", "t5"]
    assert out.vectors[:, 0].tolist() == [0, 1, 4, 5]
    reasons = {f["track_id"]: (f["stage"], f["reason"]) for f in out.failures}
    assert reasons["t2"] == ("prepare", "too quiet")
    assert reasons["t3"][0] == "embed" and "boom" in reasons["t3"][1]
    assert reasons["t6"] == ("prepare", "no audio samples")


def test_registry_lists_and_refuses():
    assert "mfcc" in backbones.available()
    with pytest.raises(KeyError, match="unknown backbone type 'nope'"):
        backbones.get("nope")


@pytest.mark.parametrize(("stats", "dim"), [("mean_cov", 104), ("mean", 13), ("mean_std", 26)])
def test_mfcc_statistics_dimensions(stats, dim, rng):
    model = backbones.get("mfcc")({"statistics": stats})
    assert model.dim == dim
    out = model.embed([model.prepare(rng.uniform(-0.5, 0.5, 22050).astype(np.float32))])
    assert out.shape == (1, dim) and np.isfinite(out).all()


def test_mfcc_covariance_terms_are_the_upper_triangle(rng):
    import librosa

    y = rng.uniform(-0.5, 0.5, 22050).astype(np.float32)
    v = backbones.get("mfcc")({}).embed([y])[0]
    m = librosa.feature.mfcc(y=y, sr=22050, n_mfcc=13).astype(np.float64)
    np.testing.assert_allclose(v[:13], m.mean(axis=1), rtol=1e-5)
    cov = np.cov(m)
    np.testing.assert_allclose(v[13 + 12], cov[0, 12], rtol=1e-4)  # row 0 holds 13 terms
    np.testing.assert_allclose(v[13 + 13], cov[1, 1], rtol=1e-4)


def test_mfcc_refuses_a_single_frame():
    with pytest.raises(UnusableAudio, match="statistics need 2"):
        backbones.get("mfcc")({}).prepare(np.zeros(100, np.float32))


def test_extract_job_and_merge_write_parquet_with_metadata(tmp_path, rng):
    for shard in (0, 1):
        tracks = [
            (f"s{shard}t{i}", rng.uniform(-0.3, 0.3, 11025).astype(np.float32)) for i in range(3)
        ]
        write_shard(tmp_path / f"c{shard}.parquet", 22050, tracks)
        pd.DataFrame(
            {"track_id": [f"bad{shard}"], "stage": ["decode"], "reason": ["x: empty file"]}
        ).to_csv(tmp_path / f"c{shard}.tsv", sep="\t", index=False)
        extract_run(
            [str(tmp_path / f"c{shard}.parquet")],
            [str(tmp_path / f"c{shard}.tsv")],
            "mfcc_test",
            {"type": "mfcc", "params": {}, "batch_size": 2, "device": "cpu"},
            str(tmp_path / f"e{shard}.parquet"),
            str(tmp_path / f"e{shard}.tsv"),
        )
    merge(
        [str(tmp_path / "e0.parquet"), str(tmp_path / "e1.parquet")],
        [str(tmp_path / "e0.tsv"), str(tmp_path / "e1.tsv")],
        str(tmp_path / "all.parquet"),
        str(tmp_path / "all.tsv"),
    )
    ids, vectors, meta = read_embeddings(tmp_path / "all.parquet")
    assert list(ids) == sorted(ids) and len(ids) == 6 and vectors.shape == (6, 104)
    for key in ("backbone", "checkpoint", "layer", "pooling", "sample_rate", "dim", "versions"):
        assert key in meta
    assert meta["sample_rate"] == 22050 and meta["n_tracks"] == 6
    assert "numpy" in read_metadata(tmp_path / "all.parquet")["versions"]
    assert sorted(pd.read_csv(tmp_path / "all.tsv", sep="\t")["track_id"]) == ["bad0", "bad1"]
    aligned, available = align(ids, vectors, ["s1t2", "nope"])
    assert available.tolist() == [True, False] and (aligned[1] == 0).all()


def test_worker_processes_give_the_in_process_result(tmp_path, rng):
    """Shards read, decoded and prepared in DataLoader workers: same vectors, same failures."""
    from audiorec.audio import cache
    from audiorec.embeddings.driver import extract_shard

    tracks = [(f"t{i:02d}", rng.uniform(-0.3, 0.3, 11025).astype(np.float32)) for i in range(70)]
    tracks[5] = ("t05", np.zeros(40, np.float32))  # one frame: refused in prepare
    path = tmp_path / "shard.parquet"
    cache.write_shard(path, 22050, tracks)  # 3 row groups of 32 rows: workers split them
    model = backbones.get("mfcc")({}, batch_size=8)
    alone = extract_shard(model, str(path), workers=0)
    pooled = extract_shard(model, str(path), workers=2)
    order = np.argsort(pooled.ids)
    assert sorted(pooled.ids) == alone.ids
    np.testing.assert_array_equal(pooled.vectors[order], alone.vectors)
    assert (
        [f["track_id"] for f in pooled.failures]
        == [f["track_id"] for f in alone.failures]
        == ["t05"]
    )
