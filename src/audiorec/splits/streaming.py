"""The study's global time split on DuckDB, over the converted log, in bounded memory.

The same split as ``GlobalTimeSplitter`` (which works on a frame in memory
and is the reference the tests compare against, row for row): events in
[start, end) of tracks in the catalogue; one aggregation over (user, track)
gives each pair's first listen, its plays before the test date and in all;
train pairs are those first heard before the test date (counted over
pre-test events), test pairs those first heard on or after it, restricted to
users and tracks of train; the sorted test users go to validation and test
by scikit-learn's ``train_test_split``. ``order`` ranks a user's pairs by
first listen, ties by item id or by file row, over all the user's pairs, as
``collapse_pairs`` does. Rows come in the in-memory splitter's order too:
by each user's, then each track's first row in the log file (their codes in
the converted log), so that models whose validation draws follow row order
see the same split. Everything is grouped and joined on the integer codes;
ids come back from the code tables only for the rows written.

DuckDB streams the Parquet file and spills its hash tables to
``temp_directory`` beyond ``memory_mb``, so peak memory is set by that key,
not by the log's size.
"""

from __future__ import annotations

import logging
import tempfile

import numpy as np
import pandas as pd

from audiorec.data.log_parquet import TRACK_CODE, USER_CODE, dictionary_paths
from audiorec.splits.base import (
    COUNT,
    ITEM,
    ORDER,
    TIME,
    USER,
    Split,
    check_ties,
    validation_users,
)

log = logging.getLogger(__name__)


def connect(memory_mb: int, threads: int, temp_directory: str):
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{int(memory_mb)}MB'")
    con.execute(f"SET threads = {int(threads)}")
    con.execute(f"SET temp_directory = '{temp_directory}'")
    con.execute("SET preserve_insertion_order = false")
    return con


def _literal(value) -> str:
    return f"TIMESTAMP '{pd.Timestamp(value).isoformat(sep=' ')}'"


def _path(value) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def end_of(end_date):
    """The split's end: `end_date`, or without one the moment the split runs, so that a
    timestamp in the future (a clock error) is dropped and counted, not made a test pair."""
    return pd.Timestamp(end_date) if end_date else pd.Timestamp.now().floor("s")


def global_time_split(
    log_path: str,
    catalogue_path: str | None,
    test_date,
    start_date=None,
    end_date=None,
    val_fraction: float = 0.5,
    **options,
) -> tuple[Split | None, dict]:
    """The study's split (``GlobalTimeSplitter``) on DuckDB: parts train, val, test.

    `options`: see `_split`. Returns (the split, counts): with `outputs`
    ({part: path}) the parts go straight to Parquet and no split is returned;
    counts hold the events read, unknown tracks and each part's size.
    """
    return _split(
        "global_time",
        log_path,
        catalogue_path,
        (start_date, test_date, end_date),
        val_fraction,
        **options,
    )


def hot_cold_split(
    log_path: str,
    catalogue_path: str | None,
    test_date,
    train_years: int = 1,
    test_months: int = 1,
    val_fraction: float = 0.3,
    **options,
) -> tuple[Split | None, dict]:
    """The journal's split (``HotColdSplitter``) on DuckDB: parts train, val, test (hot), cold.

    `options` and what it returns: as `global_time_split`.
    """
    from audiorec.splits.hot_cold import window

    return _split(
        "hot_cold",
        log_path,
        catalogue_path,
        window(test_date, train_years, test_months),
        val_fraction,
        **options,
    )


