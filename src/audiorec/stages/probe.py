"""Job: the linear and MLP probes of one task on one backbone's frozen vectors.

Clips without a vector (their audio failed, or the backbone has none for
them) are left out and counted; a part left with no clip fails the job. A
backbone extracted with ``layer: all`` is probed at every layer, which gives
the per-layer probe curve. One row per (layer, model, seed): the chosen
hyperparameters, their validation metric, every test metric.
"""

from __future__ import annotations

import logging

import pandas as pd
import pyarrow.parquet as pq

from audiorec import probes
from audiorec.embeddings.store import align, read_embeddings, read_metadata
from audiorec.probes.base import SPLITS, ProbeDataError
from audiorec.probes.fit import ProbeSettings, probe

log = logging.getLogger(__name__)


def _layers(path: str) -> list[int | None]:
    if "layers" not in pq.read_schema(path).names:
        return [None]
    return [None, *range(int(read_metadata(path)["n_layers"]))]


def run(
    name: str,
    spec: dict,
    backbone: str,
    clips_path: str,
    embeddings_path: str,
    output: str,
    models: list[str],
    seeds: list[int],
    settings: dict,
    root: str = ".",
) -> None:
    task = probes.get(spec["type"])(spec.get("params", {}), root)
    clips = pd.read_parquet(clips_path)
    vocabulary = task.vocabulary(clips)
    y = task.targets(clips, vocabulary)
    rows = []
    for layer in _layers(embeddings_path):
        ids, vectors, _ = read_embeddings(embeddings_path, layer)
        x, available = align(ids, vectors, clips["track_id"].to_numpy())
        parts = {s: ((clips["split"] == s).to_numpy() & available) for s in SPLITS}
        missing = int((~available).sum())
        for s, keep in parts.items():
            if not keep.any():
                raise ProbeDataError(
                    f"{name} on {backbone}: no {s} clip has a vector ({missing} of {len(clips)} missing)"
                )
        if layer is None and missing:
            log.warning("%s on %s: %d of %d clips without a vector left out", name, backbone,
                        missing, len(clips))  # fmt: skip
        xs = {s: x[keep] for s, keep in parts.items()}
        ys = {s: y[keep] for s, keep in parts.items()}
        for model in models:
            for seed in seeds:
                result = probe(
                    task.KIND, model, xs, ys, vocabulary, seed, ProbeSettings(**settings)
                )
                rows.append(
                    {
                        "task": name,
                        "kind": task.KIND,
                        "backbone": backbone,
                        "layer": "" if layer is None else layer,
                        "model": model,
                        "seed": seed,
                        "main_metric": task.MAIN_METRIC,
                        "valid": result["valid"][task.MAIN_METRIC],
                        **{f"test {k}": v for k, v in result["test"].items()},
                        **{k: v for k, v in result["params"].items()},
                        **{f"n_{s}": int(keep.sum()) for s, keep in parts.items()},
                        "missing": missing,
                    }
                )
                log.info("%s %s layer %s %s seed %d: test %s %.4f", name, backbone, layer,
                         model, seed, task.MAIN_METRIC, result["test"][task.MAIN_METRIC])  # fmt: skip
    pd.DataFrame(rows).to_csv(output, sep="\t", index=False)
