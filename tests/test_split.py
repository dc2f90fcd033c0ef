import pandas as pd
import pytest

from audiorec.splits import GlobalTimeSplitter, LeaveLastOutSplitter, collapse_pairs
from tests.conftest import REPO


def _events(rows):
    return pd.DataFrame(rows, columns=["user_id", "track_id", "timestamp"]).assign(
        timestamp=lambda d: pd.to_datetime(d["timestamp"])
    )


LOG = _events(
    [
        ("a", "t1", "2019-01-05"),  # before start: dropped
        ("a", "t1", "2019-02-21"),
        ("a", "t1", "2019-03-01"),
        ("a", "t2", "2019-04-01"),
        ("a", "t2", "2020-02-25"),  # replay of a train pair: not a test pair, not counted in train
        ("a", "t3", "2020-02-21"),  # new pair of known user and track: test
        ("b", "t2", "2019-05-01"),
        ("b", "t3", "2019-06-01"),
        ("b", "t1", "2020-03-01"),  # test
        ("b", "t9", "2020-03-02"),  # unknown track (never in train): dropped
        ("c", "t1", "2020-02-22"),  # unknown user: dropped
        ("d", "t1", "2019-03-03"),
        ("d", "t2", "2020-02-20"),  # exactly on the test date: test
    ]
)


def test_global_time_split_follows_the_study():
    s = GlobalTimeSplitter(
        start_date="2019-02-20", test_date="2020-02-20", val_fraction=0.5, seed=42
    ).split(LOG)
    train = s.train.set_index(["user_id", "track_id"])
    assert train.loc[("a", "t1"), "count"] == 2  # the January play is before the start date
    assert train.loc[("a", "t1"), "timestamp"] == pd.Timestamp("2019-02-21")
    assert train.loc[("a", "t2"), "count"] == 1  # the 2020 replay does not count in train
    held = pd.concat([s.val, s.test])
    assert set(zip(held.user_id, held.track_id, strict=True)) == {
        ("a", "t3"),
        ("b", "t1"),
        ("d", "t2"),
    }
    assert set(s.val.user_id).isdisjoint(s.test.user_id)
    assert len(set(s.val.user_id)) + len(set(s.test.user_id)) == 3


def test_validation_users_are_sklearns_first_part_of_sorted_users():
    from sklearn.model_selection import train_test_split

    s = GlobalTimeSplitter(start_date="2019-02-20", test_date="2020-02-20", seed=7).split(LOG)
    val_users, test_users = train_test_split(["a", "b", "d"], test_size=0.5, random_state=7)
    assert set(s.val.user_id) == set(val_users) and set(s.test.user_id) == set(test_users)


def test_end_date_cuts_the_test_period():
    s = GlobalTimeSplitter(
        start_date="2019-02-20", test_date="2020-02-20", end_date="2020-02-24"
    ).split(LOG)
    held = pd.concat([s.val, s.test])
    assert set(held.track_id) == {"t3", "t2"}  # b's 2020-03-01 pair is after the end


def test_collapse_pairs_counts_and_first_listen():
    pairs = collapse_pairs(LOG[LOG.user_id == "a"])
    assert pairs.set_index("track_id")["count"].to_dict() == {"t1": 3, "t2": 2, "t3": 1}


def test_leave_last_out_holds_out_the_two_latest_new_pairs():
    log = _events(
        [("u", f"t{i}", f"2020-01-0{i}") for i in range(1, 6)]
        + [("u", "t1", "2020-01-09"), ("v", "t1", "2020-01-01"), ("v", "t2", "2020-01-02")]
    )
    s = LeaveLastOutSplitter().split(log)
    assert s.test.track_id.tolist() == ["t5"]  # a replay of t1 is not a new pair
    assert s.val.track_id.tolist() == ["t4"]
    assert sorted(s.train[s.train.user_id == "u"].track_id) == ["t1", "t2", "t3"]
    assert sorted(s.train[s.train.user_id == "v"].track_id) == ["t1", "t2"]  # too short to hold out


def test_too_few_test_users_is_an_error():
    with pytest.raises(ValueError, match="too few"):
        GlobalTimeSplitter(test_date="2020-03-01", start_date="2019-02-20").split(LOG)


