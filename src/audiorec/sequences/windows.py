"""Users' item sequences cut into training and prediction windows, padded into id matrices."""

from __future__ import annotations

import numpy as np

from audiorec.schema import choice

TRAIN_WINDOWS = choice(
    "last",
    "all",
    "every_prefix",
    description="last: each user's most recent max_len items (the study); all: the whole "
    "history cut into consecutive max_len windows; every_prefix: every epoch, the history up "
    "to every point, its last max_len items each (RecBole's training data)",
)


def padded(seqs: list[np.ndarray], pad: int) -> np.ndarray:
    """Sequences left-aligned in one int64 matrix, `pad` after their ends."""
    out = np.full((len(seqs), max(1, max(len(s) for s in seqs))), pad, dtype=np.int64)
    for row, s in enumerate(seqs):
        out[row, : len(s)] = s
    return out


def training_sequences(history, n_users: int, max_len: int, mode: str) -> list[np.ndarray]:
    """Per user (with history): the last `max_len` items, or consecutive windows ending at
    the last (`all`), or the whole history (`every_prefix`, cut each epoch by `epoch_sequences`)."""
    seqs = []
    for u in range(n_users):
        s = history.sequence(u)
        if not len(s):
            continue
        if mode == "last":
            seqs.append(s[-max_len:])
        elif mode == "all":
            seqs += [s[max(0, end - max_len) : end] for end in range(len(s), 1, -max_len)]
        else:
            seqs.append(s)
    return seqs


def epoch_sequences(seqs: list[np.ndarray], max_len: int, mode: str) -> list[np.ndarray]:
    """This epoch's training sequences: for `every_prefix`, every prefix of at least two
    items (a history of n items gives n - 1), each its last `max_len` items."""
    if mode != "every_prefix":
        return seqs
    return [s[max(0, e - max_len) : e] for s in seqs for e in range(2, len(s) + 1)]


def recent(history, users: np.ndarray, length: int, pad: int, append: int | None = None):
    """The last `length` known items of each user (the last `length - 1` plus `append`, when
    given: BERT4Rec's mask), right-padded."""
    keep = length - (append is not None)
    seqs = []
    for u in users:
        s = history.sequence(u)[-keep:] if keep > 0 else np.zeros(0, np.int64)
        seqs.append(np.append(s, append).astype(np.int64) if append is not None else s)
    return padded(seqs, pad)
