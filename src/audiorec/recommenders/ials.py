"""Implicit ALS (Hu, Koren & Volinsky 2008) through the ``implicit`` package.

Factors of users and items fitted by alternating least squares on the binary
train matrix, confidence 1 + ``alpha`` on observed pairs; a user's scores are
their factor against every item's. The collaborative baseline Yambda and most
of the field report; ``implicit`` (PyPI, CPU) does the fitting, with its own
seeded initialisation. Reads no audio: a cold item has no factor to speak of.
"""

from __future__ import annotations

import numpy as np

from audiorec.recommenders.base import Recommender


class IALS(Recommender):
    SCORING_STATE = ("_users", "_items")
    PARAMS = {
        "factors": {"type": "integer", "minimum": 1, "default": 64},
        "regularization": {"type": "number", "minimum": 0, "default": 0.01},
        "alpha": {"type": "number", "exclusiveMinimum": 0, "default": 1.0},
        "iterations": {"type": "integer", "minimum": 1, "default": 15},
    }

    def fit(self, data, item_vectors=None, available=None):
        import torch
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        p = self.params
        x = data.matrix("train").astype(np.float32).tocsr()
        with threadpool_limits(1, "blas"):  # implicit's own threads; BLAS's would compete
            model = AlternatingLeastSquares(
                factors=p["factors"],
                regularization=p["regularization"],
                alpha=p["alpha"],
                iterations=p["iterations"],
                random_state=self.seed,
                num_threads=torch.get_num_threads(),
            )
            model.fit(x, show_progress=False)
        self._users = torch.from_numpy(np.ascontiguousarray(model.user_factors)).to(self.device)
        self._items = torch.from_numpy(np.ascontiguousarray(model.item_factors)).to(self.device)
        return self

    def score(self, users, history, out=None):
        import torch

        return torch.matmul(self._users[users], self._items.T, out=out)


RECOMMENDER = IALS
