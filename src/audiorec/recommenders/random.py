"""Uniformly random ranking: the floor every model must clear."""

from __future__ import annotations

from audiorec.recommenders.base import Recommender


class RandomRanking(Recommender):
    SCORING_STATE = ("_n_items",)

    def fit(self, data, item_vectors=None, available=None):
        self._n_items = data.n_items
        self.loaded()
        return self

    def loaded(self) -> None:
        import torch

        self._gen = torch.Generator().manual_seed(self.seed)

    def score(self, users, history):
        import torch

        return torch.rand((len(users), self._n_items), generator=self._gen).to(self.device)


RECOMMENDER = RandomRanking
