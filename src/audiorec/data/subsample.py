"""A share of each user's train history, for curves of accuracy against training size.

Each train user keeps ``ceil(share x their pairs)`` of their train pairs (at
least one), drawn at random with a fixed seed, so a training job and its
evaluation job draw the same pairs. Validation and test pairs and the item
index stay as they were: the catalogue is the full train's, so an item whose
every train pair was dropped is still ranked (a content model can still
place it; a collaborative one has nothing to go on), and test pairs keep
counting against every training size alike.
"""

from __future__ import annotations

import numpy as np

from audiorec.data.interactions import IndexedSplit


def subsample_train(data: IndexedSplit, share: float, seed: int) -> IndexedSplit:
    """A copy of ``data`` whose train part holds ``share`` of each user's pairs."""
    if not 0 < share <= 1:
        raise ValueError(f"training share must be in (0, 1], got {share}")
    if share == 1:
        return data
    train = data.frames["train"]
    users = train["uidx"].to_numpy()
    key = np.random.default_rng(seed).random(len(train))
    order = np.lexsort((key, users))  # per user, a random order of their pairs
    sorted_users = users[order]
    starts = np.searchsorted(sorted_users, sorted_users, side="left")
    rank = np.arange(len(order)) - starts
    counts = np.bincount(users, minlength=data.n_users)
    keep_n = np.maximum(np.ceil(share * counts), 1).astype(np.int64)
    keep = np.zeros(len(train), bool)
    keep[order[rank < keep_n[sorted_users]]] = True
    frames = {**data.frames, "train": train[keep].reset_index(drop=True)}
    return IndexedSplit(users=data.users, items=data.items, frames=frames)
