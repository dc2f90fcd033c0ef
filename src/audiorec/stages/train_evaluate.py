"""Job: fit one (backbone, recommender, variant, seed) and score it by full ranking.

When scoring the test users, their history is train plus validation pairs:
under the global time split validation and test users are disjoint, so this
changes nothing there, and under leave-last-out it is the usual protocol
(the validation item is part of the history when the test item is predicted).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from audiorec import devices, recommenders
from audiorec.data.interactions import IndexedSplit, index_split
from audiorec.embeddings.store import align, read_embeddings
from audiorec.evaluation.metrics import from_hits
from audiorec.evaluation.ranking import rank
from audiorec.splits.base import Split
from audiorec.variants import apply_variant

log = logging.getLogger(__name__)


def load_split(paths: dict) -> Split:
    return Split(*(pd.read_parquet(paths[p]) for p in ("train", "val", "test")))


def item_vectors(path: str, data: IndexedSplit, variant: str, seed: int, layer: int | None = None):
    ids, vectors, meta = read_embeddings(path, layer)
    aligned, available = align(ids, vectors, data.items)
    missing = int((~available).sum())
    if missing:
        log.warning(
            "%s: %d of %d train items have no embedding (failed extraction): KNN never recommends them, "
            "trained models start them from random rows",
            path,
            missing,
            data.n_items,
        )
    aligned, available = apply_variant(aligned, available, variant, seed)
    return (
        aligned,
        available,
        {
            "embedding_dim": int(vectors.shape[1]),
            "items_without_embedding": missing,
            "embedding_meta": meta,
        },
    )


def evaluate(model, data: IndexedSplit, part: str, ks, batch_size: int, device: str):
    """Per-user metrics frame and the ranking, for the users with held-out items in `part`."""
    history = data.history("train") if part == "val" else data.history("train", "val")
    users = data.users_of(part)
    empty = np.diff(history.matrix.indptr)[users] == 0
    if empty.any():
        log.warning(
            "%d evaluated users have no history; they get an uninformed ranking", int(empty.sum())
        )
    ranking = rank(
        lambda block: model.score(block, history),
        users,
        exclude=history.matrix,
        relevant=data.matrix(part),
        k=max(ks),
        batch_size=batch_size,
        device=device,
    )
    n_rel = data.n_relevant(part)[users]
    metrics = from_hits(ranking.hits, n_rel, ks)
    frame = pd.DataFrame({"user_id": data.users[users].astype(str), "n_relevant": n_rel, **metrics})
    return frame, ranking


def _write_parquet(df: pd.DataFrame, path: str, meta: dict) -> None:
    table = pa.Table.from_pandas(df, preserve_index=False)
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), b"audiorec": json.dumps(meta, default=str)}
    )
    pq.write_table(table, path)


def write_recommendations(
    path: str, user_ids, ranked: np.ndarray, items: pd.Index, meta: dict
) -> None:
    """One row per user: the ranked track ids (a list column)."""
    valid = ranked >= 0
    offsets = np.concatenate([[0], np.cumsum(valid.sum(axis=1))]).astype(np.int32)
    values = pa.array(items.to_numpy().astype(str)[ranked[valid]], pa.string())
    table = pa.table(
        {
            "user_id": pa.array(list(user_ids), pa.string()),
            "items": pa.ListArray.from_arrays(offsets, values),
        }
    )
    pq.write_table(
        table.replace_schema_metadata({b"audiorec": json.dumps(meta, default=str)}), path
    )


def run(
    split_paths: dict,
    embeddings_path: str | None,
    backbone: str,
    recommender: str,
    spec: dict,
    variant: str,
    seed: int,
    evaluation: dict,
    outputs: dict,
    use_layer: int | None = None,
) -> dict:
    cls = recommenders.get(spec["type"])
    device = devices.resolve(spec["device"])
    data = index_split(load_split(split_paths))
    vectors = available = None
    info: dict = {}
    if cls.uses_content:
        if embeddings_path is None:
            raise ValueError(f"{recommender} needs embeddings but none were given")
        vectors, available, info = item_vectors(embeddings_path, data, variant, seed, use_layer)

    checkpoint = str(Path(outputs["per_user"]).with_name("checkpoint.pt"))
    model = cls(spec["params"], seed=seed, device=device, variant=variant, checkpoint=checkpoint)
    started = time.perf_counter()
    model.fit(data, vectors, available)
    fit_seconds = time.perf_counter() - started

    part = evaluation["part"]
    started = time.perf_counter()
    per_user, ranking = evaluate(
        model, data, part, evaluation["ks"], evaluation["user_batch"], device
    )
    eval_seconds = time.perf_counter() - started

    run_meta = {
        "backbone": backbone,
        "recommender": recommender,
        "type": spec["type"],
        "variant": variant,
        "seed": seed,
        "part": part,
    }
    _write_parquet(per_user, outputs["per_user"], run_meta)
    if outputs.get("recommendations"):
        write_recommendations(
            outputs["recommendations"], per_user["user_id"], ranking.items, data.items, run_meta
        )

    summary = {
        **run_meta,
        "params": spec["params"],
        "device": device,
        "n_users": len(per_user),
        "n_items": data.n_items,
        "unrankable_relevant_pairs": data.unrankable(part),
        "fit_seconds": round(fit_seconds, 3),
        "evaluate_seconds": round(eval_seconds, 3),
        "means": {c: float(per_user[c].mean()) for c in per_user.columns if "@" in c},
        **{k: v for k, v in info.items() if k != "embedding_meta"},
        "embedding": info.get("embedding_meta", {}),
        "model": model.info(),
    }
    with open(outputs["info"], "w") as fh:
        json.dump(summary, fh, indent=2, default=str)
    log.info(
        "%s/%s/%s seed %d: %s (fit %.1f s, evaluation %.1f s, %d users)",
        backbone,
        recommender,
        variant,
        seed,
        ", ".join(f"{k} {v:.4f}" for k, v in summary["means"].items()),
        fit_seconds,
        eval_seconds,
        len(per_user),
    )
    return summary
