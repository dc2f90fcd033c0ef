"""Run a backbone over one cache shard, recording failures instead of stopping.

With ``workers > 0`` the shard is read, decoded and prepared (chunks cut,
spectrograms computed) in DataLoader worker processes, each taking whole row
groups, with pinned memory on GPU, so the model in the main process never
waits for the CPU. Workers build their own copy of the backbone from its class
and parameters; models load lazily, so no worker ever holds one.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from audiorec.backbones.base import Backbone, UnusableAudio
from audiorec.progress import Progress

log = logging.getLogger(__name__)


def _reason(err: Exception) -> str:
    text = str(err).strip().replace("\n", " ").replace("\t", " ")
    return text if isinstance(err, UnusableAudio) else f"{type(err).__name__}: {text}"


@dataclass
class Extracted:
    ids: list[str]
    vectors: np.ndarray  # (n, dim)
    layers: np.ndarray | None  # (n, n_layers, dim) when every layer was kept
    failures: list[dict]


class _Collector:
    def __init__(self, backbone: Backbone, total: int = 0):
        self.backbone = backbone
        self.progress = Progress(total, f"embed with {type(backbone).__name__}", "tracks")
        self.ids: list[str] = []
        self.vectors: list[np.ndarray] = []
        self.layers: list[np.ndarray] = []
        self.failures: list[dict] = []
        self._pending: list[tuple[str, object]] = []

    def fail(self, track_id: str, stage: str, err: Exception | str) -> None:
        reason = err if isinstance(err, str) else _reason(err)
        self.failures.append({"track_id": track_id, "stage": stage, "reason": reason})
        log.warning("%s: %s failed: %s", track_id, stage, reason)
        self.progress.advance()

    def add(self, track_id: str, waveform: np.ndarray) -> None:
        try:
            prepared = self.backbone.prepare(waveform)
        except Exception as err:
            self.fail(track_id, "prepare", err)
            return
        self.add_prepared(track_id, prepared)

    def add_prepared(self, track_id: str, prepared) -> None:
        self._pending.append((track_id, prepared))
        if len(self._pending) >= self.backbone.batch_size:
            self.flush()

    def _keep(self, track_id: str, vector: np.ndarray, layers: np.ndarray | None) -> None:
        if not np.all(np.isfinite(vector)) or (
            layers is not None and not np.all(np.isfinite(layers))
        ):
            self.fail(track_id, "embed", "non-finite values in the embedding")
            return
        self.ids.append(track_id)
        self.vectors.append(vector)
        if layers is not None:
            self.layers.append(layers)
        self.progress.advance()

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        if not pending:
            return
        try:
            vectors, layers = self._embed([p for _, p in pending])
        except Exception as err:  # one bad input must not cost the batch: retry one by one
            log.warning(
                "batch of %d failed (%s); retrying track by track", len(pending), _reason(err)
            )
            for tid, prepared in pending:
                try:
                    v, lay = self._embed([prepared])
                    self._keep(tid, v[0], None if lay is None else lay[0])
                except Exception as single:
                    self.fail(tid, "embed", single)
            return
        for i, (tid, _) in enumerate(pending):
            self._keep(tid, vectors[i], None if layers is None else layers[i])

    def _embed(self, batch: list) -> tuple[np.ndarray, np.ndarray | None]:
        out = self.backbone.embed(batch)
        layers = None
        if isinstance(out, dict):
            out, layers = out["embedding"], np.asarray(out["layers"], dtype=np.float32)
        out = np.asarray(out, dtype=np.float32)
        if out.shape != (len(batch), self.backbone.dim):
            raise ValueError(
                f"backbone returned {out.shape}, expected {(len(batch), self.backbone.dim)}"
            )
        return out, layers

    def result(self) -> Extracted:
        dim = self.backbone.dim
        vectors = np.stack(self.vectors) if self.vectors else np.zeros((0, dim), np.float32)
        layers = np.stack(self.layers) if self.layers else None
        return Extracted(self.ids, vectors, layers, self.failures)


def extract(
    backbone: Backbone, tracks: Iterable[tuple[str, np.ndarray]], total: int = 0
) -> Extracted:
    """Embed (track_id, waveform) pairs in this process (``total``: how many, for progress)."""
    c = _Collector(backbone, total)
    started = time.perf_counter()
    for tid, y in tracks:
        c.add(tid, y)
    c.flush()
    _log_done(c, time.perf_counter() - started)
    return c.result()


def _prepared_shard(paths: list[str], backbone_cls: type, params: dict):
    """An IterableDataset of (track_id, prepared input, failure reason), row groups split over workers.

    Built on demand so that torch stays out of backbones (such as MFCC) that never need it.
    """
    import torch

    class PreparedShard(torch.utils.data.IterableDataset):
        def __iter__(self) -> Iterator[tuple[str, object, str | None]]:
            import pyarrow.parquet as pq

            from audiorec.audio.cache import decode_flac

            info = torch.utils.data.get_worker_info()
            worker, n_workers = (info.id, info.num_workers) if info else (0, 1)
            preparer = backbone_cls(params)  # no model is loaded to prepare
            frames = preparer.samples_needed()
            files = [pq.ParquetFile(p) for p in paths]
            groups = [(f, g) for f in files for g in range(f.num_row_groups)]
            for pf, group in groups[worker::n_workers]:
                table = pf.read_row_group(group)
                for tid, data in zip(
                    table["track_id"].to_pylist(), table["flac"].to_pylist(), strict=True
                ):
                    try:
                        yield tid, preparer.prepare(decode_flac(data, frames)), None
                    except Exception as err:
                        yield tid, None, _reason(err)

    return PreparedShard()


def _as_is(item):
    """Leave prepared inputs as the backbone made them (DataLoader would turn arrays into tensors)."""
    return item


def extract_shard(backbone: Backbone, paths: str | list[str], workers: int = 0) -> Extracted:
    """Embed every track of one or more cache shards, preparing inputs in `workers` processes."""
    import pyarrow.parquet as pq

    from audiorec.audio.cache import iter_shard

    paths = [paths] if isinstance(paths, str) else list(paths)
    total = sum(pq.ParquetFile(p).metadata.num_rows for p in paths)
    if workers <= 0:
        frames = backbone.samples_needed()
        tracks = itertools.chain.from_iterable(iter_shard(p, frames) for p in paths)
        return extract(backbone, tracks, total)
    import torch

    loader = torch.utils.data.DataLoader(
        _prepared_shard(paths, type(backbone), backbone.params),
        batch_size=None,
        collate_fn=_as_is,
        num_workers=workers,
        pin_memory=str(backbone.device).startswith("cuda"),
        prefetch_factor=4,
        persistent_workers=False,
    )
    c = _Collector(backbone, total)
    started = time.perf_counter()
    for tid, prepared, reason in loader:
        if reason is not None:
            c.fail(tid, "prepare", reason)
        else:
            c.add_prepared(tid, prepared)
    c.flush()
    _log_done(c, time.perf_counter() - started)
    return c.result()


def _log_done(c: _Collector, elapsed: float) -> None:
    c.progress.finish()
    log.info("embedded %d tracks (%d failed) in %.1f s", len(c.ids), len(c.failures), elapsed)
