"""EASE (Steck 2019): the closed-form item-item linear autoencoder, where the catalogue fits.

B = I − P / diag(P) with P = (XᵀX + λI)⁻¹ over the train matrix X; a user's
history row scores the items as x B. The collaborative baseline the study
names as missing and most of the field reports beside its models (ELSA is its
factorised, scalable form). Dense in the catalogue: n_items² floats, refused
beyond ``max_gb`` with a message that points to ELSA. Reads no audio: on cold
items, which no train row holds, its scores carry no information.
"""

from __future__ import annotations

import numpy as np

from audiorec.recommenders.base import Recommender


class EASE(Recommender):
    SCORING_STATE = ("_b",)
    PARAMS = {
        "l2": {"type": "number", "exclusiveMinimum": 0, "default": 500.0},
        "max_gb": {
            "type": "number",
            "exclusiveMinimum": 0,
            "default": 16.0,
            "description": "the item-item matrix's memory limit (float64 items x items, thrice)",
        },
    }

    def fit(self, data, item_vectors=None, available=None):
        import torch

        n = data.n_items
        need = 8 * n * n * 3 / 1e9  # the Gram matrix, its inverse and the result, float64
        if need > self.params["max_gb"]:
            raise MemoryError(
                f"EASE needs about {need:.1f} GB for {n:,} items (params.max_gb "
                f"{self.params['max_gb']}); ELSA is its factorised form for large catalogues"
            )
        x = data.matrix("train").astype(np.float64)
        gram = torch.from_numpy((x.T @ x).toarray()).to(self.device)
        gram.diagonal().add_(self.params["l2"])
        p = torch.linalg.inv(gram)
        b = -p / p.diagonal()
        b.diagonal().zero_()
        self._b = b.to(torch.float32)
        return self

    def score(self, users, history, out=None):
        import torch

        rows = history.matrix[users].tocoo()
        x = torch.sparse_coo_tensor(
            np.vstack([rows.row, rows.col]),
            np.ones(rows.nnz, np.float32),
            rows.shape,
            check_invariants=False,  # scipy's COO: in range by construction
        ).to(self._b.device)
        scores = torch.sparse.mm(x, self._b)
        if out is None:
            return scores
        return out.copy_(scores)


RECOMMENDER = EASE
