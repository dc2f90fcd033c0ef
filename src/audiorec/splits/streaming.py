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
by each user's, then each track's first row in the log file, so that models
whose validation draws follow row order see the same split.

DuckDB streams the Parquet file and spills its hash tables to
``temp_directory`` beyond ``memory_mb``, so peak memory is set by that key,
not by the log's size.
"""

from __future__ import annotations

import logging
import tempfile

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from audiorec.splits.base import COUNT, ITEM, ORDER, TIME, USER, Split, check_ties

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


def global_time_split(
    log_path: str,
    catalogue_path: str | None,
    test_date,
    start_date=None,
    end_date=None,
    val_fraction: float = 0.5,
    seed: int = 42,
    ties: str = "item",
    memory_mb: int = 2000,
    threads: int = 1,
    unknown_tracks: str = "drop",
    outputs: dict | None = None,
) -> tuple[Split | None, dict]:
    """(the split, counts): with `outputs` ({train, val, test}: paths) the parts go straight
    to Parquet and no split is returned; counts hold the events read, unknown tracks
    and each part's size."""
    check_ties(ties)
    frames: dict[str, pd.DataFrame] = {}
    with tempfile.TemporaryDirectory(prefix="audiorec-split-") as tmp:
        con = connect(memory_mb, threads, tmp)
        where = [f"timestamp < {_literal(end_date)}"] if end_date else []
        if start_date:
            where.append(f"timestamp >= {_literal(start_date)}")
        con.execute(
            "CREATE TEMP VIEW ranged AS SELECT user_id AS u, track_id AS i, timestamp AS t, row AS r "
            f"FROM read_parquet({_path(log_path)}) {'WHERE ' + ' AND '.join(where) if where else ''}"
        )
        counts = {"events": con.execute("SELECT count(*) FROM ranged").fetchone()[0]}
        if catalogue_path:
            con.execute(
                "CREATE TEMP TABLE catalogue AS SELECT DISTINCT track_id AS i "
                f"FROM read_parquet({_path(catalogue_path)})"
            )
            unknown = con.execute(
                "SELECT count(*), count(DISTINCT i) FROM ranged ANTI JOIN catalogue USING (i)"
            ).fetchone()
            counts.update(unknown_events=unknown[0], unknown_tracks=unknown[1])
            if unknown[0] and unknown_tracks == "error":
                examples = [
                    r[0]
                    for r in con.execute(
                        "SELECT DISTINCT i FROM ranged ANTI JOIN catalogue USING (i) LIMIT 5"
                    ).fetchall()
                ]
                from audiorec.data.readers import DataError

                raise DataError(
                    f"{log_path}: {unknown[0]} events of {unknown[1]} tracks not in the catalogue "
                    f"(e.g. {', '.join(examples)}); set dataset.unknown_tracks: drop to skip them"
                )
            con.execute(
                "CREATE TEMP VIEW events AS SELECT * FROM ranged SEMI JOIN catalogue USING (i)"
            )
        else:
            counts.update(unknown_events=0, unknown_tracks=0)
            con.execute("CREATE TEMP VIEW events AS SELECT * FROM ranged")
        for key, col in (("u", "user_id"), ("i", "track_id")):
            con.execute(
                f"CREATE TEMP TABLE first_{key} AS SELECT {col} AS {key}, min(row) AS first_{key} "
                f"FROM read_parquet({_path(log_path)}) GROUP BY {col}"
            )
        test = _literal(test_date)
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
        tie = "i" if ties == "item" else "first_row"
        con.execute(
            f"""
            CREATE TEMP TABLE ranked AS
            SELECT u, i, t, c_before, c_all, t < {test} AS is_train,
                   row_number() OVER (PARTITION BY u ORDER BY t, {tie}) - 1 AS rank
            FROM pairs
            """
        )
        if not con.execute("SELECT count(*) FROM ranked WHERE is_train").fetchone()[0]:
            raise ValueError(
                f"no events between the start date and the test date {pd.Timestamp(test_date).date()}"
            )
        con.execute(
            f"""
            CREATE TEMP TABLE train AS
            SELECT u AS {USER}, i AS {ITEM}, t::TIMESTAMP_NS AS {TIME}, c_before AS "{COUNT}",
                   rank AS "{ORDER}", first_u, first_i
            FROM ranked JOIN first_u USING (u) JOIN first_i USING (i)
            WHERE is_train
            """
        )
        con.execute(
            f"""
            CREATE TEMP TABLE heard AS
            SELECT u AS {USER}, i AS {ITEM}, t::TIMESTAMP_NS AS {TIME}, c_all AS "{COUNT}",
                   rank AS "{ORDER}", first_u, first_i
            FROM ranked JOIN first_u USING (u) JOIN first_i USING (i)
            WHERE NOT is_train
              AND u IN (SELECT DISTINCT u FROM ranked WHERE is_train)
              AND i IN (SELECT DISTINCT i FROM ranked WHERE is_train)
            """
        )
        users = np.sort(
            np.asarray(
                [r[0] for r in con.execute(f"SELECT DISTINCT {USER} FROM heard").fetchall()],
                dtype=object,
            )
        )
        if len(users) < 2:
            raise ValueError(
                f"{len(users)} test-period user(s): too few to divide into validation and test"
            )
        val_users, test_users = train_test_split(
            users, test_size=1 - val_fraction, random_state=seed
        )
        chosen = pd.DataFrame({"u": val_users})  # noqa: F841 - DuckDB reads it by name
        con.execute(f"CREATE TEMP TABLE val_users AS SELECT u AS {USER} FROM chosen")
        parts = {
            "train": "SELECT * FROM train",
            "val": f"SELECT * FROM heard SEMI JOIN val_users USING ({USER})",
            "test": f"SELECT * FROM heard ANTI JOIN val_users USING ({USER})",
        }
        columns = f'{USER}, {ITEM}, {TIME}, "{COUNT}", "{ORDER}"'
        sizes = {}
        for name, query in parts.items():
            ordered = f"SELECT {columns} FROM ({query}) ORDER BY first_u, first_i"
            sizes[name] = (
                con.execute(
                    f"""SELECT count(*) AS pairs, count(DISTINCT {USER}) AS users,
                           count(DISTINCT {ITEM}) AS items, coalesce(sum("{COUNT}"), 0) AS plays
                    FROM ({query})"""
                )
                .df()
                .iloc[0]
                .astype(int)
                .to_dict()
            )
            if outputs is not None:
                con.execute(f"COPY ({ordered}) TO {_path(outputs[name])} (FORMAT parquet)")
            else:
                frames[name] = _typed(con.execute(ordered).df())
        con.close()
    log.info(
        "global time split at %s: %d train pairs, %d validation users, %d test users",
        pd.Timestamp(test_date).date(),
        sizes["train"]["pairs"],
        len(val_users),
        len(test_users),
    )
    counts["sizes"] = sizes
    split = Split(frames["train"], frames["val"], frames["test"]) if outputs is None else None
    return split, counts


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    """The dtypes the in-memory splitter gives: string ids, ns timestamps, int64 counts."""
    return df.astype({USER: str, ITEM: str, TIME: "datetime64[ns]", COUNT: "int64", ORDER: "int64"})
