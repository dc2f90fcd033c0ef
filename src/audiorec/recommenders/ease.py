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
from audiorec.schema import choice


class EASE(Recommender):
    SCORING_STATE = ("_b",)
    PARAMS = {
        "l2": {"type": "number", "exclusiveMinimum": 0, "default": 500.0},
        "precision": choice(
            "fp64", "fp32", description="fp32 halves the memory (a GPU's inverse at 60k items)"
        ),
        "max_gb": {
            "type": "number",
            "exclusiveMinimum": 0,
            "default": 16.0,
            "description": "the item-item matrices' memory limit (items x items, thrice)",
        },
    }

    def fit(self, data, item_vectors=None, available=None):
        import torch

        n = data.n_items
        dtype = torch.float64 if self.params["precision"] == "fp64" else torch.float32
        need = dtype.itemsize * n * n * 3 / 1e9  # the Gram matrix, its inverse and the result
        if need > self.params["max_gb"]:
            raise MemoryError(
                f"EASE needs about {need:.1f} GB for {n:,} items (params.max_gb "
                f"{self.params['max_gb']}); ELSA is its factorised form for large catalogues"
            )
        x = data.matrix("train").astype(np.float64)
        host = np.float64 if dtype == torch.float64 else np.float32
        gram = torch.from_numpy((x.T @ x).astype(host).toarray()).to(self.device)
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
