"""Uniformly random ranking: the floor every model must clear."""

from __future__ import annotations

from audiorec.recommenders.base import Recommender


class RandomRanking(Recommender):
    SCORING_STATE = ("_n_items",)

    @classmethod
    def scores_cold(cls, variant: str, params: dict) -> bool:
        return True  # chance, the reference every block is tested against

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
