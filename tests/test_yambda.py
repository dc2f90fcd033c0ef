"""Yambda: conversion of its flat files, its global temporal split, and bad input.

The log is written by ``yambda.synthetic`` in Yambda's exact schema (file
names, column names and unsigned types); pandas recomputes what conversion and
the split must give.
"""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from audiorec.config import ConfigError, validate_config
from audiorec.data import yambda
from audiorec.data.log_parquet import dictionary_paths
from audiorec.splits import streaming
from tests.conftest import REPO

SETTINGS = {"scale": "50m", "events": ["listens"], "listen_threshold": 50, "organic_only": False}


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    root = tmp_path_factory.mktemp("yambda")
    yambda.synthetic(root, users=80, items=3000, events=12_000, dim=8, days=6, embedded=0.9)
    return root


def converted(root, tmp_path, **settings):
    out = tmp_path / "log.parquet"
    stats = yambda.convert(root, {**SETTINGS, **settings}, out)
    users, tracks = (pd.read_parquet(p) for p in dictionary_paths(out))
    return pd.read_parquet(out), users, tracks, stats


def test_the_schema_is_yambdas(hub):
    listens = pq.read_schema(hub / "flat/50m/listens.parquet")
    assert {f.name: str(f.type) for f in listens} == {
        "uid": "uint32",
        "timestamp": "uint32",
        "item_id": "uint32",
        "is_organic": "uint8",
        "played_ratio_pct": "uint16",
        "track_length_seconds": "uint32",
    }
    emb = pq.read_schema(hub / "embeddings.parquet")
    assert emb.names == ["item_id", "embed", "normalized_embed"]


@pytest.mark.parametrize(
    "settings",
    [{}, {"organic_only": True}, {"events": ["listens", "likes"]}, {"listen_threshold": 0}],
)
def test_conversion_keeps_the_events_that_count(hub, tmp_path, settings):
    log, users, tracks, stats = converted(hub, tmp_path, **settings)
    s = {**SETTINGS, **settings}
    frames = []
    for event in s["events"]:
        f = pd.read_parquet(hub / yambda.event_file("50m", event))
        if event == "listens":
            f = f[f.played_ratio_pct >= s["listen_threshold"]]
        if s["organic_only"]:
            f = f[f.is_organic == 1]
        frames.append(f[["uid", "item_id", "timestamp"]])
    expected = pd.concat(frames)
    assert len(log) == len(expected) == stats["events"]
    uid = users.set_index("user")["user_id"].astype(int)
    item = tracks.set_index("track")["track_id"].astype(int)
    got = pd.DataFrame(
        {
            "uid": uid[log["user"]].to_numpy(),
            "item_id": item[log["track"]].to_numpy(),
            "timestamp": log["timestamp"].astype("int64").to_numpy() // 10**9,
        }
    )
    key = ["uid", "item_id", "timestamp"]
    pd.testing.assert_frame_equal(
        got.sort_values(key).reset_index(drop=True),
        expected.astype("int64").sort_values(key).reset_index(drop=True),
    )
    # codes in order of first appearance
    first = log.groupby("user")["timestamp"].min()
    assert first.is_monotonic_increasing


def test_rows_out_of_order_convert_to_the_same_log(hub, tmp_path):
    shuffled = tmp_path / "shuffled"
    (shuffled / "flat/50m").mkdir(parents=True)
    table = pq.read_table(hub / "flat/50m/listens.parquet")
    order = np.random.default_rng(0).permutation(table.num_rows)
    pq.write_table(table.take(order), shuffled / "flat/50m/listens.parquet")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = converted(hub, tmp_path / "a")
    b = converted(shuffled, tmp_path / "b")
    for x, y in zip(a[:3], b[:3], strict=True):
        key = list(x.columns)
        pd.testing.assert_frame_equal(
            x.sort_values(key).reset_index(drop=True), y.sort_values(key).reset_index(drop=True)
        )


def test_a_missing_event_type_is_named(hub, tmp_path):
    root = tmp_path / "hub"
    shutil.copytree(hub, root)
    (root / "flat/50m/likes.parquet").unlink()
    with pytest.raises(yambda.YambdaError, match=r"flat/50m/likes\.parquet: missing"):
        converted(root, tmp_path, events=["listens", "likes"])


