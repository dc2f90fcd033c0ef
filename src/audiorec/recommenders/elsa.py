"""ELSA (Vančura et al. 2022), the journal version's collaborative linear autoencoder.

Normalised item factors A (768 wide); a user's history row x scores the
items as x A Aᵀ − x; trained on the normalised MSE against x (Adam, lr
0.01, batches of 128 users). Reads no audio: it is the collaborative
reference the hybrid and the bimodal model build on, and on cold tracks,
which no training row holds, it can only guess.
"""

from __future__ import annotations

from audiorec.recommenders.linear_autoencoder import LinearAutoencoder


class ELSA(LinearAutoencoder):
    uses_content = False
    supported_variants = ()
    PARAMS = {
        **LinearAutoencoder.PARAMS,
        "factors": {"type": "integer", "minimum": 1, "default": 768},
    }

    def build(self, data, item_vectors, available):
        from audiorec.networks.elsa import ELSANet

        return ELSANet(data.n_items, self.params["factors"])


RECOMMENDER = ELSA
