"""Job: embed one or more audio-cache shards with one backbone.

The model is loaded before any track is read, with the model hub offline (the
``fetch_weights`` job fetched the weights): missing weights, an absent layer
or impossible settings fail the job once, with one message.
"""

from __future__ import annotations

import logging
import os

from audiorec import backbones, devices, failures
from audiorec.audio.cache import shard_sample_rate
from audiorec.embeddings.driver import extract_shard
from audiorec.embeddings.store import write_embeddings

log = logging.getLogger(__name__)


def run(
    cache_paths: list[str],
    cache_failures: list[str],
    name: str,
    spec: dict,
    output: str,
    failures_path: str,
    workers: int = 0,
    max_failed_share: float = 1.0,
) -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    cls = backbones.get(spec["type"])
    device = devices.resolve(spec["device"]) if cls.uses_torch else "cpu"
    model = cls(spec["params"], device=device, batch_size=spec["batch_size"])
    for path in cache_paths:
        rate = shard_sample_rate(path)
        if rate != model.sample_rate:
            raise ValueError(
                f"{path} holds {rate} Hz audio but {name} needs {model.sample_rate} Hz"
            )
    model.ready()
    try:
        result = extract_shard(model, cache_paths, workers)
    finally:
        model.close()
    meta = {
        "backbone": name,
        "type": spec["type"],
        "sample_rate": model.sample_rate,
        "params": spec["params"],
        **model.describe(),
    }
    tried = len(result.ids) + len(result.failures)
    failures.check_share(result.failures, tried, max_failed_share, f"{name} extraction")
    write_embeddings(output, result.ids, result.vectors, meta, result.layers)
    prior = failures.concat(cache_failures)
    failures.write(failures_path, failures.frame(prior.to_dict("records") + result.failures))
