"""Batched full ranking: scores for a block of users, seen items set to -inf, topk.

No Python loop over users: each block is one matrix product (inside the
model's ``score``) and one top-k that first sets the block's history to -inf. What keeps it near the speed of the bare product:

- a scorer that takes ``out`` (``score(block, out=...)``) writes every block
  into one score buffer allocated once, instead of a new matrix per block;
- seen items are masked inside ``top_k``, and hits are read once for all users by
  looking the ranked (user, item) keys up among the relevant ones, never through a
  dense block-sized mask;
- ``top_k`` (``selection``) gives ``torch.topk``'s ranking in one compiled pass per
  row that sorts only the scores of the few blocks whose maxima reach a threshold;
- the block of users is sized from the model's width (``block_size``): a
  narrow product is fastest on few users at a time, a wide one on many.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

from audiorec.evaluation.selection import top_k

BLOCK_BYTES = 256 << 20  # the largest score buffer: 1,187 users at Onion's 56,512 items


@dataclass
class Ranking:
    users: np.ndarray  # user indices, in evaluation order
    items: np.ndarray  # (n_users, k) item indices, best first; -1 where fewer than k candidates
    hits: np.ndarray  # (n_users, k) bool


class _Rows:
    """A sparse matrix's rows for the evaluated users, in evaluation order, taken once: per
    user its columns, ascending (``rows``: a block's as one slice), and all entries as flat
    keys ``position * n_items + column``, ascending (``holds``)."""

    def __init__(self, m: sp.csr_matrix, users: np.ndarray):
        sub = m[users].tocsr()
        sub.sort_indices()
        self.n_items = m.shape[1]
        self.indptr = sub.indptr.astype(np.int64)
        self.columns = sub.indices.astype(np.int64)
        position = np.repeat(np.arange(len(users), dtype=np.int64), np.diff(self.indptr))
        self.keys = position * self.n_items + self.columns

    def rows(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """Users ``start:stop`` as (indptr from 0, their columns), for ``top_k``'s exclude."""
        lo, hi = self.indptr[start], self.indptr[stop]
        return self.indptr[start : stop + 1] - lo, self.columns[lo:hi]

    def holds(self, items: np.ndarray) -> np.ndarray:
        """Whether each (user position, item) of ``items`` (n_users, k; -1: none) is an entry."""
        keys = np.arange(len(items), dtype=np.int64)[:, None] * self.n_items + items
        if len(self.keys) == 0:
            return np.zeros(items.shape, bool)
        at = np.searchsorted(self.keys, keys).clip(max=len(self.keys) - 1)
        return (self.keys[at] == keys) & (items >= 0)


def block_size(n_items: int, n_users: int, width: int | None = None) -> int:
    """Users a block: 128 for models up to 256 wide, 512 up to 768, 1,024 beyond (fastest
    products plus top-k on two cores, ``benchmarks/ranking_speed.py``), within a score
    buffer of BLOCK_BYTES and at most every user."""
    wanted = 128 if width and width <= 256 else 512 if width and width <= 768 else 1024
    fits = BLOCK_BYTES // (4 * max(n_items, 1))
    return int(max(1, min(n_users, wanted, max(16, fits))))


def takes_out(score: Callable) -> bool:
    """Whether the scorer can write into a given buffer (``score(block, out=buffer)``)."""
    try:
        return "out" in inspect.signature(score).parameters
    except (TypeError, ValueError):
        return False


def rank(
    score: Callable[..., torch.Tensor],
    users: np.ndarray,
    exclude: sp.csr_matrix | None,
    relevant: sp.csr_matrix,
    k: int,
    batch_size: int | None = None,
    device: str | torch.device = "cpu",
    candidates: np.ndarray | None = None,
    progress=None,
    width: int | None = None,
) -> Ranking:
    """Top-k of every user in `users` by `score(block) -> (len(block), n_items)`.

    `candidates` (bool per item) restricts the ranking to those items (the
    cold block ranks the cold items only, the hot block all others);
    ``progress`` (an ``audiorec.progress.Progress``) counts the ranked users; ``width``,
    the scores' inner dimension where known, sizes the blocks.
    """
    n_items = relevant.shape[1]
    kk = min(k, n_items)
    batch_size = batch_size or block_size(n_items, len(users), width)
    all_items = np.full((len(users), k), -1, dtype=np.int64)
    blocked = None
    if candidates is not None:
        blocked = torch.from_numpy(np.flatnonzero(~np.asarray(candidates, bool)))
        kk = min(kk, int(np.asarray(candidates, bool).sum()))
    into = takes_out(score)
    buffer = None
    seen = _Rows(exclude, users) if exclude is not None else None
    with torch.inference_mode():
        for start in range(0, len(users), batch_size):
            block = users[start : start + batch_size]
            if into:
                if buffer is None:
                    buffer = torch.empty(
                        (min(batch_size, len(users)), n_items), dtype=torch.float32, device=device
                    )
                scores = score(block, out=buffer[: len(block)])
            else:
                scores = score(block).to(device=device, dtype=torch.float32)
            if scores.shape != (len(block), n_items):
                raise ValueError(
                    f"score() returned {tuple(scores.shape)}, expected {(len(block), n_items)}"
                )
            stop = start + len(block)
            if blocked is not None:
                scores.index_fill_(1, blocked.to(scores.device), float("-inf"))
            values, idx = top_k(scores, kk, seen.rows(start, stop) if seen is not None else None)
            idx = torch.where(torch.isfinite(values), idx, torch.full_like(idx, -1))
            all_items[start:stop, :kk] = idx.cpu().numpy()
            if progress is not None:
                progress.advance(len(block))
    if progress is not None:
        progress.finish()
    return Ranking(users=users, items=all_items, hits=_Rows(relevant, users).holds(all_items))
