"""Uniformly random ranking: the floor every model must clear."""

from __future__ import annotations

import torch

from audiorec.recommenders.base import Recommender


class RandomRanking(Recommender):
    def fit(self, data, item_vectors=None, available=None):
        self._n_items = data.n_items
        self._gen = torch.Generator().manual_seed(self.seed)
        return self

    def score(self, users, history):
        return torch.rand((len(users), self._n_items), generator=self._gen).to(self.device)


RECOMMENDER = RandomRanking
