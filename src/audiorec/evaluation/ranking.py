"""Batched full ranking: scores for a block of users, seen items set to -inf, topk.

No Python loop over users: each block is one matrix product (inside the
model's ``score``), one scatter of -inf over the block's history and one
top-k. What keeps it near the speed of the bare product:

- a scorer that takes ``out`` (``score(block, out=...)``) writes every block
  into one score buffer allocated once, instead of a new matrix per block;
- hits are read by looking the top-k (user, item) keys up among the block's
  relevant keys, never through a dense block-sized relevance mask;
- ``top_k`` ranks only the k blocks of 32 columns with the largest maxima
  (they hold the k largest scores), and of those only the scores that reach
  the k-th largest maximum, exactly as ``torch.topk`` would;
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

BLOCK_BYTES = 256 << 20  # the largest score buffer: 1,187 users at Onion's 56,512 items
TOP_K_WIDTH = 32


@dataclass
class Ranking:
    users: np.ndarray  # user indices, in evaluation order
    items: np.ndarray  # (n_users, k) item indices, best first; -1 where fewer than k candidates
    hits: np.ndarray  # (n_users, k) bool


class _Rows:
    """The (row in block, column) pairs of a sparse matrix's rows for the evaluated users,
    taken once in evaluation order so that a block is a slice, not a fancy index."""

    def __init__(self, m: sp.csr_matrix, users: np.ndarray, device):
        sub = m[users]
        self.indptr = sub.indptr.astype(np.int64)
        self.indices = torch.from_numpy(sub.indices.astype(np.int64)).to(device)
        self.device = device

    def block(self, start: int, stop: int) -> tuple[torch.Tensor, torch.Tensor]:
        lo, hi = self.indptr[start], self.indptr[stop]
        counts = torch.from_numpy(np.diff(self.indptr[start : stop + 1])).to(self.device)
        r = torch.repeat_interleave(torch.arange(stop - start, device=self.device), counts)
        return r, self.indices[lo:hi]


def block_size(n_items: int, n_users: int, width: int | None = None) -> int:
    """Users a block: 128 for models up to 256 wide, 512 up to 768, 1,024 beyond (fastest
    products plus top-k on two cores, ``benchmarks/ranking_speed.py``), within a score
    buffer of BLOCK_BYTES and at most every user."""
    wanted = 128 if width and width <= 256 else 512 if width and width <= 768 else 1024
    fits = BLOCK_BYTES // (4 * max(n_items, 1))
    return int(max(1, min(n_users, wanted, max(16, fits))))


def top_k(scores: torch.Tensor, k: int, width: int = TOP_K_WIDTH):
    """``torch.topk(scores, k, dim=1)``, the same values and indices, faster on wide rows.

    The k largest scores of a row lie in the k blocks of ``width`` columns whose maxima are
    largest, so only those k x width scores are ranked. Where a tie could make the order
    depend on how ``torch.topk`` breaks it (equal scores among the k + 1 best, or a next
    block's maximum reaching the k-th score), the row is ranked whole by ``torch.topk``.
    """
    b, n = scores.shape
    n_blocks = -(-n // width)
    if n_blocks < 4 * (k + 1):
        return torch.topk(scores, k, dim=1)
    full = n // width
    blocks = scores[:, : full * width].reshape(b, full, width)
    maxima = blocks.amax(dim=2)
    if full < n_blocks:
        maxima = torch.cat([maxima, scores[:, full * width :].amax(dim=1, keepdim=True)], dim=1)
    rows = torch.arange(b, device=scores.device)[:, None]

    def values_of(chosen):
        """(b, k) block indices to their (b, k * width) scores: 32 contiguous floats a block."""
        values = blocks[rows, chosen.clamp_max(full - 1)]
        if full < n_blocks:  # the partial last block: its columns, then -inf
            tail = scores[:, full * width :]
            for r, j in (chosen == full).nonzero().tolist():
                values[r, j] = float("-inf")
                values[r, j, : tail.shape[1]] = tail[r]
        return values.reshape(b, -1)

    return _from_maxima(maxima, values_of, lambda r: scores[r], k, width)


def _from_maxima(maxima, values_of, whole_rows, k: int, width: int):
    """top_k's selection, given each row's block maxima, the scores of chosen blocks
    (``values_of``: (b, k) block indices to their (b, k * width) scores, -inf past the
    catalogue's end) and whole rows (``whole_rows``: row indices to their scores).

    Of the chosen blocks' scores only those at least the k-th largest block maximum are
    ranked: the k maxima are such scores, so the k best are among them (and so is the
    (k + 1)-th wherever it ties with the k-th).
    """
    b = maxima.shape[0]
    block_max, block = torch.topk(maxima, k + 1, dim=1)
    chosen = block[:, :k]
    values = values_of(chosen)
    keep = values >= block_max[:, k - 1 : k]
    counts = keep.sum(dim=1)
    r, c = keep.nonzero(as_tuple=True)  # row by row
    slot = torch.arange(len(r), device=r.device) - (torch.cumsum(counts, 0) - counts)[r]
    slots = max(int(counts.max()), k + 1)
    candidates = torch.full((b, slots), float("-inf"), device=values.device)
    candidates[r, slot] = values[r, c]
    column = torch.zeros((b, slots), dtype=torch.int64, device=values.device)
    column[r, slot] = c
    best, at = torch.topk(candidates, k + 1, dim=1)
    at = column.gather(1, at[:, :k])
    out_values = best[:, :k].contiguous()
    out_index = chosen.gather(1, torch.div(at, width, rounding_mode="floor")) * width + at % width
    tied = (best[:, 1:] == best[:, :-1]).any(dim=1) | (block_max[:, k] >= best[:, k - 1])
    if tied.any():
        rows = tied.nonzero(as_tuple=True)[0]
        out_values[rows], out_index[rows] = torch.topk(whole_rows(rows), k, dim=1)
    return out_values, out_index


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
    all_hits = np.zeros((len(users), k), dtype=bool)
    blocked = None
    if candidates is not None:
        blocked = torch.from_numpy(np.flatnonzero(~np.asarray(candidates, bool)))
        kk = min(kk, int(np.asarray(candidates, bool).sum()))
    into = takes_out(score)
    buffer = None
    seen = _Rows(exclude, users, device) if exclude is not None else None
    wanted_rows = _Rows(relevant, users, device)
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
            if seen is not None:
                r, c = seen.block(start, stop)
                scores[r, c] = float("-inf")
            if blocked is not None:
                scores.index_fill_(1, blocked.to(scores.device), float("-inf"))
            values, idx = top_k(scores, kk)
            valid = torch.isfinite(values)
            r, c = wanted_rows.block(start, stop)
            wanted = r * n_items + c
            rows = torch.arange(len(block), device=scores.device)[:, None]
            hits = torch.isin(rows * n_items + idx, wanted) & valid
            idx = torch.where(valid, idx, torch.full_like(idx, -1))
            all_items[start:stop, :kk] = idx.cpu().numpy()
            all_hits[start:stop, :kk] = hits.cpu().numpy()
            if progress is not None:
                progress.advance(len(block))
    if progress is not None:
        progress.finish()
    return Ranking(users=users, items=all_items, hits=all_hits)
