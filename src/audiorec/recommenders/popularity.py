"""Most-listened-to first: the number of train users of each item."""

from __future__ import annotations

import numpy as np

from audiorec.recommenders.base import Recommender


class Popularity(Recommender):
    SCORING_STATE = ("_scores",)

    def fit(self, data, item_vectors=None, available=None):
        import torch

        counts = np.asarray(data.matrix("train").sum(axis=0)).ravel()
        self._scores = torch.as_tensor(counts, dtype=torch.float32, device=self.device)
        return self

    def score(self, users, history):
        return self._scores.unsqueeze(0).repeat(len(users), 1)


RECOMMENDER = Popularity
