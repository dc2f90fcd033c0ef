"""The journal version's hot/cold split, against a direct transcription of its code."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import train_test_split

from audiorec.data.log_parquet import convert
from audiorec.data.readers import read_log
from audiorec.data.synthetic import generate
from audiorec.splits.hot_cold import HotColdSplitter
from audiorec.splits.streaming import hot_cold_split
from tests.conftest import REPO

TEST_DATE = "2019-01-01"
SLICE = REPO.parent / "shared" / "data" / "m4a-onion-slice"


def journal_date_split(df: pd.DataFrame, test_date: str):
    """The journal's data/src/split.py date_split, step by step (pandas as it uses it)."""

    def compress(x):
        return (
            x.groupby(["user_id", "track_id"])
            .agg(timestamp=("timestamp", "min"), count=("timestamp", "count"))
            .reset_index()
        )

    test = pd.to_datetime(test_date)
    start, end = test - pd.DateOffset(years=1), test + pd.DateOffset(months=1)
    df = df[(df.timestamp >= start) & (df.timestamp < end)]
    te = compress(df)
    te = te[te.timestamp >= test]
    tr = compress(df[df.timestamp < test])
    te = te[te.user_id.isin(tr.user_id.unique())]
    in_train = te.track_id.isin(tr.track_id.unique())
    cold, hot = te[~in_train], te[in_train]
    # (pandas 2, which the journal ran, returned unique() as a NumPy array)
    candidates = np.asarray(hot[~hot.user_id.isin(cold.user_id.unique())].user_id.unique())
    val_users, _ = train_test_split(candidates, test_size=0.7, random_state=42)
    return tr, hot[hot.user_id.isin(val_users)], hot[~hot.user_id.isin(val_users)], cold


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    root = tmp_path_factory.mktemp("hc")
    generate(
        root,
        n_tracks=150,
        n_users=90,
        n_styles=4,
        clip_seconds=0.1,
        sample_rate=8000,
        audio_format="wav",
        start_date="2018-05-01",
        months=9,
        new_releases=0.1,
        release_after_months=8,
        seed=4,
    )
    path = root / "userid_trackid_timestamp.tsv"
    convert(path, root / "log.parquet")
    events = read_log(path)
    return events, root


def _rows(df: pd.DataFrame) -> pd.DataFrame:
    out = df[["user_id", "track_id", "timestamp", "count"]].astype(
        {"user_id": str, "track_id": str, "count": "int64"}
    )
    return out.sort_values(["user_id", "track_id"]).reset_index(drop=True)


def test_both_splitters_match_the_journals_code_row_for_row(log):
    events, root = log
    plain = events.astype({"user_id": str, "track_id": str})
    expected = journal_date_split(plain, TEST_DATE)
    assert all(len(part) for part in expected)  # every part, cold included, has pairs
    ours = HotColdSplitter(TEST_DATE, val_fraction=0.3).split(events)
    streamed, counts = hot_cold_split(str(root / "log.parquet"), None, TEST_DATE, val_fraction=0.3)
    for name, want in zip(("train", "val", "test", "cold"), expected, strict=True):
        for got in (ours, streamed):
            pd.testing.assert_frame_equal(_rows(getattr(got, name)), _rows(want), check_dtype=False)
    pd.testing.assert_frame_equal(ours.cold, streamed.cold)  # order column and row order too
    assert counts["sizes"]["cold"]["pairs"] == len(expected[3])
    assert {"tracks_per_user_median", "plays_per_user_max"} <= set(counts["sizes"]["train"])


def test_cold_tracks_are_new_and_validation_users_have_none(log):
    events, _ = log
    s = HotColdSplitter(TEST_DATE, val_fraction=0.3).split(events)
    assert not set(s.cold.track_id) & set(s.train.track_id)
    assert set(s.test.track_id) <= set(s.train.track_id)
    assert not set(s.val.user_id) & set(s.cold.user_id)
    assert (s.cold.timestamp >= pd.Timestamp(TEST_DATE)).all()


def test_the_published_slice_has_the_same_shape():
    """The journal's own validation and cold-test files (Music4All-Onion, February 2019)."""
    if not (SLICE / "cold_test.pqt").exists():
        pytest.skip(f"{SLICE} not here (the shared data folder beside the project)")
    val, cold = pd.read_parquet(SLICE / "val.pqt"), pd.read_parquet(SLICE / "cold_test.pqt")
    assert (len(val), val.user_id.nunique(), val.track_id.nunique()) == (48_787, 2_459, 23_625)
    assert (len(cold), cold.user_id.nunique(), cold.track_id.nunique()) == (23_269, 4_553, 589)
    assert not set(val.track_id) & set(cold.track_id)  # hot and cold tracks never meet
    assert not set(val.user_id) & set(cold.user_id)  # validation users have no cold pair
    for part in (val, cold):  # one month of test after the test date
        assert part.timestamp.min() >= pd.Timestamp("2019-02-01")
        assert part.timestamp.max() < pd.Timestamp("2019-03-01")


def test_the_journal_preset_validates_and_plans(tmp_path):
    import subprocess
    import sys

    import yaml

    root = tmp_path / "onion"
    (root / "audios").mkdir(parents=True)
    for name in ("userid_trackid_timestamp.tsv.bz2", "id_mfcc_stats.tsv.bz2"):
        (root / name).write_bytes(b"")
    (root / "id_information.csv").write_text("id\n")
    cfg = yaml.safe_load((REPO / "presets" / "journal.yaml").read_text())
    cfg["dataset"]["root"] = str(root)
    cfg["download"]["files"] = []
    path = tmp_path / "journal.yaml"
    path.write_text(yaml.safe_dump(cfg))
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "-n",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(tmp_path / "run"),
        "--configfile",
        str(path),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    for rule in ("fetch_weights", "import_embeddings", "extract", "train", "evaluate"):
        assert f"rule {rule}:" in out.stdout
    assert "per_user_cold.parquet" in out.stdout  # the cold block of every run
    assert "runs/none/elsa/none/seed0" in out.stdout and "runs/muq/hybrid/frozen" in out.stdout