@pytest.mark.parametrize("ties", ["item", "file"])
def test_split_job_with_a_generic_table_and_leave_last_out(tmp_path, ties):
    """Any (user, item, time) table, own column names, ids from the audio folder."""
    from audiorec.config import validate_config
    from audiorec.data.readers import build_catalogue
    from audiorec.stages import convert_log
    from audiorec.stages.split import run

    (tmp_path / "audio").mkdir()
    for i in range(5):
        (tmp_path / "audio" / f"{i}.flac").write_bytes(b"x")
    rows = [
        (u, i, f"2020-01-{d:02d}")
        for u, items in {"a": [0, 1, 2, 3], "b": [4, 3, 2], "c": [1, 0]}.items()
        for d, i in enumerate(items, 1)
    ]
    rows += [("d", 4, "2020-01-01"), ("d", 1, "2020-01-02"), ("d", 0, "2020-01-02")]
    pd.DataFrame(rows, columns=["listener", "song", "when"]).to_csv(
        tmp_path / "plays.csv", index=False
    )
    cfg = validate_config(
        {
            "dataset": {
                "format": "interactions",
                "root": str(tmp_path),
                "listening_log": "plays.csv",
                "audio_dir": "audio",
                "audio_ext": "flac",
                "columns": {"user": "listener", "item": "song", "timestamp": "when"},
            },
            "backbones": {"mfcc": {"type": "mfcc"}},
            "split": {"method": "leave_last_out", "ties": ties},
            "recommenders": {"random": {"type": "random"}},
        }
    )
    cat = build_catalogue(tmp_path, "audio", "flac", None, None)
    cat.to_parquet(tmp_path / "cat.parquet")
    out = {p: str(tmp_path / f"{p}.parquet") for p in ("train", "val", "test")} | {
        "stats": str(tmp_path / "stats.tsv")
    }
    convert_log.run(cfg["dataset"], str(tmp_path / "log.parquet"))
    run(
        cfg["dataset"],
        cfg["split"],
        str(tmp_path / "log.parquet"),
        str(tmp_path / "cat.parquet"),
        out,
    )
    test = pd.read_parquet(out["test"])
    val = pd.read_parquet(out["val"])
    # d heard 1 and 0 in the same instant, listed in that order
    d_test, d_val = ("1", "0") if ties == "item" else ("0", "1")
    assert sorted(zip(test.user_id, test.track_id, strict=True)) == [
        ("a", "3"),
        ("b", "2"),
        ("d", d_test),
    ]
    assert sorted(zip(val.user_id, val.track_id, strict=True)) == [
        ("a", "2"),
        ("b", "3"),
        ("d", d_val),
    ]
    train = pd.read_parquet(out["train"])
    assert sorted(train[train.user_id == "c"].track_id) == ["0", "1"]  # too short to hold out


# One user's plays where a second holds three new tracks, listed in the file
# as t9, t1, t5: item order and file order disagree on every place.
TIED = _events(
    [
        ("u", "t3", "2020-01-01 10:00:00"),
        ("u", "t9", "2020-01-01 10:00:05"),
        ("u", "t1", "2020-01-01 10:00:05"),
        ("u", "t5", "2020-01-01 10:00:05"),
        ("u", "t3", "2020-01-01 10:00:05"),  # a replay: not a new pair
    ]
)


@pytest.mark.parametrize(
    "ties, sequence", [("item", ["t3", "t1", "t5", "t9"]), ("file", ["t3", "t9", "t1", "t5"])]
)
def test_same_instant_pairs_follow_the_ties_rule(ties, sequence):
    pairs = collapse_pairs(TIED, ties=ties).sort_values("order")
    assert pairs.track_id.tolist() == sequence
    assert pairs.order.tolist() == [0, 1, 2, 3]
    s = LeaveLastOutSplitter(ties=ties).split(TIED)
    assert s.test.track_id.tolist() == sequence[-1:]
    assert s.val.track_id.tolist() == sequence[-2:-1]


def test_file_ties_do_not_depend_on_the_index_of_the_frame():
    shuffled_index = TIED.set_axis([40, 3, 17, 8, 1])
    pairs = collapse_pairs(shuffled_index, ties="file").sort_values("order")
    assert pairs.track_id.tolist() == ["t3", "t9", "t1", "t5"]


def test_sequences_keep_the_split_order_across_its_parts():
    """BERT4Rec's input (History of train + val) reads the split's order."""
    from audiorec.data.interactions import index_split

    v = [
        ("v", t, f"2020-01-0{d}") for d, t in enumerate(["t1", "t3", "t5", "t7", "t9", "x", "y"], 1)
    ]
    log = pd.concat([TIED, _events([("u", "t7", "2020-01-02"), *v])])  # v makes all train items
    for ties in ("item", "file"):
        data = index_split(LeaveLastOutSplitter(ties=ties).split(log))
        seq = data.items[data.history("train", "val").sequence(data.users.get_loc("u"))]
        want = ["t3", "t1", "t5", "t9"] if ties == "item" else ["t3", "t9", "t1", "t5"]
        assert seq.tolist() == want  # t7, the last, is the test item


def test_global_time_places_train_pairs_before_held_out_ones():
    more = [("u", "t2", "2020-02-01"), ("w", "t2", "2020-01-01"), ("w", "t9", "2020-01-01")]
    log = pd.concat([TIED, _events([*more, ("w", "t1", "2020-02-02")])])
    s = GlobalTimeSplitter(test_date="2020-01-15", ties="file").split(log)
    train_u = s.train[s.train.user_id == "u"].sort_values("order")
    assert train_u.track_id.tolist() == ["t3", "t9", "t1", "t5"]
    held = pd.concat([s.val, s.test]).set_index(["user_id", "track_id"])["order"]
    assert held[("u", "t2")] == 4 and held[("w", "t1")] == 2


