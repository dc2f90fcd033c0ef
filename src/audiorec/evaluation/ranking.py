"""Batched full ranking: scores for a block of users, seen items set to -inf, topk.

No Python loop over users: each block is one matrix product (inside the
model's ``score``), one scatter of -inf over the block's history and one
``torch.topk``. Three things keep it near the speed of the bare product:

- a scorer that takes ``out`` (``score(block, out=...)``) writes every block
  into one score buffer allocated once, instead of a new matrix per block;
- hits are read by looking the top-k (user, item) keys up among the block's
  relevant keys, never through a dense block-sized relevance mask;
- without a given ``batch_size`` the block holds as many users as keep the
  score buffer near ``BLOCK_BYTES`` (narrow models get more users a block).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

BLOCK_BYTES = 64 << 20  # a 64 MB score buffer: 280 users at Onion's 56,512 items


@dataclass
class Ranking:
    users: np.ndarray  # user indices, in evaluation order
    items: np.ndarray  # (n_users, k) item indices, best first; -1 where fewer than k candidates
    hits: np.ndarray  # (n_users, k) bool


def _block_rows(m: sp.csr_matrix, rows: np.ndarray, device) -> tuple[torch.Tensor, torch.Tensor]:
    sub = m[rows]
    counts = np.diff(sub.indptr)
    r = torch.from_numpy(np.repeat(np.arange(len(rows)), counts)).to(device)
    c = torch.from_numpy(sub.indices.astype(np.int64)).to(device)
    return r, c


def block_size(n_items: int, n_users: int) -> int:
    """Users a block: a score buffer of about BLOCK_BYTES, at least 16 and at most every user."""
    return int(max(16, min(n_users, BLOCK_BYTES // (4 * max(n_items, 1)))))


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
) -> Ranking:
    """Top-k of every user in `users` by `score(block) -> (len(block), n_items)`.

    `candidates` (bool per item) restricts the ranking to those items (the
    cold block ranks the cold items only, the hot block all others);
    ``progress`` (an ``audiorec.progress.Progress``) counts the ranked users.
    """
    n_items = relevant.shape[1]
    kk = min(k, n_items)
    batch_size = batch_size or block_size(n_items, len(users))
    all_items = np.full((len(users), k), -1, dtype=np.int64)
    all_hits = np.zeros((len(users), k), dtype=bool)
    blocked = None
    if candidates is not None:
        blocked = torch.from_numpy(np.flatnonzero(~np.asarray(candidates, bool)))
        kk = min(kk, int(np.asarray(candidates, bool).sum()))
    into = takes_out(score)
    buffer = None
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
            if exclude is not None:
                r, c = _block_rows(exclude, block, scores.device)
                scores[r, c] = float("-inf")
            if blocked is not None:
                scores.index_fill_(1, blocked.to(scores.device), float("-inf"))
            values, idx = torch.topk(scores, kk, dim=1)
            valid = torch.isfinite(values)
            r, c = _block_rows(relevant, block, scores.device)
            wanted = r * n_items + c
            rows = torch.arange(len(block), device=scores.device)[:, None]
            hits = torch.isin(rows * n_items + idx, wanted) & valid
            idx = torch.where(valid, idx, torch.full_like(idx, -1))
            stop = start + len(block)
            all_items[start:stop, :kk] = idx.cpu().numpy()
            all_hits[start:stop, :kk] = hits.cpu().numpy()
            if progress is not None:
                progress.advance(len(block))
    if progress is not None:
        progress.finish()
    return Ranking(users=users, items=all_items, hits=all_hits)
