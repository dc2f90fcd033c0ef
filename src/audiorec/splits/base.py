"""What every splitter returns, and the pair collapsing they share."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

USER, ITEM, TIME, COUNT = "user_id", "track_id", "timestamp", "count"
ORDER = "order"  # a pair's place in its user's sequence, comparable across the parts of a split

# How pairs first heard at the same instant are ordered: by item id, so that a
# split does not depend on the file's row order, or in the log's row order, as
# RecBole's and most sequential-recommendation code's stable sorts keep them.
TIES = ("item", "file")


@dataclass
class Split:
    """Unique (user, track) pairs with first listen and play count, per part.

    ``cold``, where a split has one (``hot_cold``), holds test pairs of tracks
    nobody heard in train; ``test`` then holds the hot ones.
    """

    train: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame
    cold: pd.DataFrame | None = None

    def parts(self) -> dict[str, pd.DataFrame]:
        out = {"train": self.train, "val": self.val, "test": self.test}
        if self.cold is not None:
            out["cold"] = self.cold
        return out


def validation_users(users: np.ndarray, val_fraction: float, seed: int) -> np.ndarray:
    """The study's draw of validation users among `users` (sorted ids), as its code does:
    ``train_test_split(users, test_size=1 - val_fraction, random_state=seed)``; the
    other users are the test users. scikit-learn is imported here, not with the module,
    because every job imports this package and only the split job draws."""
    from sklearn.model_selection import train_test_split

    return train_test_split(users, test_size=1 - val_fraction, random_state=seed)[0]


def check_ties(ties: str) -> str:
    if ties not in TIES:
        raise ValueError(f"split ties: {ties!r} is not one of {', '.join(TIES)}")
    return ties


def collapse_pairs(
    events: pd.DataFrame,
    user_col: str = USER,
    item_col: str = ITEM,
    time_col: str = TIME,
    ties: str = "item",
) -> pd.DataFrame:
    """One row per (user, item): first timestamp, number of events and sequence place.

    Rows are sorted by user, item. ``order`` ranks a user's pairs by first
    listen, same-instant pairs by the `ties` rule; sequential models and the
    leave-last-out split read the sequence from it, so the rule is applied once.
    """
    check_ties(ties)
    cols = events[[user_col, item_col, time_col]].reset_index(drop=True)
    grouped = cols.groupby([user_col, item_col], observed=True, sort=True)[time_col]
    out = grouped.agg(["min", "size"]).reset_index()
    out.columns = [user_col, item_col, time_col, COUNT]
    for col in (user_col, item_col):
        if isinstance(out[col].dtype, pd.CategoricalDtype):
            out[col] = out[col].astype(str)
    out[COUNT] = out[COUNT].astype("int64")
    # integer keys: pandas sorts of tens of millions of string rows are slow
    if ties == "file":  # the first row in the file among the pair's earliest events
        tie = grouped.idxmin().to_numpy()
    else:
        tie = pd.factorize(out[item_col], sort=True)[0]
    user = pd.factorize(out[user_col])[0]  # rows are grouped by user, so codes ascend
    ranked = np.lexsort((tie, out[time_col].to_numpy(), user))
    place = np.empty(len(out), np.int64)
    place[ranked] = np.arange(len(out))
    first = np.flatnonzero(np.r_[True, user[1:] != user[:-1]])
    out[ORDER] = place - first[user]
    return out


def split_stats(split: Split, user_col: str = USER, item_col: str = ITEM) -> pd.DataFrame:
    """Per part: pairs, users, items, plays, and tracks and plays per user (median, min, max),
    the columns of the journal version's statistics table."""
    rows = []
    for name, df in split.parts().items():
        per_user = df.groupby(user_col)
        tracks = per_user[item_col].count()
        plays = per_user[COUNT].sum() if COUNT in df else tracks
        row = {
            "part": name,
            "users": int(df[user_col].nunique()),
            "items": int(df[item_col].nunique()),
            "pairs": len(df),
            "plays": int(df[COUNT].sum()) if COUNT in df else len(df),
        }
        for label, series in (("tracks", tracks), ("plays", plays)):
            for stat in ("median", "min", "max"):
                value = getattr(series, stat)() if len(series) else 0
                row[f"{label}_per_user_{stat}"] = round(float(value))
        rows.append(row)
    return pd.DataFrame(rows)