def _split(
    method: str,
    log_path: str,
    catalogue_path: str | None,
    dates: tuple,
    val_fraction: float,
    *,
    seed: int = 42,
    ties: str = "item",
    memory_mb: int = 2000,
    threads: int = 1,
    unknown_tracks: str = "drop",
    outputs: dict | None = None,
) -> tuple[Split | None, dict]:
    """`dates`: (start or None, test date, end or None). `seed` draws the validation users;
    `ties` orders a user's same-instant pairs (item id or file row); `memory_mb` and
    `threads` bound DuckDB; `unknown_tracks` (drop or error) says what happens to events
    of tracks outside the catalogue."""
    start_date, test_date, end_date = dates[:3]
    end_date = end_of(end_date)
    check_ties(ties)
    with tempfile.TemporaryDirectory(prefix="audiorec-split-") as tmp:
        con = connect(memory_mb, threads, tmp)
        _dictionaries(con, log_path)
        counts = _events(con, log_path, catalogue_path, start_date, end_date, unknown_tracks, ties)
        test = _literal(test_date)
        # yambda: train ends before the gaps and the validation window; others at the test date
        train_end = _literal(dates[3]) if method == "yambda" else test
        _pairs(con, train_end, ties)
        if not con.execute("SELECT count(*) FROM ranked WHERE is_train").fetchone()[0]:
            raise ValueError(
                f"no events between the start date and the test date {pd.Timestamp(test_date).date()}"
            )
        _held_out(con, hot_only=method == "global_time")
        if method == "yambda":
            return _yambda_parts(con, dates, counts, outputs)
        # users the validation part may take: every held-out user, or (hot_cold) the hot
        # users without a cold pair
        pool = (
            "SELECT DISTINCT u FROM heard"
            if method == "global_time"
            else "SELECT DISTINCT u FROM heard WHERE hot AND u NOT IN "
            "(SELECT u FROM heard WHERE NOT hot)"
        )
        users = np.sort(
            np.asarray(
                [
                    r[0]
                    for r in con.execute(
                        f"SELECT {USER} FROM ({pool}) JOIN users USING (u)"
                    ).fetchall()
                ],
                dtype=object,
            )
        )
        if len(users) < 2:
            raise ValueError(f"{len(users)} user(s) to divide into validation and test: too few")
        val_users = validation_users(users, val_fraction, seed)
        con.register("chosen", pd.DataFrame({USER: val_users}))
        con.execute(
            "CREATE TEMP TABLE val_users AS SELECT u FROM chosen JOIN users USING (user_id)"
        )
        parts = {
            "train": "SELECT * FROM train",
            "val": "SELECT * FROM heard WHERE hot AND u IN (SELECT u FROM val_users)",
            "test": "SELECT * FROM heard WHERE hot AND u NOT IN (SELECT u FROM val_users)",
        }
        if method == "hot_cold":
            parts["cold"] = "SELECT * FROM heard WHERE NOT hot"
        sizes, frames = _write_parts(con, parts, outputs)
        con.close()
    log.info(
        "%s split at %s: %s pairs, %d validation users",
        method,
        pd.Timestamp(test_date).date(),
        ", ".join(f"{k} {v['pairs']}" for k, v in sizes.items()),
        len(val_users),
    )
    counts["sizes"] = sizes
    split = None
    if outputs is None:
        split = Split(frames["train"], frames["val"], frames["test"], frames.get("cold"))
    return split, counts


def _write_parts(con, parts: dict, outputs: dict | None) -> tuple[dict, dict]:
    """Each part (a query over codes) with ids, as Parquet files or frames; and its sizes."""
    columns = f'{USER}, {ITEM}, t::TIMESTAMP_NS AS {TIME}, c AS "{COUNT}", rank AS "{ORDER}"'
    sizes, frames = {}, {}
    for name, query in parts.items():
        # rows in order of each user's, then each track's first row in the log: the codes
        ordered = (
            f"SELECT {columns} FROM ({query}) JOIN users USING (u) JOIN tracks USING (i) "
            "ORDER BY u, i"
        )
        sizes[name] = _sizes(con, query)
        if outputs is not None:
            con.execute(f"COPY ({ordered}) TO {_path(outputs[name])} (FORMAT parquet)")
        else:
            frames[name] = _typed(con.execute(ordered).df())
    return sizes, frames


def _yambda_parts(con, dates: tuple, counts: dict, outputs: dict | None):
    """Yambda's windows: train before `train_end`; validation the new pairs of train users
    first heard in [val_start, val_end), hot ones; test those first heard from the test
    timestamp, hot, and cold (their track not in train); pairs first heard in a gap dropped."""
    test, val_start, val_end = (_literal(d) for d in (dates[1], dates[4], dates[5]))
    parts = {
        "train": "SELECT * FROM train",
        "val": f"SELECT * FROM heard WHERE hot AND t >= {val_start} AND t < {val_end}",
        "test": f"SELECT * FROM heard WHERE hot AND t >= {test}",
        "cold": f"SELECT * FROM heard WHERE NOT hot AND t >= {test}",
    }
    sizes, frames = _write_parts(con, parts, outputs)
    con.close()
    if not sizes["test"]["pairs"]:
        raise ValueError(f"no new pairs of train users from the test timestamp {dates[1]}")
    log.info(
        "yambda split at %s: %s",
        dates[1],
        ", ".join(f"{k} {v['pairs']} pairs" for k, v in sizes.items()),
    )
    counts["sizes"] = sizes
    split = None
    if outputs is None:
        split = Split(frames["train"], frames["val"], frames["test"], frames["cold"])
    return split, counts


