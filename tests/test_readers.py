import bz2

import pandas as pd
import pytest

from audiorec.data.readers import (
    DataError,
    build_catalogue,
    known_tracks,
    read_id_list,
    read_log,
)

HEADER = "user_id\ttrack_id\ttimestamp\n"


def _write(path, text):
    path.write_text(text)
    return path


def test_reads_onion_log_and_filters_dates(tmp_path):
    p = _write(
        tmp_path / "log.tsv",
        HEADER
        + "u1\tt1\t2019-01-01 10:00:00\nu1\tt2\t2019-03-01 10:00:00\nu2\tt1\t2019-04-01 00:00:00\n",
    )
    df = read_log(p, start="2019-02-01", end="2019-04-01")
    assert df[["user_id", "track_id"]].astype(str).values.tolist() == [["u1", "t2"]]
    assert df["timestamp"].iloc[0] == pd.Timestamp("2019-03-01 10:00:00")
    assert isinstance(df["user_id"].dtype, pd.CategoricalDtype)


def test_reads_bz2_and_parquet_and_other_column_names(tmp_path):
    text = "listener,song,ts\nu1,t1,2019-01-01T10:00:00\nu2,t2,2019-01-02\n"
    p = tmp_path / "log.csv.bz2"
    p.write_bytes(bz2.compress(text.encode()))
    cols = {"user": "listener", "item": "song", "timestamp": "ts"}
    a = read_log(p, columns=cols)
    assert len(a) == 2 and a["timestamp"].iloc[1] == pd.Timestamp("2019-01-02")
    q = tmp_path / "log.parquet"
    pd.DataFrame(
        {"listener": [1, 2], "song": [10, 20], "ts": pd.to_datetime(["2019-01-01", "2019-01-02"])}
    ).to_parquet(q)
    b = read_log(q, columns=cols)
    assert b["track_id"].astype(str).tolist() == ["10", "20"]


def test_missing_column_names_file_and_column(tmp_path):
    p = _write(tmp_path / "log.tsv", "user_id\ttrack_id\twhen\nu1\tt1\t2019-01-01\n")
    with pytest.raises(
        DataError, match=r"log\.tsv: missing column 'timestamp' \(found: user_id, track_id, when\)"
    ):
        read_log(p)


def test_unparsable_timestamp_names_the_line(tmp_path):
    rows = "".join(f"u{i}\tt{i}\t2019-01-0{i % 9 + 1} 00:00:00\n" for i in range(5))
    p = _write(tmp_path / "log.tsv", HEADER + rows + "u9\tt9\tyesterday\n")
    with pytest.raises(DataError, match=r"log\.tsv, line 7: cannot parse timestamp 'yesterday'"):
        read_log(p)


def test_empty_id_names_the_line(tmp_path):
    p = _write(
        tmp_path / "log.tsv", HEADER + "u1\tt1\t2019-01-01 00:00:00\n\tt2\t2019-01-01 00:00:00\n"
    )
    with pytest.raises(DataError, match=r"line 3: empty user_id"):
        read_log(p)


def test_missing_log_file(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_log(tmp_path / "nope.tsv")


def test_unknown_tracks_are_dropped_or_refused(tmp_path):
    p = _write(
        tmp_path / "log.tsv", HEADER + "u1\tt1\t2019-01-01 00:00:00\nu1\tzz\t2019-01-01 00:00:00\n"
    )
    df = read_log(p)
    kept, info = known_tracks(df, ["t1"], "drop", str(p))
    assert kept["track_id"].astype(str).tolist() == ["t1"] and info == {"events": 1, "tracks": 1}
    with pytest.raises(DataError, match=r"1 events of 1 tracks not in the catalogue .*zz"):
        known_tracks(df, ["t1"], "error", str(p))


def test_catalogue_from_music4all_id_information(tmp_path):
    (tmp_path / "audios").mkdir()
    _write(
        tmp_path / "id_information.csv",
        "id\tartist\tsong\talbum_name\nbbb\tA\tS\tX\naaa\tB\tT\tY\n",
    )
    _write(tmp_path / "keep.csv", "idx,trackid\n0,aaa\n")
    cat = build_catalogue(tmp_path, "audios", "mp3", "id_information.csv", None)
    assert cat["track_id"].tolist() == ["aaa", "bbb"]
    assert cat["path"].iloc[0].endswith("audios/aaa.mp3")
    only = build_catalogue(tmp_path, "audios", "mp3", "id_information.csv", "keep.csv")
    assert only["track_id"].tolist() == ["aaa"]


def test_catalogue_from_audio_folder_and_duplicate_ids(tmp_path):
    (tmp_path / "audios").mkdir()
    for t in ("x", "y"):
        (tmp_path / "audios" / f"{t}.ogg").write_bytes(b"")
    assert build_catalogue(tmp_path, "audios", "ogg", None, None)["track_id"].tolist() == ["x", "y"]
    _write(tmp_path / "ids.tsv", "id\nx\nx\n")
    with pytest.raises(DataError, match="listed twice: x"):
        build_catalogue(tmp_path, "audios", "ogg", "ids.tsv", None)


def test_id_list_reports_empty_ids(tmp_path):
    p = _write(tmp_path / "ids.csv", "idx,trackid\n0,a\n1,\n")
    with pytest.raises(DataError, match="line 3: empty track id"):
        read_id_list(p)


def test_catalogue_keeps_only_listened_tracks(tmp_path):
    (tmp_path / "audios").mkdir()
    _write(tmp_path / "id_information.csv", "id\tartist\nt1\tA\nt2\tB\nt3\tC\n")
    log = _write(
        tmp_path / "log.tsv", HEADER + "u1\tt3\t2019-01-01 00:00:00\nu2\tt1\t2019-01-01 00:00:00\n"
    )
    from audiorec.data import log_parquet

    log_parquet.convert(log, tmp_path / "log.parquet")
    heard = set(log_parquet.tracks(tmp_path / "log.parquet"))
    assert heard == {"t1", "t3"}
    cat = build_catalogue(tmp_path, "audios", "mp3", "id_information.csv", None, listened=heard)
    assert cat["track_id"].tolist() == ["t1", "t3"]
