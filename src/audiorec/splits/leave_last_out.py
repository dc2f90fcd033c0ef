"""Leave-last-out: the usual protocol of sequential recommendation papers.

Per user, unique pairs ordered by first listen (same-instant pairs by the
`ties` rule): the last one is the test item, the second last the validation
item, the rest train. Users with fewer than
``max(3, min_user_items)`` pairs stay whole in train (no held-out item), as
RecBole and the BERT4Rec paper do.
"""

from __future__ import annotations

import pandas as pd

from audiorec.splits.base import ITEM, ORDER, TIME, USER, Split, check_ties, collapse_pairs


class LeaveLastOutSplitter:
    def __init__(
        self,
        min_user_items: int = 0,
        user_col: str = USER,
        item_col: str = ITEM,
        time_col: str = TIME,
        ties: str = "item",
    ):
        self.min_user_items = max(3, min_user_items)
        self.ties = check_ties(ties)
        self.user_col, self.item_col, self.time_col = user_col, item_col, time_col

    def split(self, events: pd.DataFrame) -> Split:
        u, i, t = self.user_col, self.item_col, self.time_col
        pairs = collapse_pairs(events, u, i, t, self.ties)
        pairs = pairs.sort_values([u, ORDER], kind="stable").reset_index(drop=True)
        size = pairs.groupby(u, sort=False)[i].transform("size")
        from_end = pairs.groupby(u, sort=False).cumcount(ascending=False)
        held = size >= self.min_user_items
        test = pairs[held & (from_end == 0)]
        val = pairs[held & (from_end == 1)]
        train = pairs[~held | (from_end >= 2)]
        return Split(*(df.reset_index(drop=True) for df in (train, val, test)))
