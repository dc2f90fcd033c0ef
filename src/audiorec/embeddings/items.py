"""A backbone's vectors as a recommender's item table: aligned to the train items, per variant."""

from __future__ import annotations

import logging

import numpy as np

from audiorec.data.interactions import IndexedSplit
from audiorec.embeddings.store import align, read_embeddings
from audiorec.variants import apply_variant

log = logging.getLogger(__name__)


def item_vectors(
    path: str, data: IndexedSplit, variant: str, seed: int, layer: int | None = None
) -> tuple[np.ndarray, np.ndarray, dict]:
    """(vectors per train item, which items have one, facts for the run's record)."""
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