def test_unknown_ties_rule_is_refused():
    with pytest.raises(ValueError, match="'time' is not one of item, file"):
        LeaveLastOutSplitter(ties="time")


SLICE = REPO.parent / "shared" / "data" / "m4a-onion-slice" / "val.pqt"


def _streaming_matches_reference(log_tsv, tmp_path, test_date, start=None, end=None):
    """The DuckDB split of the converted log against GlobalTimeSplitter in memory, row for row.

    The reference reads the log as the split job did before it ran on DuckDB.
    """
    from audiorec.data.log_parquet import convert
    from audiorec.data.readers import known_tracks, read_log
    from audiorec.splits.streaming import global_time_split

    convert(log_tsv, tmp_path / "log.parquet")
    events = read_log(log_tsv)
    catalogue = pd.DataFrame({"track_id": sorted(events.track_id.astype(str).unique())[3:]})
    catalogue.to_parquet(tmp_path / "cat.parquet")
    known, dropped = known_tracks(events, catalogue.track_id, "drop", "log")
    for ties in ("item", "file"):
        ref = GlobalTimeSplitter(test_date, start, end, val_fraction=0.3, ties=ties).split(known)
        got, counts = global_time_split(
            str(tmp_path / "log.parquet"),
            str(tmp_path / "cat.parquet"),
            test_date,
            start,
            end,
            val_fraction=0.3,
            ties=ties,
            memory_mb=500,
        )
        outputs = {p: str(tmp_path / f"{ties}-{p}.parquet") for p in ("train", "val", "test")}
        global_time_split(
            str(tmp_path / "log.parquet"),
            str(tmp_path / "cat.parquet"),
            test_date,
            start,
            end,
            val_fraction=0.3,
            ties=ties,
            outputs=outputs,
        )
        for part in ("train", "val", "test"):  # row order included, and as the job writes it
            a, b = getattr(ref, part), getattr(got, part)
            assert len(a) > 0
            pd.testing.assert_frame_equal(a, b)
            written = pd.read_parquet(outputs[part])
            pd.testing.assert_frame_equal(a, written, check_dtype=False)
            assert str(written["timestamp"].dtype) == "datetime64[ns]"
    return counts, dropped


def test_streaming_split_matches_the_reference_on_a_synthetic_log(tmp_path):
    from audiorec.data.synthetic import generate

    generate(
        tmp_path / "d",
        n_tracks=60,
        n_users=40,
        n_styles=4,
        clip_seconds=0.2,
        sample_rate=8000,
        audio_format="wav",
        months=6,
        seed=3,
    )
    counts, _ = _streaming_matches_reference(
        tmp_path / "d" / "userid_trackid_timestamp.tsv",
        tmp_path,
        "2019-05-01",
        "2019-02-01",
        "2019-06-20",
    )
    assert counts["unknown_tracks"] == 3


def test_streaming_split_matches_the_reference_on_the_real_slice(tmp_path):
    """Music4All-Onion's February 2019 pairs (with their same-second ties), as events."""
    if not SLICE.exists():
        pytest.skip(f"{SLICE} not here (the shared data folder beside the project)")
    pairs = pd.read_parquet(SLICE)
    events = pairs.loc[pairs.index.repeat(pairs["count"].clip(upper=3))]
    events = events[["user_id", "track_id", "timestamp"]].astype({"timestamp": str})
    events.to_csv(tmp_path / "slice.tsv", sep="\t", index=False)
    _streaming_matches_reference(tmp_path / "slice.tsv", tmp_path, "2019-02-15")


def test_a_timestamp_in_the_future_is_dropped_and_counted_not_a_test_pair(tmp_path):
    """No end date: the split ends when it runs; 1970 rows are before the start, 2100 after."""
    from audiorec.data.synthetic import generate

    generate(
        tmp_path / "d",
        n_tracks=40,
        n_users=30,
        n_styles=3,
        clip_seconds=0.2,
        sample_rate=8000,
        audio_format="wav",
        months=6,
        seed=2,
        audio=False,
    )
    path = tmp_path / "d" / "userid_trackid_timestamp.tsv"
    log = pd.read_csv(path, sep="\t")
    user, track = log["user_id"].iloc[0], log["track_id"].iloc[-1]
    odd = pd.DataFrame(
        {
            "user_id": [user, user],
            "track_id": [track, log["track_id"].iloc[1]],
            "timestamp": ["2100-01-01 00:00:00", "1970-01-01 00:00:00"],
        }
    )
    pd.concat([log, odd]).to_csv(path, sep="\t", index=False)
    counts, _ = _streaming_matches_reference(path, tmp_path, "2019-05-01", "2019-01-01")
    assert counts["after_end"] == 1 and counts["before_start"] == 1
    test = GlobalTimeSplitter("2019-05-01", "2019-01-01").split(read_log_events(path))
    assert not (pd.concat([test.val, test.test])["timestamp"] >= "2100-01-01").any()


def read_log_events(path):
    from audiorec.data.readers import read_log

    return read_log(path)
