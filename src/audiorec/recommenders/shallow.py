"""The study's shallow net: users and items through one shared Linear + ReLU, cosine score.

As in the authors' code: a training sample is a train pair (item, user) with
20 negative users drawn uniformly from all train users; the loss is the hinge
mean(max(0, margin - cos(u+, i) + cos(u-, i))) with margin 0.2; user vectors
start as the mean of their items' vectors; Adam, plateau schedule, early
stopping on the same loss over validation pairs (their negatives fixed across
epochs, so the curve is not noise).

``train_users`` (default true) is the paper's intent; the authors' code, with
its inverted freeze flag, trained the item table and froze the users:
``variants: [finetune]`` with ``train_users: false`` reproduces that.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from audiorec.recommenders.trained import TrainedRecommender
from audiorec.training import epoch_rng, step, summary, tracked

if TYPE_CHECKING:
    import torch

VAL_STREAM = 1


class ShallowNet(TrainedRecommender):
    SCORING_STATE = ("net", "_items_out")
    PARAMS = {
        **TrainedRecommender.COMMON,
        "hidden": {
            "type": "integer",
            "minimum": 0,
            "default": 0,
            "description": "0: the input width",
        },
        "negatives": {"type": "integer", "minimum": 1, "default": 20},
        "margin": {"type": "number", "default": 0.2},
        "batch_size": {
            "type": "integer",
            "minimum": 1,
            "default": 10000,
            "description": "positive pairs per step",
        },
        "train_users": {"type": "boolean", "default": True},
        "user_init": {
            "enum": ["mean", "random"],
            "default": "mean",
            "description": "mean of the user's items, or N(0, init_std) (the study's random-init run)",
        },
        "init_std": {
            "type": "number",
            "exclusiveMinimum": 0,
            "default": 1.0,
            "description": "random variant (nn.Embedding's default)",
        },
    }

    def fit(self, data, item_vectors=None, available=None):
        import torch

        from audiorec.networks.shallow import ShallowTower

        self._n_items = data.n_items
        items, train_items = self.item_table(item_vectors, available, self.params["init_std"])
        train_m = data.matrix("train")
        counts = np.asarray(train_m.sum(axis=1)).ravel()
        if self.params["user_init"] == "mean":
            users = (train_m @ items.numpy().astype(np.float64)) / np.maximum(counts, 1)[:, None]
        else:
            gen = np.random.default_rng([self.seed, 8])
            users = gen.normal(0.0, self.params["init_std"], (data.n_users, items.shape[1]))
        torch.manual_seed(self.seed)
        hidden = self.params["hidden"] or items.shape[1]
        self.net = ShallowTower(
            torch.as_tensor(users, dtype=torch.float32),
            items,
            hidden,
            self.params["train_users"],
            train_items,
        )
        self.net.to(self.device)

        coo = train_m.tocoo()
        self._pos = (
            torch.from_numpy(coo.row.astype(np.int64)),
            torch.from_numpy(coo.col.astype(np.int64)),
        )
        self._train_users = np.flatnonzero(counts > 0)
        val = data.frames["val"]
        val = val[(val["iidx"] >= 0) & np.isin(val["uidx"], self._train_users)]
        if val.empty:
            raise ValueError(
                "the shallow net needs validation pairs of train users for early stopping"
            )
        vrng = epoch_rng(self.seed, 0, VAL_STREAM)
        self._val = (
            torch.tensor(val["uidx"].to_numpy(np.int64)),
            torch.tensor(val["iidx"].to_numpy(np.int64)),
            torch.from_numpy(
                self._train_users[
                    vrng.integers(0, len(self._train_users), (len(val), self.params["negatives"]))
                ]
            ),
        )
        self.train_net(data, item_vectors, available)
        with torch.no_grad():
            self._items_out = self.net.embed(self.net.items).T.contiguous()
        return self

    def _loss(
        self, users: torch.Tensor, items: torch.Tensor, negatives: torch.Tensor
    ) -> torch.Tensor:
        import torch

        dev = self.device
        users, items, negatives = users.to(dev), items.to(dev), negatives.to(dev)
        with self._autocast():
            fi = self.net.embed(self.net.items, items)
            if (
                len(users) * (1 + negatives.shape[1]) > self.net.users.shape[0]
            ):  # cheaper: every user once
                fu = self.net.embed(self.net.users)
                pos, neg = fu[users], fu[negatives]
            else:
                pos, neg = (
                    self.net.embed(self.net.users, users),
                    self.net.embed(self.net.users, negatives),
                )
            s_pos = (pos * fi).sum(-1, keepdim=True)
            s_neg = (neg * fi.unsqueeze(1)).sum(-1)
            return torch.clamp(self.params["margin"] - s_pos + s_neg, min=0).float().mean()

    def _train_epoch(self, epoch: int, optimizer: torch.optim.Optimizer) -> float:
        import torch

        rng = epoch_rng(self.seed, epoch)
        users, items = self._pos
        order = torch.from_numpy(rng.permutation(len(users)))
        total, batches = 0.0, 0
        bs = self.params["batch_size"]
        for start in tracked(range(0, len(order), bs), epoch):
            idx = order[start : start + bs]
            neg = torch.from_numpy(
                self._train_users[
                    rng.integers(0, len(self._train_users), (len(idx), self.params["negatives"]))
                ]
            )
            loss = self._loss(users[idx], items[idx], neg)
            total += step(optimizer, loss)
            batches += 1
        return total / max(batches, 1)

    def _val_loss(self, epoch: int) -> float:
        users, items, negatives = self._val
        total, n = 0.0, 0
        for start in range(0, len(users), self.params["batch_size"]):
            sl = slice(start, start + self.params["batch_size"])
            total += self._loss(users[sl], items[sl], negatives[sl]).item() * len(users[sl])
            n += len(users[sl])
        return total / n

    def score(self, users, history):
        import torch

        with torch.no_grad():
            u = self.net.embed(self.net.users, torch.as_tensor(users, device=self.device))
            return u.float() @ self._items_out.float()

    def info(self) -> dict:
        return {
            **summary(self.progress),
            "hidden": self.params["hidden"] or int(self.net.items.shape[1]),
        }


RECOMMENDER = ShallowNet
