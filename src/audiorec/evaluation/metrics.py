"""Per-user ranking metrics, all K at once from one boolean hit matrix.

Definitions follow the study (and agree with ranx and rs_metrics):
HitRate@K is 1 when any relevant item is in the top K; Recall@K divides the
hits by the number of relevant items, not by min(relevant, K); NDCG@K uses
binary gains and an ideal DCG over min(relevant, K) positions. Beyond the
study (both in the authors' metric library): MRR@K, the reciprocal rank of
the first relevant item in the top K (0 without one), and Precision@K, the
hits over K.
"""

from __future__ import annotations

import numpy as np

METRICS = ("HitRate", "Recall", "NDCG", "MRR", "Precision")


def from_hits(hits: np.ndarray, n_relevant: np.ndarray, ks) -> dict[str, np.ndarray]:
    """`hits[u, r]`: the item at rank r (0-based) of user u is relevant.

    `hits` may have fewer columns than max(ks) when the catalogue is small;
    missing ranks count as misses.
    """
    hits = np.asarray(hits, dtype=bool)
    n_relevant = np.asarray(n_relevant, dtype=np.float64)
    if np.any(n_relevant <= 0):
        raise ValueError("every evaluated user needs at least one relevant item")
    kmax = max(ks)
    if hits.shape[1] < kmax:
        hits = np.pad(hits, ((0, 0), (0, kmax - hits.shape[1])))
    hits = hits[:, :kmax]
    discount = 1.0 / np.log2(np.arange(2, kmax + 2))
    cum_hits = np.cumsum(hits, axis=1)
    cum_dcg = np.cumsum(hits * discount, axis=1)
    ideal = np.cumsum(discount)
    first = np.where(hits.any(axis=1), hits.argmax(axis=1), kmax)  # 0-based rank of the first hit
    out = {}
    for k in sorted(ks):
        n_hits = cum_hits[:, k - 1]
        idcg = ideal[np.minimum(n_relevant, k).astype(int) - 1]
        out[f"HitRate@{k}"] = (n_hits > 0).astype(np.float64)
        out[f"Recall@{k}"] = n_hits / n_relevant
        out[f"NDCG@{k}"] = cum_dcg[:, k - 1] / idcg
        out[f"MRR@{k}"] = np.where(first < k, 1.0 / (first + 1.0), 0.0)
        out[f"Precision@{k}"] = n_hits / k
    return out


def family(column: str) -> str | None:
    """The measure of a per-user column "<measure>@K" (None for other columns and for
    per-segment columns "<segment>:<measure>@K")."""
    name, at, k = column.partition("@")
    return name if at and k.isdigit() and ":" not in name else None


def k_of(column: str) -> int:
    return int(column.rpartition("@")[2])
