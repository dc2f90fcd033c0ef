"""The listening log, converted once into Parquet that the split and the catalogue read.

Music4All-Onion's log is a 253-million-row bz2-compressed TSV. Decompressing
and parsing it is most of the cost of reading it, so it is done once, block
by block in bounded memory, with bz2 decompressed in parallel: the result
holds ``user_id``, ``track_id``, ``timestamp`` (validated, with the file and
line of any bad row) and ``row`` (the event's place in the file, which the
``ties: file`` rule needs), zstd-compressed in row groups of about a million
events, each with min/max statistics that let a date filter skip groups.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from audiorec.data.readers import DataError, iter_log

log = logging.getLogger(__name__)

SCHEMA = pa.schema(
    [
        ("user_id", pa.string()),
        ("track_id", pa.string()),
        ("timestamp", pa.timestamp("ns")),
        ("row", pa.int64()),
    ]
)


def convert(
    source: str | Path,
    output: str | Path,
    columns: dict[str, str] | None = None,
    separator: str | None = None,
    threads: int = 1,
) -> dict:
    """Write `source` (TSV, CSV, their .bz2, or Parquet) to `output`; returns counts."""
    output = Path(output)
    tmp = output.with_name(output.name + ".tmp")
    started, rows, last = time.perf_counter(), 0, time.perf_counter()
    with pq.ParquetWriter(tmp, SCHEMA, compression="zstd") as writer:
        for batch in iter_log(
            source, columns, separator=separator, threads=threads, with_rows=True
        ):
            table = pa.Table.from_batches([batch]).cast(SCHEMA)
            writer.write_table(table, row_group_size=1 << 20)
            rows += table.num_rows
            if time.perf_counter() - last > 30:
                last = time.perf_counter()
                rate = rows / (last - started)
                log.info("%s: %.1f M events converted, %.2f M/s", source, rows / 1e6, rate / 1e6)
    if rows == 0:
        tmp.unlink()
        raise DataError(
            f"{source}: the listening log has no events (a header at most); "
            "check dataset.listening_log and dataset.columns"
        )
    os.replace(tmp, output)
    seconds = time.perf_counter() - started
    log.info("%s: %d events to %s in %.1f s", source, rows, output, seconds)
    return {"events": rows, "seconds": seconds}
