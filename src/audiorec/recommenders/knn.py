"""Content KNN, as in the study: a user is the mean of their items' vectors.

User vectors are the unweighted mean of the raw vectors of the user's known
items; with cosine similarity users and items are L2-normalised and the
search is exact (one matrix product per block of users). Items whose audio
could not be embedded are never recommended and do not enter user means.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from audiorec.recommenders.base import Recommender

if TYPE_CHECKING:
    import torch


class ContentKNN(Recommender):
    uses_content = True
    supported_variants = ("frozen", "random", "shuffled")
    SCORING_STATE = ("_available", "_raw_np", "_items_t", "_blocked")
    PARAMS = {
        "similarity": {"enum": ["cosine", "dot"], "default": "cosine"},
        "standardize": {
            "type": "boolean",
            "default": False,
            "description": "z-score each dimension over items first (not in the study)",
        },
    }

    def fit(self, data, item_vectors=None, available=None):
        import torch

        if item_vectors is None:
            raise ValueError("knn needs item vectors")
        v = np.asarray(item_vectors, dtype=np.float32)
        self._available = (
            np.ones(len(v), bool) if available is None else np.asarray(available, bool)
        )
        if self.params["standardize"]:
            ref = v[self._available]
            v = (v - ref.mean(0)) / np.where(ref.std(0) > 0, ref.std(0), 1.0)
            v[~self._available] = 0.0
        self._raw_np = np.ascontiguousarray(v)
        items = torch.from_numpy(self._raw_np).to(self.device)
        if self.params["similarity"] == "cosine":
            items = torch.nn.functional.normalize(items, dim=1)
        self._items_t = items.T.contiguous()
        self._blocked = torch.from_numpy(~self._available).to(self.device)
        return self

    def user_vectors(self, users: np.ndarray, history) -> torch.Tensor:
        import torch

        h = history.matrix[users].multiply(self._available[np.newaxis, :]).tocsr()
        h.data[:] = 1.0
        n = np.asarray(h.sum(axis=1)).ravel()
        mean = sp.diags(1.0 / np.maximum(n, 1)) @ h @ self._raw_np
        u = torch.from_numpy(np.asarray(mean, dtype=np.float32)).to(self.device)
        if self.params["similarity"] == "cosine":
            u = torch.nn.functional.normalize(u, dim=1)
        return u

    def score(self, users, history, out=None):
        """Cosine (or dot) scores of every item; `out`: a (len(users), n_items) buffer to fill."""
        import torch

        s = torch.matmul(self.user_vectors(users, history), self._items_t, out=out)
        s[:, self._blocked] = float("-inf")
        return s


RECOMMENDER = ContentKNN
