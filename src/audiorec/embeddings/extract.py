"""Run a backbone over one cache shard, recording failures instead of stopping."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

import numpy as np

from audiorec.backbones.base import Backbone, UnusableAudio

log = logging.getLogger(__name__)


def _reason(err: Exception) -> str:
    text = str(err).strip().replace("\n", " ").replace("\t", " ")
    return text if isinstance(err, UnusableAudio) else f"{type(err).__name__}: {text}"


class _Collector:
    def __init__(self, backbone: Backbone):
        self.backbone = backbone
        self.ids: list[str] = []
        self.vectors: list[np.ndarray] = []
        self.failures: list[dict] = []
        self._pending: list[tuple[str, object]] = []

    def fail(self, track_id: str, stage: str, err: Exception | str) -> None:
        reason = err if isinstance(err, str) else _reason(err)
        self.failures.append({"track_id": track_id, "stage": stage, "reason": reason})
        log.warning("%s: %s failed: %s", track_id, stage, reason)

    def add(self, track_id: str, waveform: np.ndarray) -> None:
        try:
            prepared = self.backbone.prepare(waveform)
        except Exception as err:
            self.fail(track_id, "prepare", err)
            return
        self._pending.append((track_id, prepared))
        if len(self._pending) >= self.backbone.batch_size:
            self.flush()

    def _keep(self, track_id: str, vector: np.ndarray) -> None:
        if not np.all(np.isfinite(vector)):
            self.fail(track_id, "embed", "non-finite values in the embedding")
            return
        self.ids.append(track_id)
        self.vectors.append(vector)

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        if not pending:
            return
        try:
            out = self._embed([p for _, p in pending])
        except Exception as err:  # one bad input must not cost the batch: retry one by one
            log.warning(
                "batch of %d failed (%s); retrying track by track", len(pending), _reason(err)
            )
            for tid, prepared in pending:
                try:
                    self._keep(tid, self._embed([prepared])[0])
                except Exception as single:
                    self.fail(tid, "embed", single)
            return
        for (tid, _), vec in zip(pending, out, strict=True):
            self._keep(tid, vec)

    def _embed(self, batch: list) -> np.ndarray:
        out = np.asarray(self.backbone.embed(batch), dtype=np.float32)
        if out.shape != (len(batch), self.backbone.dim):
            raise ValueError(
                f"backbone returned {out.shape}, expected {(len(batch), self.backbone.dim)}"
            )
        return out


def extract(
    backbone: Backbone, tracks: Iterable[tuple[str, np.ndarray]]
) -> tuple[list[str], np.ndarray, list[dict]]:
    """(track ids, (n, dim) vectors, failure rows) for (track_id, waveform) pairs."""
    c = _Collector(backbone)
    started = time.perf_counter()
    for tid, y in tracks:
        c.add(tid, y)
    c.flush()
    elapsed = time.perf_counter() - started
    log.info("embedded %d tracks (%d failed) in %.1f s", len(c.ids), len(c.failures), elapsed)
    vectors = np.stack(c.vectors) if c.vectors else np.zeros((0, backbone.dim), np.float32)
    return c.ids, vectors, c.failures
