"""Jobs: embed one cache shard with one backbone; merge a backbone's shards."""

from __future__ import annotations

import json
import logging

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from audiorec import backbones, devices, failures
from audiorec.audio.cache import shard_sample_rate
from audiorec.embeddings.extract import extract_shard
from audiorec.embeddings.store import META_KEY, read_metadata, write_embeddings

log = logging.getLogger(__name__)


def run(
    cache_path: str,
    cache_failures: str,
    name: str,
    spec: dict,
    output: str,
    failures_path: str,
) -> None:
    cls = backbones.get(spec["type"])
    model = cls(
        spec["params"], device=devices.resolve(spec["device"]), batch_size=spec["batch_size"]
    )
    rate = shard_sample_rate(cache_path)
    if rate != model.sample_rate:
        raise ValueError(
            f"{cache_path} holds {rate} Hz audio but {name} needs {model.sample_rate} Hz"
        )
    try:
        result = extract_shard(model, cache_path, spec.get("workers", 0))
    finally:
        model.close()
    meta = {
        "backbone": name,
        "type": spec["type"],
        "sample_rate": model.sample_rate,
        "params": spec["params"],
        **model.describe(),
    }
    write_embeddings(output, result.ids, result.vectors, meta, result.layers)
    prior = failures.read(cache_failures)
    failures.write(failures_path, failures.frame(prior.to_dict("records") + result.failures))


def merge(shards: list[str], shard_failures: list[str], output: str, failures_path: str) -> None:
    """One file per backbone, rows sorted by track id, metadata of the shards."""
    tables = [pq.read_table(p) for p in shards]
    metas = [read_metadata(p) for p in shards]
    for p, m in zip(shards[1:], metas[1:], strict=True):
        same = {k: v for k, v in m.items() if k != "n_tracks"}
        first = {k: v for k, v in metas[0].items() if k != "n_tracks"}
        if same != first:
            raise ValueError(
                f"{p} was made with other settings than {shards[0]}; re-run its extraction"
            )
    table = pa.concat_tables([t.replace_schema_metadata(None) for t in tables])
    table = table.take(
        pa.array(np.argsort(np.asarray(table["track_id"].to_pylist(), dtype=object), kind="stable"))
    )
    meta = {**metas[0], "n_tracks": table.num_rows}
    dup = table["track_id"].to_pandas().duplicated()
    if dup.any():
        raise ValueError(
            f"track ids in more than one shard, e.g. {table['track_id'][int(dup.idxmax())]}"
        )
    pq.write_table(
        table.replace_schema_metadata({META_KEY: json.dumps(meta, sort_keys=True)}), output
    )
    fails = failures.concat(shard_failures)
    failures.write(failures_path, fails)
    log.info("%s: %d tracks embedded, %d failed", output, table.num_rows, len(fails))
