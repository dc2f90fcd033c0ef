"""Precomputed vectors as a backbone: Onion's feature files and any table of vectors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from audiorec import backbones
from audiorec.data.readers import DataError
from audiorec.stages.import_embeddings import run as import_run
from tests.tiny_backbones import onion_feature_file

Precomputed = backbones.get("precomputed")


def test_onion_feature_file_with_header_and_bz2(tmp_path):
    onion_feature_file(tmp_path / "id_mfcc_stats.tsv.bz2", ["t1", "t2"], dim=104)
    ids, vectors = Precomputed({"path": "id_mfcc_stats.tsv.bz2", "dim": 104}, root=tmp_path).table()
    assert (
        ids.tolist() == ["t1", "t2"] and vectors.shape == (2, 104) and vectors.dtype == np.float32
    )


def test_integer_keys_through_the_authors_id_map(tmp_path):
    pd.DataFrame({"idx": ["0", "1", "2"], "trackid": ["a", "b", "c"]}).to_csv(
        tmp_path / "trackid_sorted.csv", index=False
    )
    pd.DataFrame({"id": [2, 0], "x": [1.0, 2.0], "y": [3.0, 4.0]}).to_csv(
        tmp_path / "v.tsv", sep="\t", index=False
    )
    bb = Precomputed({"path": "v.tsv", "id_map": "trackid_sorted.csv"}, root=tmp_path)
    ids, vectors = bb.table()
    assert ids.tolist() == ["c", "a"] and vectors.tolist() == [[1, 3], [2, 4]]


def test_npy_rows_need_an_id_map(tmp_path):
    np.save(tmp_path / "v.npy", np.eye(3, dtype=np.float32))
    with pytest.raises(DataError, match=r"NPY matrix has no ids; set params\.id_map"):
        Precomputed({"path": "v.npy"}, root=tmp_path).table()
    pd.DataFrame({"idx": ["0", "1", "2"], "trackid": ["a", "b", "c"]}).to_csv(
        tmp_path / "map.csv", index=False
    )
    ids, _ = Precomputed({"path": "v.npy", "id_map": "map.csv"}, root=tmp_path).table()
    assert ids.tolist() == ["a", "b", "c"]


def test_parquet_with_a_list_column(tmp_path):
    pd.DataFrame({"track": ["a", "b"], "vec": [[1.0, 2.0], [3.0, 4.0]]}).to_parquet(
        tmp_path / "v.parquet"
    )
    bb = Precomputed(
        {"path": "v.parquet", "id_column": "track", "vector_column": "vec"}, root=tmp_path
    )
    assert bb.dim == 2 and bb.table()[0].tolist() == ["a", "b"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"path": "missing.tsv"}, "missing.tsv: precomputed vectors not found"),
        ({"path": "v.tsv", "dim": 7}, "vectors have 2 values, params.dim says 7"),
        ({"path": "v.tsv", "id_column": "track"}, "no id column 'track'"),
        ({"path": "dup.tsv"}, "track ids listed twice: a"),
    ],
)
def test_bad_files_are_refused_naming_file_and_setting(tmp_path, params, message):
    pd.DataFrame({"id": ["a", "b"], "x": [1.0, 2.0], "y": [3.0, 4.0]}).to_csv(
        tmp_path / "v.tsv", sep="\t", index=False
    )
    pd.DataFrame({"id": ["a", "a"], "x": [1.0, 2.0]}).to_csv(
        tmp_path / "dup.tsv", sep="\t", index=False
    )
    with pytest.raises(DataError, match=message):
        Precomputed(params, root=tmp_path).table()


def test_import_records_missing_and_non_finite_vectors(tmp_path):
    pd.DataFrame({"id": ["a", "b", "c"], "x": [1.0, np.nan, 2.0]}).to_csv(
        tmp_path / "v.tsv", sep="\t", index=False
    )
    pd.DataFrame({"track_id": ["a", "b", "d"]}).to_parquet(tmp_path / "cat.parquet")
    import_run(
        "f",
        {"type": "precomputed", "params": {"path": "v.tsv"}},
        str(tmp_path),
        str(tmp_path / "cat.parquet"),
        str(tmp_path / "e.parquet"),
        str(tmp_path / "e.tsv"),
    )
    fails = pd.read_csv(tmp_path / "e.tsv", sep="\t").set_index("track_id")["reason"]
    assert "non-finite" in fails["b"] and "no vector" in fails["d"]
    assert pd.read_parquet(tmp_path / "e.parquet").track_id.tolist() == ["a"]


def test_a_file_that_matches_no_catalogue_track_fails_the_job(tmp_path):
    pd.DataFrame({"id": ["x", "y"], "v": [1.0, 2.0]}).to_csv(
        tmp_path / "v.tsv", sep="\t", index=False
    )
    pd.DataFrame({"track_id": ["a", "b"]}).to_parquet(tmp_path / "cat.parquet")
    with pytest.raises(ValueError, match="no usable vector for any of the 2 catalogue tracks"):
        import_run(
            "f",
            {"type": "precomputed", "params": {"path": "v.tsv"}},
            str(tmp_path),
            str(tmp_path / "cat.parquet"),
            str(tmp_path / "e.parquet"),
            str(tmp_path / "e.tsv"),
        )
