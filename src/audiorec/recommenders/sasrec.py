"""SASRec (Kang & McAuley 2018): next-item prediction with causal self-attention.

The standard sequential baseline, beyond the study: the sequential
literature finds it at least as strong as BERT4Rec. Its network
(``audiorec.networks.sasrec``) reads the item table from the backbone with
the same variants as BERT4Rec (frozen, finetune, random, shuffled); each
position of a user's sequence predicts the next item, with full-softmax
cross-entropy over every item (as RecBole's ``loss_type: CE``), and the
output layer tied to the table.

Training: each user's last ``max_len`` + 1 train items (the first
``max_len`` in, the last ``max_len`` as targets), shuffled batches, Adam,
plateau schedule, early stopping on the validation loss: every validation
item predicted from the user's train history and the validation items
before it. Prediction: the last ``max_len`` known items, the last
position's output.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np

from audiorec.recommenders.trained import TrainedRecommender
from audiorec.sequences.windows import TRAIN_WINDOWS
from audiorec.training import epoch_rng, step, summary, tracked

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)


class SASRec(TrainedRecommender):
    SCORING_STATE = ("net", "_n_items")
    PARAMS = {
        **TrainedRecommender.COMMON,
        "layers": {"type": "integer", "minimum": 1, "default": 2},
        "heads": {"type": "integer", "minimum": 1, "default": 2},
        "ffn": {"type": "integer", "minimum": 1, "default": 256},
        "dropout": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.1},
        "max_len": {"type": "integer", "minimum": 2, "default": 200},
        "batch_size": {"type": "integer", "minimum": 1, "default": 128},
        "project_to": {"type": ["integer", "null"], "minimum": 2, "default": None},
        "init_std": {"type": "number", "exclusiveMinimum": 0, "default": 0.02},
        "train_windows": TRAIN_WINDOWS,
        "loss_chunk": {"type": ["integer", "null"], "minimum": 1, "default": None},
    }

    def fit(self, data, item_vectors=None, available=None):
        import torch

        from audiorec.networks.sasrec import SASRecNet
        from audiorec.sequences.windows import training_sequences

        p = self.params
        self._n_items = data.n_items
        items, train_items = self.item_table(item_vectors, available, p["init_std"])
        torch.manual_seed(self.seed)
        self.net = SASRecNet(items, train_items, p, max_positions=p["max_len"] + 1).to(self.device)
        hist = data.history("train")
        seqs = training_sequences(hist, data.n_users, p["max_len"] + 1, p["train_windows"])
        self._train_seqs = (
            [s for s in seqs if len(s) > 1] if p["train_windows"] != "every_prefix" else seqs
        )
        self._val_batches = self._validation(data, hist)
        self.train_net(data, item_vectors, available)
        return self

    def _loss_sum(
        self, seqs: list[np.ndarray], targets: list[np.ndarray]
    ) -> tuple[torch.Tensor, int]:
        """Summed next-item cross-entropy: `seqs` in, `targets` (-1: not scored) per position."""
        import torch

        from audiorec.sequences.loss import chunked_cross_entropy
        from audiorec.sequences.windows import padded

        ids = torch.from_numpy(padded(seqs, self.net.pad_id)).to(self.device)
        y = torch.from_numpy(padded(targets, -1)).to(self.device)
        rows = y >= 0
        with self._autocast():
            table = self.net.table()
            hidden = self.net.encode(ids, table, rows)
            loss = chunked_cross_entropy(
                hidden, y[rows], table[: self._n_items], self.net.logits, self.params["loss_chunk"]
            )
        return loss, int(rows.sum())

    def _train_epoch(self, epoch: int, optimizer) -> float:
        from audiorec.sequences.batches import shuffled
        from audiorec.sequences.windows import epoch_sequences

        p = self.params
        rng = epoch_rng(self.seed, epoch)
        seqs = epoch_sequences(self._train_seqs, p["max_len"] + 1, p["train_windows"])
        total, n = 0.0, 0
        for batch in tracked(shuffled(len(seqs), p["batch_size"], rng), epoch):
            chosen = [seqs[i] for i in batch]
            loss_sum, count = self._loss_sum([s[:-1] for s in chosen], [s[1:] for s in chosen])
            total += step(optimizer, loss_sum / max(count, 1)) * count
            n += count
        return total / max(n, 1)

    def _validation(self, data, hist) -> list[tuple[list, list]]:
        """Per batch: sequences (train history then validation items) and their targets,
        the validation items only."""
        p = self.params
        vhist = data.history("val")
        users = [u for u in range(data.n_users) if len(vhist.sequence(u)) and len(hist.sequence(u))]
        batches = []
        for start in range(0, len(users), p["batch_size"]):
            seqs, targets = [], []
            for u in users[start : start + p["batch_size"]]:
                known, held = hist.sequence(u), vhist.sequence(u)
                whole = np.concatenate([known, held])[-(p["max_len"] + 1) :]
                target = whole[1:].copy()
                target[: len(target) - len(held)] = -1  # score the validation items only
                seqs.append(whole[:-1])
                targets.append(target)
            batches.append((seqs, targets))
        if not batches:
            raise ValueError(
                "sasrec needs validation users (with train history) for early stopping"
            )
        return batches

    def _val_loss(self, epoch: int) -> float:
        total, count = 0.0, 0
        for seqs, targets in self._val_batches:
            s, k = self._loss_sum(seqs, targets)
            total += s.item()
            count += k
        return total / max(count, 1)

    def score(self, users, history):
        import torch

        from audiorec.sequences.windows import recent

        ids = recent(history, np.asarray(users), self.params["max_len"], self.net.pad_id)
        ids = torch.from_numpy(ids).to(self.device)
        last = (ids != self.net.pad_id).sum(1) - 1
        rows = torch.zeros_like(ids, dtype=torch.bool)
        rows[torch.arange(len(ids), device=ids.device), last.clamp(min=0)] = True
        with torch.no_grad(), self._autocast():
            table = self.net.table()
            out = self.net.logits(self.net.encode(ids, table, rows), table[: self._n_items])
        out = out.float()
        out[last < 0] = 0.0  # no history: an uninformed ranking (the evaluator says so)
        return out

    def info(self) -> dict:
        return {**summary(self.progress), "hidden": self.net.norm.normalized_shape[0]}


RECOMMENDER = SASRec