def test_a_scale_whose_files_are_absent_is_named(hub, tmp_path):
    with pytest.raises(yambda.YambdaError, match=r"flat/500m/listens\.parquet: missing"):
        converted(hub, tmp_path, scale="500m")


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda t: t.drop_columns(["played_ratio_pct"]), "no column 'played_ratio_pct'"),
        (
            lambda t: t.set_column(
                t.schema.get_field_index("timestamp"),
                "timestamp",
                pa.array([str(v) for v in t["timestamp"].to_pylist()]),
            ),
            "column 'timestamp' is VARCHAR",
        ),
    ],
)
def test_a_file_outside_the_schema_is_refused(hub, tmp_path, change, message):
    root = tmp_path / "hub"
    (root / "flat/50m").mkdir(parents=True)
    pq.write_table(
        change(pq.read_table(hub / "flat/50m/listens.parquet")), root / "flat/50m/listens.parquet"
    )
    with pytest.raises(yambda.YambdaError, match=message):
        converted(root, tmp_path)


def test_the_split_follows_yambdas_windows(hub, tmp_path):
    log, users, tracks, _ = converted(hub, tmp_path)
    split, _ = streaming.yambda_split(
        str(tmp_path / "log.parquet"),
        None,
        test_timestamp=yambda.TEST_TIMESTAMP,
        gap_seconds=yambda.GAP,
        val_seconds=yambda.DAY,
        val_fraction=0.5,
    )
    second = pd.Timedelta(seconds=1)
    test = pd.Timestamp(0) + yambda.TEST_TIMESTAMP * second
    val_end = test - yambda.GAP * second
    val_start = val_end - yambda.DAY * second
    train_end = val_start - yambda.GAP * second
    assert (split.train["timestamp"] < train_end).all()
    assert split.val["timestamp"].between(val_start, val_end, inclusive="left").all()
    assert (split.test["timestamp"] >= test).all() and (split.cold["timestamp"] >= test).all()
    train_users, train_items = set(split.train["user_id"]), set(split.train["track_id"])
    for part in (split.val, split.test, split.cold):
        assert set(part["user_id"]) <= train_users
    assert set(split.test["track_id"]) <= train_items
    assert not set(split.cold["track_id"]) & train_items
    assert len(split.test) and len(split.cold) and len(split.val)
    # a test pair is a pair first heard in the test window: none heard before it
    heard = log.assign(
        user_id=users.set_index("user")["user_id"][log["user"]].to_numpy(),
        track_id=tracks.set_index("track")["track_id"][log["track"]].to_numpy(),
    )
    before = heard[heard["timestamp"] < test]
    seen = set(zip(before["user_id"], before["track_id"], strict=True))
    pairs = set(zip(split.test["user_id"], split.test["track_id"], strict=True))
    assert not pairs & seen


def test_config_refuses_what_yambda_cannot_be():
    cfg = yaml.safe_load((REPO / "presets" / "yambda.yaml").read_text())
    ok = validate_config(yaml.safe_load(yaml.safe_dump(cfg)))
    assert "flat/50m/listens.parquet" in ok["download"]["files"]
    bad = yaml.safe_load(yaml.safe_dump(cfg))
    bad["dataset"]["audio_dir"] = "audios"
    with pytest.raises(ConfigError, match=r"dataset\.audio_dir"):
        validate_config(bad)
    onion = yaml.safe_load((REPO / "presets" / "onion.yaml").read_text())
    onion["split"] = {"method": "yambda"}
    with pytest.raises(ConfigError, match=r"split\.method"):
        validate_config(onion)
    bad = yaml.safe_load(yaml.safe_dump(cfg))
    bad["split"]["ties"] = "file"
    with pytest.raises(ConfigError, match=r"split\.ties"):
        validate_config(bad)
    bad = yaml.safe_load(yaml.safe_dump(cfg))
    bad["dataset"]["yambda"]["scale"] = "1b"
    with pytest.raises(ConfigError, match="scale"):
        validate_config(bad)


def test_embeddings_are_read_for_the_catalogue_only(hub):
    from audiorec import backbones

    model = backbones.get("precomputed")(
        {
            "path": "embeddings.parquet",
            "id_column": "item_id",
            "vector_column": "normalized_embed",
        },
        root=str(hub),
    )
    everything = pd.read_parquet(hub / "embeddings.parquet")
    wanted = pd.Series(["3", "17", "250", "99999"])  # the last has no vector
    ids, vectors = model.table(wanted)
    present = everything[everything.item_id.astype(str).isin(wanted)]
    assert sorted(ids) == sorted(present.item_id.astype(str))
    row = dict(zip(ids, vectors, strict=True))
    for item_id, vec in zip(present.item_id, present.normalized_embed, strict=True):
        np.testing.assert_allclose(row[str(item_id)], vec, rtol=1e-6)
