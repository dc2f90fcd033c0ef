"""BERT-style masked-item training data: which positions are masked, and how the loss is scaled."""

from __future__ import annotations

import numpy as np
import torch

from audiorec.sequences.windows import padded


def masked(
    seqs: list[np.ndarray], rng: np.random.Generator, p: float, mask_id: int, pad_id: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(input ids with masks, positions scored (bool), their true items): each real
    position masked with probability `p`."""
    ids = padded(seqs, pad_id)
    real = ids != pad_id
    mask = (rng.random(ids.shape) < p) & real
    labels = ids[mask]
    ids = np.where(mask, mask_id, ids)
    return torch.from_numpy(ids), torch.from_numpy(mask), torch.from_numpy(labels)


def expected_masks(seqs: list[np.ndarray], n_batches: int, p: float) -> float:
    """Masked items a batch holds on average this epoch.

    A batch's summed loss is divided by this one number rather than by its own
    count, so that every masked item weighs the same in whichever batch it lands.
    """
    if not n_batches:
        return 0.0
    lengths, counts = np.unique([len(s) for s in seqs], return_counts=True)
    return float(p * lengths @ counts) / n_batches
