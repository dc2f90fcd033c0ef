"""Yambda (Yandex Music; Ploshkin et al. 2025, arXiv 2505.22238), as the project's Parquet log.

Yambda's "flat" files (hub dataset ``yandex/yambda``, ``flat/<scale>/<event>.parquet``
for the scales 50m, 500m and 5b) hold one row per event: ``uid``, ``item_id`` and
``timestamp`` (seconds since the dataset's start, in 5-s steps) as unsigned
integers and ``is_organic`` (uint8: the user chose the track, not a
recommendation); listens add ``played_ratio_pct`` (the share of the track played)
and ``track_length_seconds``. ``embeddings.parquet`` holds each item's audio
embedding (``item_id``, ``embed``, ``normalized_embed``: a CNN on spectrograms).

``convert`` turns the chosen event types into the log ``convert_log`` writes
for every dataset (``log.parquet`` of int32 codes and timestamps, and the
two code tables), with DuckDB, out of core: a listen counts when at least
``listen_threshold`` percent of the track was played (Yambda's "Listen+": 50),
likes count as they are, ``organic_only`` keeps the events users chose. Codes
are numbered in order of each user's (track's) first event; rows are in no
particular order (``split.ties: file`` is refused for Yambda); timestamps become instants from 1970-01-01 (Yambda's seconds), so
Yambda's split constants read as they are published.
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)

SCALES = ("50m", "500m", "5b")
EVENTS = ("listens", "likes")  # the positive ones: dislikes and un-events are not interactions
REPO_ID = "yandex/yambda"
COLUMNS = {  # the published schema: column -> DuckDB type
    "listens": {
        "uid": "UINTEGER",
        "item_id": "UINTEGER",
        "timestamp": "UINTEGER",
        "is_organic": "UTINYINT",
        "played_ratio_pct": "USMALLINT",
        "track_length_seconds": "UINTEGER",
    },
    "likes": {
        "uid": "UINTEGER",
        "item_id": "UINTEGER",
        "timestamp": "UINTEGER",
        "is_organic": "UTINYINT",
    },
}
# Yambda's split constants (its benchmark code), in its seconds
LAST_TIMESTAMP = 26_000_000
DAY = 86_400
TEST_TIMESTAMP = LAST_TIMESTAMP - DAY
GAP = 1_800
LISTEN_THRESHOLD = 50


class YambdaError(ValueError):
    """A Yambda file is missing or not in the published schema; the message names it."""


def event_file(scale: str, event: str) -> str:
    return f"flat/{scale}/{event}.parquet"


def files(settings: dict) -> list[str]:
    """The hub files a setting reads: its event files (and the embeddings, separately)."""
    return [event_file(settings["scale"], e) for e in settings["events"]]


def _check(con, path: Path, event: str) -> None:
    if not path.exists():
        raise YambdaError(
            f"{path}: missing: Yambda's {event} at this scale; the workflow's download rule "
            f"fetches it (download.files) from the hub dataset {REPO_ID}"
        )
    found = {
        r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()
    }
    for column, kind in COLUMNS[event].items():
        if column not in found:
            raise YambdaError(
                f"{path}: no column {column!r} (Yambda's {event} has {', '.join(COLUMNS[event])})"
            )
        if "INT" not in found[column]:
            raise YambdaError(
                f"{path}: column {column!r} is {found[column]}, Yambda publishes {kind}"
            )


def events_query(root: Path, settings: dict) -> str:
    """SELECT uid, item_id, timestamp of every event that counts as an interaction."""
    parts = []
    organic = " AND is_organic = 1" if settings["organic_only"] else ""
    for event in settings["events"]:
        path = Path(root) / event_file(settings["scale"], event)
        keep = (
            f"played_ratio_pct >= {int(settings['listen_threshold'])}"
            if event == "listens"
            else "true"
        )
        parts.append(
            f"SELECT uid, item_id, timestamp FROM read_parquet('{path}') WHERE {keep}{organic}"
        )
    return " UNION ALL ".join(parts)


def convert(
    root: str | Path, settings: dict, output: str | Path, threads: int = 1, memory_mb: int = 4000
) -> dict:
    """The chosen events of a Yambda scale as ``log.parquet`` and its code tables."""
    import tempfile

    import duckdb

    from audiorec.data.log_parquet import dictionary_paths

    output = Path(output)
    users_path, tracks_path = dictionary_paths(output)
    with tempfile.TemporaryDirectory(prefix="audiorec-yambda-") as tmp:
        con = duckdb.connect()
        con.execute(f"SET threads = {int(threads)}; SET memory_limit = '{int(memory_mb)}MB'")
        con.execute(f"SET temp_directory = '{tmp}'; SET preserve_insertion_order = false")
        for event in settings["events"]:
            _check(con, Path(root) / event_file(settings["scale"], event), event)
        con.execute(f"CREATE TEMP VIEW ev AS {events_query(root, settings)}")
        for table, key in (("users", "uid"), ("tracks", "item_id")):
            con.execute(
                f"CREATE TEMP TABLE {table} AS SELECT {key}, "
                f"(row_number() OVER (ORDER BY first, {key}) - 1)::INTEGER AS code "
                f"FROM (SELECT {key}, min(timestamp) AS first FROM ev GROUP BY 1)"
            )
        users, tracks = (
            con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("users", "tracks")
        )
        if not users:
            raise YambdaError(f"{root}: no event of {settings['events']} passes the filters")
        con.execute(
            f"COPY (SELECT code AS user, {key_cast('uid')} AS user_id FROM users ORDER BY code) "
            f"TO '{users_path}' (FORMAT parquet)"
        )
        con.execute(
            f"COPY (SELECT code AS track, {key_cast('item_id')} AS track_id FROM tracks ORDER BY code) "
            f"TO '{tracks_path}' (FORMAT parquet)"
        )
        # no ORDER BY: sorting billions of rows would cost more than the rest together, and
        # nothing downstream reads the row order (the split orders by time; ties by item)
        events = con.execute(
            f"""COPY (SELECT users.code AS user, tracks.code AS track,
                      epoch_ms(ev.timestamp::BIGINT * 1000)::TIMESTAMP_NS AS timestamp
                 FROM ev JOIN users USING (uid) JOIN tracks USING (item_id))
                TO '{output}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1048576)"""
        ).fetchone()[0]
        con.close()
    stats = {"events": events, "users": users, "tracks": tracks}
    log.info("yambda %s %s: %s", settings["scale"], "+".join(settings["events"]), stats)
    return stats


