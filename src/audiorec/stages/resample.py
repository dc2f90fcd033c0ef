"""Job: decode one shard of the catalogue once, mono, at one sample rate, into the cache."""

from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd

from audiorec import failures
from audiorec.audio.cache import ShardWriter
from audiorec.audio.decode import AudioError, decode

log = logging.getLogger(__name__)


def shard_of(catalogue: pd.DataFrame, shard: int, n_shards: int) -> pd.DataFrame:
    """A contiguous run of the catalogue (sorted by track id), shards differing by one track at most.

    Contiguous, so that concatenating shards in order keeps tracks sorted.
    """
    if not 0 <= shard < n_shards:
        raise ValueError(f"shard {shard} outside 0..{n_shards - 1}")
    bounds = np.linspace(0, len(catalogue), n_shards + 1).round().astype(int)
    return catalogue.iloc[bounds[shard] : bounds[shard + 1]]


def run(
    catalogue_path: str,
    output: str,
    failures_path: str,
    sample_rate: int,
    shard: int,
    n_shards: int,
    offset_seconds: float = 0.0,
    max_seconds: float | None = None,
    max_failed_share: float = 1.0,
) -> None:
    part = shard_of(pd.read_parquet(catalogue_path), shard, n_shards)
    failed = []
    started = time.perf_counter()
    seconds = 0.0
    with ShardWriter(output, sample_rate) as cache:
        for tid, path in zip(part["track_id"], part["path"], strict=True):
            try:
                y = decode(path, sample_rate, offset_seconds, max_seconds)
            except AudioError as err:
                failed.append({"track_id": tid, "stage": "decode", "reason": f"{path}: {err}"})
                log.warning("%s: %s", path, err)
                continue
            cache.add(tid, y)
            seconds += y.size / sample_rate
    failures.write(failures_path, failed)
    failures.check_share(
        failed, len(part), max_failed_share, f"resample shard {shard} at {sample_rate} Hz"
    )
    elapsed = time.perf_counter() - started
    log.info(
        "shard %d/%d at %d Hz: %d tracks cached (%.0f s of audio), %d failed, %.1f s",
        shard,
        n_shards,
        sample_rate,
        cache.n_written,
        seconds,
        len(failed),
        elapsed,
    )
