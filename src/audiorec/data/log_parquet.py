"""The listening log, converted once into Parquet that the split and the catalogue read.

Music4All-Onion's log is a 253-million-row bz2-compressed TSV. Decompressing
and parsing it is most of the cost of reading it, so it is done once, block
by block in bounded memory, with bz2 decompressed in parallel. Ids are
replaced by integer codes numbered in order of first appearance in the file,
so that every later pass groups and joins integers, and a user's (or
track's) code is also the order of its first row, which the split's row
order follows. Three files come out:

- ``log.parquet``: ``user`` and ``track`` (int32 codes) and ``timestamp``
  (validated, with the file and line of any bad row), one row per event in
  file order (so a reader's row number is the event's row in the file),
  zstd-compressed in row groups of about a million events whose min/max
  statistics let a date filter skip groups;
- ``log_users.parquet`` and ``log_tracks.parquet``: each code and its id.
"""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from audiorec.data.readers import (
    ITEM,
    TIME,
    USER,
    DataError,
    _check_ids,
    _parse_times,
    log_columns,
    raw_batches,
)

log = logging.getLogger(__name__)

USER_CODE, TRACK_CODE = "user", "track"
SCHEMA = pa.schema([(USER_CODE, pa.int32()), (TRACK_CODE, pa.int32()), (TIME, pa.timestamp("ns"))])


def dictionary_paths(path: str | Path) -> tuple[Path, Path]:
    """The users' and the tracks' code tables that belong to the converted log `path`."""
    path = Path(path)
    stem = path.name.removesuffix(".parquet")
    return path.with_name(f"{stem}_users.parquet"), path.with_name(f"{stem}_tracks.parquet")


class _Codes:
    """Integer codes for ids, numbered in order of first appearance across batches."""

    def __init__(self) -> None:
        self.known = pa.array([], pa.string())

    def encode(self, column: pa.Array) -> pa.Array:
        encoded = pc.dictionary_encode(column.cast(pa.string()))
        local = encoded.dictionary  # the batch's distinct ids in order of first appearance
        found = pc.index_in(local, value_set=self.known)
        unseen = pc.is_null(found)
        mapping = found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32)
        new = np.flatnonzero(unseen.to_numpy(zero_copy_only=False))
        if new.size:
            mapping[new] = len(self.known) + np.arange(new.size, dtype=np.int32)
            self.known = pa.concat_arrays([self.known, local.filter(unseen)])
        return pa.array(mapping[encoded.indices.to_numpy(zero_copy_only=False)], pa.int32())

    def table(self, code: str, name: str) -> pa.Table:
        return pa.table(
            {code: pa.array(np.arange(len(self.known), dtype=np.int32)), name: self.known}
        )


def _times(column: pa.Array, path: Path, line: int) -> pa.Array:
    """Timestamps: Arrow's ISO 8601 cast when it takes the whole block, else the checked parser."""
    if pa.types.is_string(column.type) and not column.null_count:
        try:
            return column.cast(pa.timestamp("ns"))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    return _parse_times(column, path, line)


def convert(
    source: str | Path,
    output: str | Path,
    columns: dict[str, str] | None = None,
    separator: str | None = None,
    threads: int = 1,
) -> dict:
    """Write `source` (TSV, CSV, their .bz2, or Parquet) to `output` and its code tables.

    Returns the counts of events, users and tracks. Every file is written
    under a temporary name and renamed when complete.
    """
    source, output = Path(source), Path(output)
    cols = log_columns(columns)
    users, tracks = _Codes(), _Codes()
    targets = [output, *dictionary_paths(output)]
    tmp = [p.with_name(p.name + ".tmp") for p in targets]
    started, rows, last = time.perf_counter(), 0, time.perf_counter()

    def encode(batch: pa.RecordBatch, line: int, previous: Future | None) -> Future:
        """Encode a block, then queue its writing behind the previous block's."""
        user, item = batch.column(cols["user"]), batch.column(cols["item"])
        _check_ids(user, cols["user"], source, line)
        _check_ids(item, cols["item"], source, line)
        arrays = [
            users.encode(user),
            tracks.encode(item),
            _times(batch.column(cols["timestamp"]), source, line),
        ]
        if previous is not None:
            previous.result()
        return writing.submit(writer.write_table, pa.Table.from_arrays(arrays, schema=SCHEMA))

    try:
        # a pipeline in file order: block k+1 is parsed while k is encoded and k-1 written
        with (
            pq.ParquetWriter(tmp[0], SCHEMA, compression="zstd", use_dictionary=False) as writer,
            ThreadPoolExecutor(1) as encoding,
            ThreadPoolExecutor(1) as writing,
        ):
            pending = None
            for batch, line in raw_batches(source, cols, separator, threads):
                written = pending.result() if pending is not None else None
                pending = encoding.submit(encode, batch, line, written)
                rows += batch.num_rows
                if time.perf_counter() - last > 30:
                    last = time.perf_counter()
                    rate = rows / (last - started)
                    log.info(
                        "%s: %.1f M events converted, %.2f M/s", source, rows / 1e6, rate / 1e6
                    )
            if pending is not None:
                pending.result().result()
        if rows == 0:
            raise DataError(
                f"{source}: the listening log has no events (a header at most); "
                "check dataset.listening_log and dataset.columns"
            )
        pq.write_table(users.table(USER_CODE, USER), tmp[1])
        pq.write_table(tracks.table(TRACK_CODE, ITEM), tmp[2])
    except BaseException:
        for p in tmp:
            p.unlink(missing_ok=True)
        raise
    for t, p in zip(tmp, targets, strict=True):
        os.replace(t, p)
    seconds = time.perf_counter() - started
    counts = {"events": rows, "users": len(users.known), "tracks": len(tracks.known)}
    log.info("%s: %s to %s in %.1f s", source, counts, output, seconds)
    return counts | {"seconds": seconds}


def tracks(path: str | Path) -> list[str]:
    """Every track id of the converted log `path`."""
    return pq.read_table(dictionary_paths(path)[1], columns=[ITEM]).column(0).to_pylist()


def read(path: str | Path) -> pd.DataFrame:
    """The converted log as (user_id, track_id, timestamp) in file order.

    Ids are categoricals whose categories come in order of first appearance,
    as ``readers.read_log`` gives them for the raw log.
    """
    user_file, track_file = dictionary_paths(path)
    events = pq.read_table(path)
    user_ids = pq.read_table(user_file).column(USER).to_numpy(zero_copy_only=False)
    track_ids = pq.read_table(track_file).column(ITEM).to_numpy(zero_copy_only=False)
    return pd.DataFrame(
        {
            USER: pd.Categorical.from_codes(events.column(USER_CODE).to_numpy(), user_ids),
            ITEM: pd.Categorical.from_codes(events.column(TRACK_CODE).to_numpy(), track_ids),
            TIME: events.column(TIME).to_numpy(),
        }
    )
