"""Accuracy per item-popularity segment: does content help on the long tail?

Train items are ordered by their number of train listeners (most first, ties
by item index); the first ``head`` share of them is the head, the last
``tail`` share the tail, the rest the middle. Items nobody heard in train
(cold items) are tail. A user's metrics in a segment count only their
held-out items of that segment as relevant, on the same ranking; users with
no held-out item in a segment have no value there.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from audiorec.evaluation.metrics import from_hits

SEGMENTS = ("head", "mid", "tail")
METRICS = ("HitRate", "Recall", "NDCG")


def popularity_segments(counts: np.ndarray, head: float, tail: float) -> np.ndarray:
    """Segment index per item (0 head, 1 mid, 2 tail) from train listeners per item."""
    counts = np.asarray(counts)
    heard = np.flatnonzero(counts > 0)
    order = heard[np.lexsort((heard, -counts[heard]))]
    n = len(order)
    n_head = round(head * n)
    n_tail = min(round(tail * n), n - n_head)
    seg = np.full(len(counts), 2, np.int8)
    seg[order[:n_head]] = 0
    seg[order[n_head : n - n_tail]] = 1
    return seg


def by_segment(
    ranked: np.ndarray,
    hits: np.ndarray,
    users: np.ndarray,
    relevant: sp.csr_matrix,
    unrankable: np.ndarray,
    segment: np.ndarray,
    ks,
) -> dict[str, np.ndarray]:
    """``{"<segment>:<metric>@K": per-user values}`` (NaN where the user has none there).

    ``ranked``/``hits``: the ranking's items and hit mask, one row per user of
    ``users``; ``relevant``: users x items of the rankable held-out pairs; ``unrankable``:
    per evaluated user, held-out pairs of items outside the index (counted as
    tail items that were never ranked).
    """
    valid = ranked >= 0
    seg_of_ranked = np.where(valid, segment[np.where(valid, ranked, 0)], -1)
    rel = relevant[users].tocsr()
    rel_rows = np.repeat(np.arange(len(users)), np.diff(rel.indptr))
    rel_seg = segment[rel.indices]
    out = {}
    for s, name in enumerate(SEGMENTS):
        n_rel = np.bincount(rel_rows[rel_seg == s], minlength=len(users)).astype(np.int64)
        if name == "tail":
            n_rel = n_rel + unrankable
        has = n_rel > 0
        seg_hits = hits & (seg_of_ranked == s)
        values = from_hits(seg_hits[has], n_rel[has], ks) if has.any() else {}
        for m in METRICS:
            for k in ks:
                col = np.full(len(users), np.nan)
                if has.any():
                    col[has] = values[f"{m}@{k}"]
                out[f"{name}:{m}@{k}"] = col
    return out
