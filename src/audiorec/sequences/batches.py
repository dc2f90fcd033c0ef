"""An epoch's batches: every sequence once, in a seeded random order."""

from __future__ import annotations

import numpy as np


def shuffled(n: int, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Index batches of a random permutation of `n` sequences."""
    order = rng.permutation(n)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]
