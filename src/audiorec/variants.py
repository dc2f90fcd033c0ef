"""Item-embedding variants: what a model is given in place of, or as, content.

frozen / finetune: the backbone's vectors (finetune lets training change them);
shuffled: the same vectors permuted across items, a control that keeps the
scale and dimension but breaks the link between a track and its audio;
random: Gaussian vectors with the backbone's per-dimension spread, no content.
"""

from __future__ import annotations

import zlib

import numpy as np

VARIANTS = ("frozen", "finetune", "random", "shuffled")


def apply_variant(
    vectors: np.ndarray, available: np.ndarray, variant: str, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(vectors, available) for `variant`; the input arrays are not modified."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r} (known: {', '.join(VARIANTS)})")
    # salted by the variant's name: no stream shared with other draws seeded alike
    rng = np.random.default_rng([seed, zlib.crc32(variant.encode())])
    vectors = np.array(vectors, dtype=np.float32, copy=True)
    available = np.array(available, dtype=bool, copy=True)
    if variant == "shuffled":
        rows = np.flatnonzero(available)
        vectors[rows] = vectors[rng.permutation(rows)]
    elif variant == "random":
        ref = vectors[available] if available.any() else vectors
        scale = ref.std(axis=0).mean() if ref.size else 1.0
        vectors = rng.normal(0.0, scale or 1.0, size=vectors.shape).astype(np.float32)
        available = np.ones_like(available)
    return vectors, available
