"""The converted log: integer codes in order of first appearance, ids back from the code tables."""

import pandas as pd
import pyarrow as pa
import pytest

from audiorec.data import log_parquet
from audiorec.data.readers import DataError, read_log

HEADER = "user_id\ttrack_id\ttimestamp\n"


def test_converted_log_reads_back_as_the_raw_log(tmp_path):
    rows = [
        ("u2", "t9", "2019-03-01 10:00:00"),
        ("u1", "t3", "2019-03-01T11:00:00"),  # ISO 8601 with 'T'
        ("u2", "t3", "2019-03-02"),  # a date alone
        ("u3", "t1", "2019-03-02 10:00:00.250"),
        ("u1", "t9", " 2019-03-03 10:00:00"),  # a space: the block takes the checked parser
    ]
    raw = tmp_path / "log.tsv"
    raw.write_text(HEADER + "".join("\t".join(r) + "\n" for r in rows))
    counts = log_parquet.convert(raw, tmp_path / "log.parquet")
    assert counts["events"] == 5 and counts["users"] == 3 and counts["tracks"] == 3
    got, want = log_parquet.read(tmp_path / "log.parquet"), read_log(raw)
    pd.testing.assert_frame_equal(got, want)
    assert list(got.user_id.cat.categories) == ["u2", "u1", "u3"]  # first appearance
    assert log_parquet.tracks(tmp_path / "log.parquet") == ["t9", "t3", "t1"]
    events = pd.read_parquet(tmp_path / "log.parquet")
    assert events.user.tolist() == [0, 1, 0, 2, 1] and events.track.tolist() == [0, 1, 1, 2, 0]


def test_codes_follow_first_appearance_across_blocks():
    codes = log_parquet._Codes()
    first = codes.encode(pa.array(["b", "a", "b"]))
    second = codes.encode(pa.array(["c", "a", "d", "c"]))
    assert first.to_pylist() == [0, 1, 0] and second.to_pylist() == [2, 1, 3, 2]
    assert codes.known.to_pylist() == ["b", "a", "c", "d"]


def test_a_bad_row_leaves_no_converted_file(tmp_path):
    raw = tmp_path / "log.tsv"
    raw.write_text(HEADER + "u1\tt1\t2019-03-01 10:00:00\nu2\tt2\tyesterday\n")
    with pytest.raises(DataError, match="line 3: cannot parse timestamp 'yesterday'"):
        log_parquet.convert(raw, tmp_path / "log.parquet")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.tsv"]


def test_a_parquet_log_with_its_own_column_names(tmp_path):
    source = tmp_path / "plays.parquet"
    pd.DataFrame(
        {"who": [7, 8, 7], "song": ["x", "y", "y"], "when": pd.to_datetime(["2019-01-01"] * 3)}
    ).to_parquet(source)
    columns = {"user": "who", "item": "song", "timestamp": "when"}
    log_parquet.convert(source, tmp_path / "log.parquet", columns)
    got = log_parquet.read(tmp_path / "log.parquet")
    assert got.user_id.astype(str).tolist() == ["7", "8", "7"]
    assert got.track_id.astype(str).tolist() == ["x", "y", "y"]
