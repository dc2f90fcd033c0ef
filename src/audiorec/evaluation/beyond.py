"""Beyond-accuracy measures of the same top-K lists the accuracy metrics score.

Per user (averaged like the accuracy metrics):

- ``Popularity@K``: mean popularity of the recommended items, an item's
  popularity being the share of train users who heard it;
- ``Novelty@K``: mean self-information ``log2(n_train_users / listeners)``
  of the recommended items (Zhou et al. 2010), items nobody heard in train
  left out (their self-information is unbounded).

Per run (one number over every ranked user):

- ``Coverage@K``: share of the candidate items that appear in at least one
  user's top K;
- ``Gini@K``: Gini index of how often each candidate item is recommended
  (0: every item equally often; towards 1: a few items take every slot).
"""

from __future__ import annotations

import numpy as np

PER_USER = ("Popularity", "Novelty")
CATALOGUE = ("Coverage", "Gini")


def listeners(train, n_items: int) -> np.ndarray:
    """Train users per item, from a binary users x items CSR matrix."""
    return np.bincount(train.indices, minlength=n_items).astype(np.int64)


def per_user(ranked: np.ndarray, counts: np.ndarray, n_users: int, ks) -> dict[str, np.ndarray]:
    """``ranked[u, r]``: item index at rank r of user u, -1 past the end of a short list."""
    out = {}
    valid = ranked >= 0
    pop = np.where(valid, counts[np.where(valid, ranked, 0)], 0).astype(np.float64)
    heard = valid & (pop > 0)
    info = np.zeros_like(pop)
    info[heard] = np.log2(n_users / pop[heard])
    for k in sorted(ks):
        v, h = valid[:, :k], heard[:, :k]
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"Popularity@{k}"] = (pop[:, :k] * v).sum(1) / n_users / v.sum(1)
            out[f"Novelty@{k}"] = (info[:, :k] * h).sum(1) / h.sum(1)
    return out


def gini(counts: np.ndarray) -> float:
    """Gini index of non-negative counts (0 for all-equal counts or an empty list)."""
    x = np.sort(np.asarray(counts, np.float64))
    n, total = len(x), x.sum()
    if n == 0 or total == 0:
        return 0.0
    i = np.arange(1, n + 1)
    return float(((2 * i - n - 1) * x).sum() / (n * total))


def catalogue(ranked: np.ndarray, n_candidates: int, ks, n_items: int) -> dict[str, float]:
    """Coverage and Gini of the recommended items over ``n_candidates`` rankable items."""
    out = {}
    for k in sorted(ks):
        top = ranked[:, :k]
        times = np.bincount(top[top >= 0], minlength=n_items)
        out[f"Coverage@{k}"] = float((times > 0).sum() / max(n_candidates, 1))
        out[f"Gini@{k}"] = _gini_over_candidates(times, n_candidates)
    return out


def _gini_over_candidates(times: np.ndarray, n_candidates: int) -> float:
    """Gini over the candidate items: the never-recommended ones count as zeros."""
    shown = times[times > 0]
    zeros = np.zeros(max(n_candidates - len(shown), 0))
    return gini(np.concatenate([zeros, shown]))
