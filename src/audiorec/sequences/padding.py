"""Padding of variable-length item sequences into one id matrix."""

from __future__ import annotations

import numpy as np


def padded(seqs: list[np.ndarray], pad: int) -> np.ndarray:
    out = np.full((len(seqs), max(1, max(len(s) for s in seqs))), pad, dtype=np.int64)
    for row, s in enumerate(seqs):
        out[row, : len(s)] = s
    return out
