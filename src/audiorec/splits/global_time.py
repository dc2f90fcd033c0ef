"""The study's global time split (Tamm & Aljanaki 2024, and its journal version).

Follows the authors' preprocessing exactly: events before the start date are
dropped; train pairs are collapsed from events before the test date (so their
play counts ignore later plays); test pairs are the pairs whose *first* listen
falls on or after the test date, restricted to users and tracks seen in train;
the sorted test-period users are divided by scikit-learn's
``train_test_split(users, test_size=1 - val_fraction, random_state=seed)``,
whose first part becomes the validation users.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from audiorec.splits.base import (
    ITEM,
    TIME,
    USER,
    Split,
    check_ties,
    collapse_pairs,
    validation_users,
)

log = logging.getLogger(__name__)


class GlobalTimeSplitter:
    def __init__(
        self,
        test_date: str,
        start_date: str | None = None,
        end_date: str | None = None,
        val_fraction: float = 0.5,
        seed: int = 42,
        user_col: str = USER,
        item_col: str = ITEM,
        time_col: str = TIME,
        ties: str = "item",
    ):
        self.test_date = pd.Timestamp(test_date)
        self.ties = check_ties(ties)
        self.start_date = pd.Timestamp(start_date) if start_date else None
        self.end_date = pd.Timestamp(end_date) if end_date else pd.Timestamp.now().floor("s")
        self.val_fraction = val_fraction
        self.seed = seed
        self.user_col, self.item_col, self.time_col = user_col, item_col, time_col

    def split(self, events: pd.DataFrame) -> Split:
        u, i, t = self.user_col, self.item_col, self.time_col
        times = events[t]
        keep = np.ones(len(events), dtype=bool)
        if self.start_date is not None:
            keep &= (times >= self.start_date).to_numpy()
        keep &= (times < self.end_date).to_numpy()  # without an end date: now
        late = int((times >= self.end_date).sum())
        if late:
            log.warning("dropped %d events at or after %s (in the future)", late, self.end_date)
        events = events[keep]
        before = (events[t] < self.test_date).to_numpy()

        # a train pair's place among all of its user's pairs is its place among
        # the train pairs: every pair ahead of it was first heard no later
        pairs = collapse_pairs(events, u, i, t, self.ties)
        test = pairs[pairs[t] >= self.test_date]
        train = collapse_pairs(events[before], u, i, t, self.ties)
        if train.empty:
            raise ValueError(
                f"no events between the start date and the test date {self.test_date.date()}"
            )
        test = test[test[u].isin(train[u].unique()) & test[i].isin(train[i].unique())]

        users = np.sort(test[u].unique())
        if len(users) < 2:
            raise ValueError(
                f"{len(users)} test-period user(s): too few to divide into validation and test"
            )
        val_users = validation_users(users, self.val_fraction, self.seed)
        in_val = test[u].isin(val_users)
        val, test = test[in_val], test[~in_val]
        log.info(
            "global time split at %s: %d train pairs, %d validation users, %d test users",
            self.test_date.date(),
            len(train),
            len(val_users),
            len(users) - len(val_users),
        )
        return Split(*(df.reset_index(drop=True) for df in (train, val, test)))