def yambda_split(
    log_path: str,
    catalogue_path: str | None,
    test_timestamp: int,
    gap_seconds: int,
    val_seconds: int,
    **options,
) -> tuple[Split | None, dict]:
    """Yambda's global temporal split (its benchmark's ``flat_split_train_val_test``) on the
    converted log, whose instants are Yambda's seconds from 1970-01-01: the test window
    from `test_timestamp`, a gap, a validation window of `val_seconds`, a gap, and train
    before it. As the study counts a test pair, a pair is held out where it was first
    heard; a pair first heard in a gap belongs to no part. `options`: see `_split` (its
    validation share is unused: validation is a time window)."""
    second = pd.Timedelta(seconds=1)
    epoch = pd.Timestamp(0)
    test = epoch + test_timestamp * second
    val_end = test - gap_seconds * second
    val_start = val_end - val_seconds * second
    train_end = val_start - gap_seconds * second
    dates = (None, test, None, train_end, val_start, val_end)
    options.pop("val_fraction", None)
    return _split("yambda", log_path, catalogue_path, dates, 0.5, **options)


def _sizes(con, query: str) -> dict:
    """A part's pairs, users, items, plays, and tracks and plays per user (median, min, max)."""
    row = con.execute(
        f"""
        WITH part AS ({query}),
             per_user AS (SELECT u, count(*) AS n, sum(c) AS p FROM part GROUP BY 1)
        SELECT (SELECT count(*) FROM part), (SELECT count(*) FROM per_user),
               (SELECT count(DISTINCT i) FROM part),
               (SELECT coalesce(sum(c), 0) FROM part),
               median(n), min(n), max(n), median(p), min(p), max(p)
        FROM per_user
        """
    ).fetchone()
    keys = ["pairs", "users", "items", "plays"] + [
        f"{what}_per_user_{stat}"
        for what in ("tracks", "plays")
        for stat in ("median", "min", "max")
    ]
    return {k: round(float(v)) if v is not None else 0 for k, v in zip(keys, row, strict=True)}


def _dictionaries(con, log_path) -> None:
    """Tables `users` (u, user_id) and `tracks` (i, track_id, and i_sorted: the track's
    place among all track ids in sort order, for item ties)."""
    user_file, track_file = dictionary_paths(log_path)
    con.execute(
        f"CREATE TEMP TABLE users AS SELECT {USER_CODE} AS u, {USER} "
        f"FROM read_parquet({_path(user_file)})"
    )
    con.execute(
        f"CREATE TEMP TABLE tracks AS SELECT {TRACK_CODE} AS i, {ITEM}, "
        f"row_number() OVER (ORDER BY {ITEM}) AS i_sorted FROM read_parquet({_path(track_file)})"
    )


