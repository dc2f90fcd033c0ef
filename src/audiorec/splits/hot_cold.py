"""The journal version's split (Tamm & Aljanaki, "Adopting state-of-the-art pretrained audio
representations", its ``data/src/split.py``): hot and cold test pairs.

Events in [test date - ``train_years``, test date + ``test_months``) are
collapsed to (user, track) pairs with first listen and play count; train is
the collapse of the events before the test date; test pairs are those first
heard on or after it, of users seen in train. A test pair whose track occurs
in train is *hot*, the others *cold*. Validation users are drawn only from
hot-test users without a cold pair (``train_test_split(users,
test_size=0.7, random_state=42)``: the first part is validation); their hot
pairs form the validation part, the other users' hot pairs the (hot) test,
and every cold pair the cold test.
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


def window(test_date, train_years: int, test_months: int) -> tuple[pd.Timestamp, ...]:
    test = pd.Timestamp(test_date)
    return test - pd.DateOffset(years=train_years), test, test + pd.DateOffset(months=test_months)


class HotColdSplitter:
    def __init__(
        self,
        test_date: str,
        train_years: int = 1,
        test_months: int = 1,
        val_fraction: float = 0.3,
        seed: int = 42,
        ties: str = "item",
    ):
        self.start, self.test_date, self.end = window(test_date, train_years, test_months)
        self.val_fraction, self.seed, self.ties = val_fraction, seed, check_ties(ties)

    def split(self, events: pd.DataFrame) -> Split:
        t = events[TIME]
        events = events[((t >= self.start) & (t < self.end)).to_numpy()]
        pairs = collapse_pairs(events, ties=self.ties)
        heard = pairs[pairs[TIME] >= self.test_date]
        train = collapse_pairs(events[(events[TIME] < self.test_date).to_numpy()], ties=self.ties)
        if train.empty:
            raise ValueError(f"no events in the year before the test date {self.test_date.date()}")
        heard = heard[heard[USER].isin(train[USER].unique())]
        is_hot = heard[ITEM].isin(train[ITEM].unique())
        hot, cold = heard[is_hot], heard[~is_hot]
        candidates = np.sort(hot.loc[~hot[USER].isin(cold[USER].unique()), USER].unique())
        if len(candidates) < 2:
            raise ValueError(
                f"{len(candidates)} hot-test user(s) without cold pairs: too few to divide "
                "into validation and test"
            )
        val_users = validation_users(candidates, self.val_fraction, self.seed)
        in_val = hot[USER].isin(val_users)
        log.info(
            "hot/cold split at %s: %d train pairs, %d validation users, %d hot and %d cold test pairs",
            self.test_date.date(),
            len(train),
            len(val_users),
            int((~in_val).sum()),
            len(cold),
        )
        parts = (train, hot[in_val], hot[~in_val], cold)
        return Split(*(df.reset_index(drop=True) for df in parts))
