"""What ELSA and the hybrid share: training a linear autoencoder of users' history rows.

A user's row of the train matrix goes in, x A Aᵀ − x comes out, and the
loss is ELSA's normalised mean squared error against the row. Batches of
user rows are shuffled each epoch; early stopping watches the validation
users' held-out rows predicted from their train rows. Scoring is the same
reconstruction of the user's known items.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from audiorec.recommenders.trained import TrainedRecommender
from audiorec.training import epoch_rng, step, summary, tracked


class LinearAutoencoder(TrainedRecommender):
    SCORING_STATE = ("net",)
    PARAMS: ClassVar[dict] = {
        **TrainedRecommender.COMMON,
        "lr": {"type": "number", "exclusiveMinimum": 0, "default": 0.01},
        "batch_size": {
            "type": "integer",
            "minimum": 1,
            "default": 128,
            "description": "users per step",
        },
    }

    def build(self, data, item_vectors, available):
        """The network; its ``items()`` gives the normalised factors A."""
        raise NotImplementedError

    def fit(self, data, item_vectors=None, available=None):
        import torch

        torch.manual_seed(self.seed)
        self.net = self.build(data, item_vectors, available).to(self.device)
        self._train_m = data.matrix("train")
        self._train_users = np.flatnonzero(np.diff(self._train_m.indptr) > 0)
        val_users = data.users_of("val")
        val_users = val_users[np.diff(self._train_m.indptr)[val_users] > 0]
        if not len(val_users):
            raise ValueError(f"{type(self).__name__} needs validation users with train history")
        self._val = (self._train_m[val_users], data.matrix("val")[val_users])
        self.train_net(data, item_vectors, available)
        return self

    def _dense(self, rows):
        import torch

        return torch.from_numpy(rows.toarray().astype(np.float32)).to(self.device)

    def _loss(self, x, target):
        from audiorec.networks.elsa import nmse, reconstruct

        with self._autocast():
            return nmse(reconstruct(x, self.net.items()).float(), target)

    def _train_epoch(self, epoch: int, optimizer) -> float:
        from audiorec.sequences.batches import shuffled

        rng = epoch_rng(self.seed, epoch)
        total, n = 0.0, 0
        batches = shuffled(len(self._train_users), self.params["batch_size"], rng)
        for batch in tracked(batches, epoch):
            x = self._dense(self._train_m[self._train_users[batch]])
            total += step(optimizer, self._loss(x, x)) * len(batch)
            n += len(batch)
        return total / max(n, 1)

    def _val_loss(self, epoch: int) -> float:
        known, held = self._val
        total, bs = 0.0, self.params["batch_size"]
        for start in range(0, known.shape[0], bs):
            x, y = self._dense(known[start : start + bs]), self._dense(held[start : start + bs])
            total += self._loss(x, y).item() * x.shape[0]
        return total / known.shape[0]

    def score(self, users, history):
        import torch

        from audiorec.networks.elsa import reconstruct

        x = self._dense(history.matrix[np.asarray(users)])
        with torch.no_grad(), self._autocast():
            return reconstruct(x, self.net.items()).float()

    def info(self) -> dict:
        return summary(self.progress)