def _events(con, log_path, catalogue_path, start_date, end_date, unknown_tracks, ties) -> dict:
    """The view `events`: in-range events of catalogue tracks; counts of what was read,
    and of the events before the start and at or after the end that were dropped."""
    where = [f"timestamp < {_literal(end_date)}"] if end_date else []
    if start_date:
        where.append(f"timestamp >= {_literal(start_date)}")
    early = f"timestamp < {_literal(start_date)}" if start_date else "false"
    late = f"timestamp >= {_literal(end_date)}" if end_date else "false"
    out_of_window = con.execute(
        f"SELECT count(*) FILTER (WHERE {early}), count(*) FILTER (WHERE {late}) "
        f"FROM read_parquet({_path(log_path)})"
    ).fetchone()
    # a pair's first row in the file, for ties: file (Parquet rows are the file's rows)
    row = ", file_row_number AS r" if ties == "file" else ""
    numbered = ", file_row_number = true" if ties == "file" else ""
    con.execute(
        f"CREATE TEMP VIEW ranged AS SELECT {USER_CODE} AS u, {TRACK_CODE} AS i, timestamp AS t"
        f"{row} FROM read_parquet({_path(log_path)}{numbered}) "
        f"{'WHERE ' + ' AND '.join(where) if where else ''}"
    )
    counts = {"events": con.execute("SELECT count(*) FROM ranged").fetchone()[0]}
    counts.update(before_start=out_of_window[0], after_end=out_of_window[1])
    if not catalogue_path:
        counts.update(unknown_events=0, unknown_tracks=0)
        con.execute("CREATE TEMP VIEW events AS SELECT * FROM ranged")
        return counts
    con.execute(
        f"CREATE TEMP TABLE catalogue AS SELECT i FROM tracks WHERE {ITEM} IN "
        f"(SELECT track_id FROM read_parquet({_path(catalogue_path)}))"
    )
    unknown = con.execute(
        "SELECT count(*), count(DISTINCT i) FROM ranged ANTI JOIN catalogue USING (i)"
    ).fetchone()
    counts.update(unknown_events=unknown[0], unknown_tracks=unknown[1])
    if unknown[0] and unknown_tracks == "error":
        examples = [
            r[0]
            for r in con.execute(
                f"SELECT {ITEM} FROM tracks WHERE i IN "
                "(SELECT i FROM ranged ANTI JOIN catalogue USING (i)) ORDER BY 1 LIMIT 5"
            ).fetchall()
        ]
        from audiorec.data.readers import DataError

        raise DataError(
            f"{log_path}: {unknown[0]} events of {unknown[1]} tracks not in the catalogue "
            f"(e.g. {', '.join(examples)}); set dataset.unknown_tracks: drop to skip them"
        )
    con.execute("CREATE TEMP VIEW events AS SELECT * FROM ranged SEMI JOIN catalogue USING (i)")
    return counts


def _pairs(con, test: str, ties: str) -> None:
    """Table `ranked`: every pair with first listen, plays before the test date and in all,
    and its place in its user's sequence."""
    # the file row of a pair's first event, for ties: file (the smallest row among its
    # earliest events); item ties need no such column
    first_row = ", min(struct_pack(t := t, r := r)).r AS first_row" if ties == "file" else ""
    con.execute(
        f"""
        CREATE TEMP TABLE pairs AS
        SELECT u, i, min(t) AS t,
               count(*) FILTER (WHERE t < {test}) AS c_before,
               count(*) AS c_all {first_row}
        FROM events GROUP BY u, i
        """
    )
    # a pair's place among all its user's pairs: train pairs come first (they were first
    # heard before the test date), so it is also a train pair's place among train pairs
    tie = "i_sorted" if ties == "item" else "first_row"
    join = "JOIN tracks USING (i)" if ties == "item" else ""
    con.execute(
        f"""
        CREATE TEMP TABLE ranked AS
        SELECT u, i, t, c_before, c_all, t < {test} AS is_train,
               row_number() OVER (PARTITION BY u ORDER BY t, {tie}) - 1 AS rank
        FROM pairs {join}
        """
    )


def _held_out(con, hot_only: bool) -> None:
    """Tables `train` and `heard` (test-period pairs of train users, `hot` when their track
    occurs in train; only hot ones when `hot_only`), in codes: u, i, t, c (plays), rank."""
    con.execute(
        "CREATE TEMP TABLE train AS SELECT u, i, t, c_before AS c, rank FROM ranked WHERE is_train"
    )
    con.execute(
        """
        CREATE TEMP TABLE heard AS
        SELECT u, i, t, c_all AS c, rank, i IN (SELECT DISTINCT i FROM train) AS hot
        FROM ranked
        WHERE NOT is_train AND u IN (SELECT DISTINCT u FROM train)
        """
    )
    if hot_only:
        con.execute("DELETE FROM heard WHERE NOT hot")


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    """The dtypes the in-memory splitter gives: string ids, ns timestamps, int64 counts."""
    return df.astype({USER: str, ITEM: str, TIME: "datetime64[ns]", COUNT: "int64", ORDER: "int64"})
