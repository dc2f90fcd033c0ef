"""The journal version's hybrid: ELSA whose item factors are an MLP of the content vectors.

A = normalise(MLP(content)), with MLP = Linear(content, 768), ReLU,
Linear(768, 768), trained as ELSA is (normalised MSE of x A Aᵀ − x against
the user's row). The content vectors stay as the backbone made them; every
track with audio gets a row, so cold tracks are scored by what they sound
like.
"""

from __future__ import annotations

from audiorec.recommenders.linear_autoencoder import LinearAutoencoder


class Hybrid(LinearAutoencoder):
    uses_content = True
    supported_variants = ("frozen", "shuffled", "random")
    PARAMS = {
        **LinearAutoencoder.PARAMS,
        "hidden": {"type": "integer", "minimum": 1, "default": 768},
    }

    @classmethod
    def content_free(cls, variant: str, params: dict) -> bool:
        return False  # random: Gaussian content vectors of the backbone's width (a control)

    @classmethod
    def scores_cold(cls, variant: str, params: dict) -> bool:
        return True  # every variant maps content vectors (random ones for the control)

    def build(self, data, item_vectors, available):
        import torch

        from audiorec.networks.elsa import HybridNet

        if item_vectors is None:
            raise ValueError("the hybrid needs item vectors")
        content = torch.as_tensor(item_vectors, dtype=torch.float32)
        return HybridNet(content, self.params["hidden"])


RECOMMENDER = Hybrid