def key_cast(column: str) -> str:
    return f"CAST({column} AS VARCHAR)"


def synthetic(
    root: str | Path,
    scale: str = "50m",
    users: int = 200,
    items: int = 2000,
    events: int = 60_000,
    dim: int = 16,
    styles: int = 8,
    seed: int = 0,
    chunk: int = 5_000_000,
    days: int | None = None,
    embedded: float = 1.0,
    repertoire: int = 1500,
) -> dict:
    """A log in Yambda's exact schema (file names, column names and types), written in
    chunks of `chunk` events so that any size fits in memory: users with a taste for a
    few of `styles` styles and a repertoire (median `repertoire` tracks, popular ones
    likelier) that they replay, favourites most; items whose audio embedding is their
    style's centroid plus noise, timestamps over Yambda's 301 days (or its last `days`) in 5-s steps, listens with a played share
    (most finished, many skipped) and organic flags, and likes of a tenth of the
    finished listens; the `embedded` share of the items has a vector (Yambda's: 82 %).
    The benchmark's 500 M-event log and the tests' miniatures."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from audiorec.data.synthetic import unit_interval

    root = Path(root)
    folder = root / "flat" / scale
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    item_style = rng.integers(0, styles, items)
    taste = rng.dirichlet(np.full(styles, 0.3), users)
    by_style = [rng.permutation(np.flatnonzero(item_style == s)) for s in range(styles)]
    # popularity by rank within a style (a random order of its items): ∝ 1 / rank^0.9
    cdfs = [np.cumsum(1.0 / np.arange(1, len(ids) + 1) ** 0.9) for ids in by_style]
    cdfs = [c / c[-1] for c in cdfs]
    activity = rng.lognormal(0, 1.2, users)
    activity /= activity.sum()
    repertoire = np.maximum(5, rng.lognormal(np.log(repertoire), 0.8, users)).astype(np.int64)
    listens_schema = pa.schema(
        [
            (c, getattr(pa, t)())
            for c, t in (
                ("uid", "uint32"),
                ("timestamp", "uint32"),
                ("item_id", "uint32"),
                ("is_organic", "uint8"),
                ("played_ratio_pct", "uint16"),
                ("track_length_seconds", "uint32"),
            )
        ]
    )
    likes_schema = pa.schema(
        [
            (c, getattr(pa, t)())
            for c, t in (
                ("uid", "uint32"),
                ("timestamp", "uint32"),
                ("item_id", "uint32"),
                ("is_organic", "uint8"),
            )
        ]
    )
    lengths = rng.integers(90, 420, items).astype(np.uint32)
    written = {"listens": 0, "likes": 0}
    with pq.ParquetWriter(folder / "listens.parquet", listens_schema) as lw, \
            pq.ParquetWriter(folder / "likes.parquet", likes_schema) as kw:  # fmt: skip
        for start in range(0, events, chunk):
            n = min(chunk, events - start)
            uid = rng.choice(users, n, p=activity)
            # a track of the user's repertoire, low ranks replayed most (log-uniform rank);
            # the (user, rank) key hashes to the same style and track in every chunk
            rank = np.floor(repertoire[uid] ** rng.random(n)).astype(np.uint64)
            key = uid.astype(np.uint64) * np.uint64(1_000_003) + rank
            style = (taste[uid].cumsum(axis=1) > unit_interval(key)[:, None]).argmax(axis=1)
            draw = unit_interval(key ^ np.uint64(0x5DEECE66D))
            item = np.empty(n, np.int64)
            for s in range(styles):
                rows = np.flatnonzero(style == s)
                if rows.size and by_style[s].size:
                    at = np.minimum(np.searchsorted(cdfs[s], draw[rows]), by_style[s].size - 1)
                    item[rows] = by_style[s][at]
                elif rows.size:
                    item[rows] = rng.integers(0, items, rows.size)
            first = 0 if days is None else (LAST_TIMESTAMP - days * DAY) // 5
            ts = (rng.integers(first, LAST_TIMESTAMP // 5, n) * 5).astype(np.uint32)
            order = np.lexsort((ts, uid))
            uid, item, ts = uid[order], item[order], ts[order]
            played = np.where(rng.random(n) < 0.6, 100, rng.integers(0, 100, n)).astype(np.uint16)
            organic = (rng.random(n) < 0.4).astype(np.uint8)
            lw.write_table(pa.table({
                "uid": uid.astype(np.uint32), "timestamp": ts, "item_id": item.astype(np.uint32),
                "is_organic": organic, "played_ratio_pct": played,
                "track_length_seconds": lengths[item]}, schema=listens_schema))  # fmt: skip
            liked = (played == 100) & (rng.random(n) < 0.1)
            kw.write_table(pa.table({
                "uid": uid[liked].astype(np.uint32), "timestamp": ts[liked],
                "item_id": item[liked].astype(np.uint32), "is_organic": organic[liked]},
                schema=likes_schema))  # fmt: skip
            written["listens"] += n
            written["likes"] += int(liked.sum())
    centroids = rng.normal(0, 1, (styles, dim))
    vectors = centroids[item_style] + rng.normal(0, 0.7, (items, dim))
    norm = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    keep = np.sort(rng.permutation(items)[: round(embedded * items)])
    emb_type = pa.list_(pa.float32())
    pq.write_table(pa.table({
        "item_id": pa.array(keep.astype(np.uint32)),
        "embed": pa.array(list(vectors[keep].astype(np.float32)), type=emb_type),
        "normalized_embed": pa.array(list(norm[keep].astype(np.float32)), type=emb_type)}),
        root / "embeddings.parquet")  # fmt: skip
    return written
