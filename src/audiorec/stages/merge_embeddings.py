"""Job: a backbone's shards in one file, sorted by track id, written shard by shard.

Shards cover contiguous runs of the sorted catalogue, so sorting each one and
writing them in order sorts the whole file while memory holds one shard,
whatever the number of tracks, layers and dimensions.
"""

from __future__ import annotations

import itertools
import json
import logging
import os

import pyarrow.compute as pc
import pyarrow.parquet as pq

from audiorec import failures
from audiorec.embeddings.store import META_KEY, read_metadata

log = logging.getLogger(__name__)


def run(shards: list[str], shard_failures: list[str], output: str, failures_path: str) -> None:
    metas = [read_metadata(p) for p in shards]
    first = {k: v for k, v in metas[0].items() if k != "n_tracks"}
    for p, m in zip(shards[1:], metas[1:], strict=True):
        if {k: v for k, v in m.items() if k != "n_tracks"} != first:
            raise ValueError(
                f"{p} was made with other settings than {shards[0]}; re-run its extraction"
            )
    schema = pq.read_schema(shards[0]).remove_metadata()
    n_rows = sum(m["n_tracks"] for m in metas)
    meta = {**metas[0], "n_tracks": n_rows}
    schema = schema.with_metadata({META_KEY: json.dumps(meta, sort_keys=True)})
    last = None
    tmp = f"{output}.tmp"
    with pq.ParquetWriter(tmp, schema) as writer:
        for path in shards:
            table = pq.read_table(path).replace_schema_metadata(schema.metadata)
            if not table.num_rows:
                continue
            table = table.take(pc.sort_indices(table["track_id"]))
            ids = table["track_id"].to_pylist()
            repeated = [a for a, b in itertools.pairwise(ids) if a == b]
            if repeated or (last is not None and ids[0] <= last):
                example = repeated[0] if repeated else ids[0]
                raise ValueError(
                    f"{path}: track {example} is repeated or out of the shards' order; "
                    "re-run the extraction of this backbone"
                )
            last = ids[-1]
            writer.write_table(table)
    os.replace(tmp, output)
    fails = failures.concat(shard_failures)
    failures.write(failures_path, fails)
    log.info("%s: %d tracks embedded, %d failed", output, n_rows, len(fails))
