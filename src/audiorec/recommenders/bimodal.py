"""The journal version's bimodal model: a content encoder aligned with ELSA's item factors.

First ELSA is trained on the listening data (its settings: ``elsa_*``);
then two MLPs (Linear, ReLU, Linear; 768 wide) map each item's content
vector and its ELSA factors into one space, trained with the decoupled
contrastive loss (temperature 0.1, both directions) over batches of items,
stopping on that loss over all items. Users are the mean of their items'
vectors, scored by cosine as in KNN, with the items' ``output`` vectors:
``content`` (the default: any track with audio, cold ones included),
``collaborative`` or their ``average``.
"""

from __future__ import annotations

import numpy as np

from audiorec.recommenders.elsa import ELSA
from audiorec.recommenders.trained import TrainedRecommender
from audiorec.schema import choice
from audiorec.training import epoch_rng, step, summary, tracked


class Bimodal(TrainedRecommender):
    SCORING_STATE = ("_items_out",)
    supported_variants = ("frozen", "shuffled", "random")
    PARAMS = {
        **TrainedRecommender.COMMON,
        "hidden": {"type": "integer", "minimum": 1, "default": 768},
        "temperature": {"type": "number", "exclusiveMinimum": 0, "default": 0.1},
        "batch_size": {
            "type": "integer",
            "minimum": 2,
            "default": 10000,
            "description": "items per step",
        },
        "output": choice("content", "collaborative", "average"),
        "elsa_factors": {"type": "integer", "minimum": 1, "default": 768},
        "elsa_epochs": {"type": "integer", "minimum": 1, "default": 10},
    }

    @classmethod
    def content_free(cls, variant: str, params: dict) -> bool:
        return False

    @classmethod
    def scores_cold(cls, variant: str, params: dict) -> bool:
        return True  # every variant maps content vectors (random ones for the control)

    def fit(self, data, item_vectors=None, available=None):
        import torch

        from audiorec.networks.elsa import BimodalNet

        if item_vectors is None:
            raise ValueError("the bimodal model needs item vectors")
        p = self.params
        elsa = ELSA(
            {
                "factors": p["elsa_factors"],
                "max_epochs": p["elsa_epochs"],
                "patience": p["elsa_epochs"],
            },
            seed=self.seed,
            device=str(self.device),
        ).fit(data)
        collaborative = elsa.net.items().detach()
        torch.manual_seed(self.seed)
        content = torch.as_tensor(item_vectors, dtype=torch.float32, device=self.device)
        self.net = BimodalNet(content, collaborative, p["hidden"]).to(self.device)
        self._n = data.n_items
        self.train_net(data, item_vectors, available)
        with torch.no_grad():
            a, b = self.net(torch.arange(self._n, device=self.device))
            self._items_out = {"content": a, "collaborative": b, "average": (a + b) / 2}[
                p["output"]
            ]
        return self

    def _loss(self, items):
        from audiorec.networks.elsa import decoupled_contrastive

        t = self.params["temperature"]
        with self._autocast():
            a, b = self.net(items)
            return decoupled_contrastive(a.float(), b.float(), t) + decoupled_contrastive(
                b.float(), a.float(), t
            )

    def _train_epoch(self, epoch: int, optimizer) -> float:
        import torch

        from audiorec.sequences.batches import shuffled

        rng = epoch_rng(self.seed, epoch)
        total, n = 0.0, 0
        for batch in tracked(shuffled(self._n, self.params["batch_size"], rng), epoch):
            items = torch.from_numpy(batch).to(self.device)
            total += step(optimizer, self._loss(items)) * len(batch)
            n += len(batch)
        return total / max(n, 1)

    def _val_loss(self, epoch: int) -> float:
        """The loss over every item in fixed batches (the journal stops on the training loss)."""
        import torch

        total, bs = 0.0, self.params["batch_size"]
        for start in range(0, self._n, bs):
            items = torch.arange(start, min(start + bs, self._n), device=self.device)
            total += self._loss(items).item() * len(items)
        return total / self._n

    def score(self, users, history):
        import torch
        import torch.nn.functional as F

        items = F.normalize(self._items_out.float(), dim=-1)
        h = history.matrix[np.asarray(users)]
        n = np.maximum(np.asarray(h.sum(axis=1)).ravel(), 1)
        rows = torch.from_numpy((h.multiply(1 / n[:, None])).toarray().astype(np.float32))
        return F.normalize(rows.to(items.device) @ items, dim=-1) @ items.T

    def info(self) -> dict:
        return summary(self.progress)


RECOMMENDER = Bimodal
