"""Full-softmax cross-entropy over an item table, in blocks of positions under checkpointing.

With 100k items, the logits of a whole batch's scored positions would be a
positions x items matrix of gigabytes; blocks of positions keep at most one
block's logits (256 MB by default) alive, recomputed in the backward pass.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.nn import functional as F
from torch.utils.checkpoint import checkpoint


def chunked_cross_entropy(
    hidden: torch.Tensor,
    labels: torch.Tensor,
    table: torch.Tensor,
    logits: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    chunk: int | None = None,
) -> torch.Tensor:
    """Summed cross-entropy of `logits(hidden rows, table)` against `labels`."""

    def block(h, y, t):
        return F.cross_entropy(logits(h, t).float(), y, reduction="sum")

    total = hidden.new_zeros((), dtype=torch.float32)
    chunk = chunk or max(256, 2**26 // table.shape[0])
    for start in range(0, len(labels), chunk):
        h, y = hidden[start : start + chunk], labels[start : start + chunk]
        if torch.is_grad_enabled() and len(labels) > chunk:
            total = total + checkpoint(block, h, y, table, use_reentrant=False)
        else:
            total = total + block(h, y, table)
    return total
