"""Several short sequences in one row, so shuffled batches do not pay for padding.

A shuffled batch mixes long and short sequences; padded to its longest, a
quarter of a batch of every-prefix sequences is padding, which the encoder
computes like any item. Packed, short sequences share rows: each position
carries its sequence's number (``segments``) and its place in that sequence
(``positions``), attention stays within a segment, and every sequence's hidden
states are what they would be in a row of its own. So a batch's loss and
gradient are unchanged and the encoder runs on fewer rows; the batch's
composition, which the optimisation depends on, is untouched.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch


class Packed(NamedTuple):
    ids: torch.Tensor  # (rows, width), padding where no sequence lies
    scored: torch.Tensor  # (rows, width) bool
    labels: torch.Tensor  # the scored positions' items, row-major over the packed rows
    segments: torch.Tensor  # (rows, width): the sequence's number in the batch, -1 on padding
    positions: torch.Tensor  # (rows, width): the place within its own sequence


def assign_rows(lengths: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Each sequence's row and offset there, every row holding at most ``width`` items.

    The longest sequence left opens a row and the shortest ones left fill it
    while they fit: one pass over the sorted lengths, and for the lengths of
    prefixes (roughly uniform) rows come out nearly full.
    """
    if len(lengths) and lengths.max() > width:
        raise ValueError(f"a sequence of {lengths.max()} items does not fit a row of {width}")
    order = np.argsort(-lengths, kind="stable")
    sizes = lengths[order].tolist()
    row = np.empty(len(lengths), dtype=np.int64)
    offset = np.empty(len(lengths), dtype=np.int64)
    first, last, n_rows = 0, len(sizes) - 1, 0
    while first <= last:
        row[order[first]], offset[order[first]] = n_rows, 0
        used = sizes[first]
        first += 1
        while first <= last and used + sizes[last] <= width:
            row[order[last]], offset[order[last]] = n_rows, used
            used += sizes[last]
            last -= 1
        n_rows += 1
    return row, offset, n_rows


def pack(ids: torch.Tensor, scored: torch.Tensor, labels: torch.Tensor, pad_id: int) -> Packed:
    """The padded batch (one sequence per row, real items first) in packed rows."""
    ids_np, scored_np = ids.numpy(), scored.numpy()
    real = ids_np != pad_id
    lengths = real.sum(1)
    width = ids_np.shape[1]
    row, offset, n_rows = assign_rows(lengths, width)
    seq, place = np.nonzero(real)
    cells = (row[seq], offset[seq] + place)
    shape = (n_rows, width)
    out_ids = np.full(shape, pad_id, dtype=ids_np.dtype)
    out_scored = np.zeros(shape, dtype=bool)
    segments = np.full(shape, -1, dtype=np.int64)
    positions = np.zeros(shape, dtype=np.int64)
    out_ids[cells], out_scored[cells] = ids_np[seq, place], scored_np[seq, place]
    segments[cells], positions[cells] = seq, place
    # labels follow the scored cells row by row: reorder them by their packed cell
    s_seq, s_place = np.nonzero(scored_np)
    packed_order = np.argsort(row[s_seq] * width + offset[s_seq] + s_place)
    out = (out_ids, out_scored, labels.numpy()[packed_order], segments, positions)
    return Packed(*(torch.from_numpy(np.ascontiguousarray(a)) for a in out))
