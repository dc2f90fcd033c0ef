"""Batched full ranking: scores for a block of users, seen items set to -inf, topk.

No Python loop over users: each block is one matrix product (inside the
model's ``score``), one scatter of -inf over the block's history and one
``torch.topk``. Hits are read off a dense relevance mask of the same block.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch


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


def rank(
    score: Callable[[np.ndarray], torch.Tensor],
    users: np.ndarray,
    exclude: sp.csr_matrix | None,
    relevant: sp.csr_matrix,
    k: int,
    batch_size: int = 1024,
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
    all_items = np.full((len(users), k), -1, dtype=np.int64)
    all_hits = np.zeros((len(users), k), dtype=bool)
    blocked = None
    if candidates is not None:
        blocked = torch.from_numpy(~np.asarray(candidates, bool))
        kk = min(kk, int(np.asarray(candidates, bool).sum()))
    with torch.inference_mode():
        for start in range(0, len(users), batch_size):
            block = users[start : start + batch_size]
            scores = score(block).to(device=device, dtype=torch.float32)
            if scores.shape != (len(block), n_items):
                raise ValueError(
                    f"score() returned {tuple(scores.shape)}, expected {(len(block), n_items)}"
                )
            if exclude is not None:
                r, c = _block_rows(exclude, block, scores.device)
                scores[r, c] = float("-inf")
            if blocked is not None:
                scores[:, blocked.to(scores.device)] = float("-inf")
            values, idx = torch.topk(scores, kk, dim=1)
            valid = torch.isfinite(values)
            rel = torch.zeros((len(block), n_items), dtype=torch.bool, device=scores.device)
            r, c = _block_rows(relevant, block, scores.device)
            rel[r, c] = True
            hits = rel.gather(1, idx) & valid
            idx = torch.where(valid, idx, torch.full_like(idx, -1))
            stop = start + len(block)
            all_items[start:stop, :kk] = idx.cpu().numpy()
            all_hits[start:stop, :kk] = hits.cpu().numpy()
            if progress is not None:
                progress.advance(len(block))
    if progress is not None:
        progress.finish()
    return Ranking(users=users, items=all_items, hits=all_hits)
