"""Integer-indexed view of a split: the matrices models and the evaluator share.

Items are indexed by the sorted train track ids (the candidate set of full
ranking), users by the sorted ids of everybody in any part. Held-out pairs
whose track never occurs in train cannot be ranked; they still count as
relevant, so recall is not flattered by dropping them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from audiorec.splits.base import COUNT, ITEM, ORDER, TIME, USER, Split


@dataclass
class IndexedSplit:
    users: pd.Index
    items: pd.Index
    frames: dict[
        str, pd.DataFrame
    ]  # per part: uidx, iidx (-1 if not a train item), timestamp, count, order if the split gave it
    matrices: dict[str, sp.csr_matrix] = field(default_factory=dict)

    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_items(self) -> int:
        return len(self.items)

    def history(self, *parts: str) -> History:
        """What the users of `parts` are known to have heard, as a matrix and in time order."""
        return History(self, parts)

    def matrix(self, *parts: str) -> sp.csr_matrix:
        """Binary users x items matrix of the rankable pairs in `parts` (summed)."""
        key = "+".join(parts)
        if key not in self.matrices:
            frames = [self.frames[p] for p in parts]
            f = pd.concat(frames) if len(frames) > 1 else frames[0]
            f = f[f["iidx"] >= 0]
            m = sp.csr_matrix(
                (np.ones(len(f), np.float32), (f["uidx"].to_numpy(), f["iidx"].to_numpy())),
                shape=(self.n_users, self.n_items),
            )
            m.sum_duplicates()
            m.data[:] = 1.0
            self.matrices[key] = m
        return self.matrices[key]

    def n_relevant(self, part: str) -> np.ndarray:
        """Held-out pairs per user in `part`, rankable or not."""
        return np.bincount(self.frames[part]["uidx"].to_numpy(), minlength=self.n_users)

    def users_of(self, part: str) -> np.ndarray:
        return np.flatnonzero(self.n_relevant(part) > 0)

    def unrankable(self, part: str) -> int:
        return int((self.frames[part]["iidx"] < 0).sum())

    @property
    def cold_items(self) -> np.ndarray:
        """Item indices of the cold part's tracks (none without one): never in train."""
        if "cold" not in self.frames:
            return np.zeros(0, np.int64)
        return np.unique(self.frames["cold"]["iidx"].to_numpy())


class History:
    """Known items per user: a binary matrix, and sequences ordered by first listen.

    KNN needs the matrix, sequential models the order; both come from the same
    pairs. Same-instant pairs follow the split's `order` column (its `ties`
    rule), or item index for splits made without one.
    """

    def __init__(self, data: IndexedSplit, parts: tuple[str, ...]):
        self.data, self.parts = data, tuple(parts)
        self._indptr = self._items = None

    @property
    def matrix(self) -> sp.csr_matrix:
        return self.data.matrix(*self.parts)

    def _build(self) -> None:
        frames = [self.data.frames[p] for p in self.parts]
        f = pd.concat(frames) if len(frames) > 1 else frames[0]
        f = f[f["iidx"] >= 0].drop_duplicates(["uidx", "iidx"])
        tie = f[ORDER] if all(ORDER in fr for fr in frames) else f["iidx"]
        order = np.lexsort((tie.to_numpy(), f[TIME].to_numpy(), f["uidx"].to_numpy()))
        self._items = f["iidx"].to_numpy()[order].astype(np.int64)
        counts = np.bincount(f["uidx"].to_numpy(), minlength=self.data.n_users)
        self._indptr = np.concatenate([[0], np.cumsum(counts)])

    def sequence(self, user: int) -> np.ndarray:
        if self._indptr is None:
            self._build()
        return self._items[self._indptr[user] : self._indptr[user + 1]]

    def lengths(self) -> np.ndarray:
        if self._indptr is None:
            self._build()
        return np.diff(self._indptr)


def index_split(split: Split, user_col: str = USER, item_col: str = ITEM) -> IndexedSplit:
    """Users and items as integer indices. Items are the train items plus, with a cold
    part, its tracks (nobody heard them in train: content models can still score them)."""
    parts = split.parts()
    known = [parts["train"][item_col].astype(str)]
    if "cold" in parts:
        known.append(parts["cold"][item_col].astype(str))
    items = pd.Index(np.sort(pd.concat(known).unique()), name=item_col)
    users = pd.Index(
        np.sort(pd.concat([df[user_col].astype(str) for df in parts.values()]).unique()),
        name=user_col,
    )
    frames = {}
    for name, df in parts.items():
        frames[name] = pd.DataFrame(
            {
                "uidx": users.get_indexer(df[user_col].astype(str)),
                "iidx": items.get_indexer(df[item_col].astype(str)),
                TIME: df[TIME].to_numpy() if TIME in df else np.zeros(len(df), "datetime64[ns]"),
                COUNT: df[COUNT].to_numpy() if COUNT in df else np.ones(len(df), np.int64),
            }
        )
        if ORDER in df:
            frames[name][ORDER] = df[ORDER].to_numpy()
    return IndexedSplit(users=users, items=items, frames=frames)


def load_split(paths: dict) -> Split:
    """The split's Parquet files (train, val, test and, where given, cold) as a Split."""
    frames = [pd.read_parquet(paths[p]) for p in ("train", "val", "test")]
    cold = pd.read_parquet(paths["cold"]) if paths.get("cold") else None
    return Split(*frames, cold=cold)
