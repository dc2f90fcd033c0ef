"""What every splitter returns, and the pair collapsing they share."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

USER, ITEM, TIME, COUNT = "user_id", "track_id", "timestamp", "count"


@dataclass
class Split:
    """Unique (user, track) pairs with first listen and play count, per part."""

    train: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame

    def parts(self) -> dict[str, pd.DataFrame]:
        return {"train": self.train, "val": self.val, "test": self.test}


def collapse_pairs(
    events: pd.DataFrame, user_col: str = USER, item_col: str = ITEM, time_col: str = TIME
) -> pd.DataFrame:
    """One row per (user, item): first timestamp and number of events, sorted by user, item."""
    grouped = events.groupby([user_col, item_col], observed=True, sort=True)[time_col]
    out = grouped.agg(["min", "size"]).reset_index()
    out.columns = [user_col, item_col, time_col, COUNT]
    for col in (user_col, item_col):
        if isinstance(out[col].dtype, pd.CategoricalDtype):
            out[col] = out[col].astype(str)
    out[COUNT] = out[COUNT].astype("int64")
    return out


def split_stats(split: Split, user_col: str = USER, item_col: str = ITEM) -> pd.DataFrame:
    rows = [
        {
            "part": name,
            "users": int(df[user_col].nunique()),
            "items": int(df[item_col].nunique()),
            "pairs": len(df),
            "plays": int(df[COUNT].sum()) if COUNT in df else len(df),
        }
        for name, df in split.parts().items()
    ]
    return pd.DataFrame(rows)
