"""BERT4Rec over an item table taken from the backbone, as in the study.

The model: a BERT encoder (2 layers, 2 heads, feed-forward 256, dropout 0.1,
``audiorec.networks.bert``) whose input rows are the item table plus a
trained mask row and a zero padding row, and whose output layer is the same
table (tied). Hidden size is the table's width (``project_to`` narrows it
for very wide vectors).

Training, as the study: each user's last ``max_len`` (300) train items, each
masked with probability 0.2; the loss is the full-softmax cross-entropy of
the masked items; shuffled batches of 128 sequences, packed so that short
sequences share a row; Adam, plateau schedule, early stopping on the
validation loss (``audiorec.training``). Validation (``study``): the
validation-period sequences of users with at least 10 of them, masked the
same way with masks fixed across epochs; ``next_item`` predicts each
validation item from the train history plus a mask (for splits with one
validation item per user). Prediction: the last 49 known items plus a mask.

Options beyond the study: ``train_windows`` (train on every prefix, as
RecBole does, or on the whole history in consecutive windows) and
``select_by: ndcg`` (pick the epoch by validation NDCG@10 of the full
ranking, as RecBole does).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np

from audiorec.recommenders.trained import TrainedRecommender
from audiorec.schema import choice
from audiorec.sequences.windows import TRAIN_WINDOWS
from audiorec.training import epoch_rng, step, summary, tracked

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)
VAL_STREAM = 1


class BERT4Rec(TrainedRecommender):
    SCORING_STATE = ("net", "_n_items")
    PARAMS = {
        **TrainedRecommender.COMMON,
        "layers": {"type": "integer", "minimum": 1, "default": 2},
        "heads": {"type": "integer", "minimum": 1, "default": 2},
        "ffn": {"type": "integer", "minimum": 1, "default": 256},
        "dropout": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.1},
        "max_len": {"type": "integer", "minimum": 2, "default": 300},
        "mask_prob": {"type": "number", "exclusiveMinimum": 0, "maximum": 1, "default": 0.2},
        "batch_size": {
            "type": "integer",
            "minimum": 1,
            "default": 128,
            "description": "sequences per step",
        },
        "predict_window": {
            "type": "integer",
            "minimum": 1,
            "default": 50,
            "description": "known items + 1 mask",
        },
        "project_to": {"type": ["integer", "null"], "minimum": 2, "default": None},
        "init_std": {"type": "number", "exclusiveMinimum": 0, "default": 0.02},
        "validation": {"enum": ["auto", "study", "next_item"], "default": "auto"},
        "val_min_items": {"type": "integer", "minimum": 1, "default": 10},
        "train_windows": TRAIN_WINDOWS,
        "select_by": choice(
            "loss",
            "ndcg",
            description="early stopping and best epoch by validation loss (the study) or by "
            "validation NDCG@10 of the full ranking, train items removed (RecBole's selection)",
        ),
        "loss_chunk": {
            "type": ["integer", "null"],
            "minimum": 1,
            "default": None,
            "description": "masked positions per logit block; null: as many as keep a block's logits within 256 MB",
        },
    }

    def fit(self, data, item_vectors=None, available=None):
        import torch

        from audiorec.networks.bert import BertNet
        from audiorec.sequences.windows import training_sequences

        p = self.params
        self._n_items = data.n_items
        items, train_items = self.item_table(item_vectors, available, p["init_std"])
        torch.manual_seed(self.seed)
        self.net = BertNet(
            items, train_items, p, max_positions=max(p["max_len"], p["predict_window"], 200)
        ).to(self.device)
        hist = data.history("train")
        self._train_seqs = training_sequences(hist, data.n_users, p["max_len"], p["train_windows"])
        self._val_batches = self._validation(data, hist)
        if p["select_by"] == "ndcg":
            users = data.users_of("val")
            users = users[hist.lengths()[users] > 0]
            self._val_ranking = (users, hist, data.matrix("val"), data.n_relevant("val")[users])
        self.train_net(data, item_vectors, available)
        return self

    # -- the loss ---------------------------------------------------------------
    def _masked(self, seqs, rng):
        from audiorec.sequences.masking import masked

        return masked(seqs, rng, self.params["mask_prob"], self.net.mask_id, self.net.pad_id)

    def _loss_sum(self, ids, scored, labels, packed=None) -> tuple[torch.Tensor, int]:
        """Summed cross-entropy of the masked items, and their number."""
        from audiorec.sequences.loss import chunked_cross_entropy

        dev = self.device
        ids, scored, labels = ids.to(dev), scored.to(dev), labels.to(dev)
        if packed is not None:
            packed = tuple(t.to(dev) for t in packed)
        with self._autocast():
            table = self.net.table()
            hidden = self.net.encode(ids, table, scored, packed)
            loss = chunked_cross_entropy(
                hidden, labels, table, self.net.logits, self.params["loss_chunk"]
            )
            return loss, len(labels)

    def _train_epoch(self, epoch: int, optimizer) -> float:
        from audiorec.sequences.batches import shuffled
        from audiorec.sequences.masking import expected_masks
        from audiorec.sequences.packing import pack
        from audiorec.sequences.windows import epoch_sequences

        p = self.params
        rng = epoch_rng(self.seed, epoch)
        seqs = epoch_sequences(self._train_seqs, p["max_len"], p["train_windows"])
        batches = shuffled(len(seqs), p["batch_size"], rng)
        per_batch = expected_masks(seqs, len(batches), p["mask_prob"])
        total, n = 0.0, 0
        for batch in tracked(batches, epoch):
            ids, scored, labels = self._masked([seqs[i] for i in batch], rng)
            if len(labels) == 0:
                continue
            ids, scored, labels, *packed = pack(ids, scored, labels, self.net.pad_id)
            loss_sum, count = self._loss_sum(ids, scored, labels, packed)
            total += step(optimizer, loss_sum / per_batch) * per_batch
            n += count
        return total / max(n, 1)

    # -- validation -------------------------------------------------------------
    def _validation(self, data, hist) -> list[tuple]:
        import torch

        from audiorec.sequences.windows import recent

        p = self.params
        vhist = data.history("val")
        counts = vhist.lengths()
        mode = p["validation"]
        if mode == "auto":
            mode = "study" if (counts >= p["val_min_items"]).any() else "next_item"
        rng = epoch_rng(self.seed, 0, VAL_STREAM)
        batches, bs = [], p["batch_size"]
        if mode == "study":
            seqs = [
                vhist.sequence(u)[-p["max_len"] :]
                for u in np.flatnonzero(counts >= p["val_min_items"])
            ]
            for start in range(0, len(seqs), bs):
                batches.append(("masked", *self._masked(seqs[start : start + bs], rng)))
        else:
            val = data.frames["val"]
            users = np.unique(val.loc[val["iidx"] >= 0, "uidx"].to_numpy())
            users = users[hist.lengths()[users] > 0]
            targets = {u: vhist.sequence(u) for u in users}
            for start in range(0, len(users), bs):
                block = users[start : start + bs]
                ids = recent(hist, block, p["max_len"], self.net.pad_id, append=self.net.mask_id)
                rows = np.concatenate([np.full(len(targets[u]), i) for i, u in enumerate(block)])
                labels = np.concatenate([targets[u] for u in block])
                batches.append(("next", *(torch.from_numpy(a) for a in (ids, rows, labels))))
        if not batches:
            raise ValueError(
                "bert4rec needs validation users (with train history) for early stopping"
            )
        log.info("validation: %s, %d batches", mode, len(batches))
        self._validation_mode = mode
        return batches

    def _val_loss(self, epoch: int) -> float:
        if self.params["select_by"] == "ndcg":
            return -self._val_ndcg()  # the training loop minimises
        from audiorec.sequences.loss import chunked_cross_entropy

        total, count = 0.0, 0
        for kind, a, b, c in self._val_batches:
            if kind == "masked":
                if len(c) == 0:
                    continue
                s, k = self._loss_sum(a, b, c)
            else:
                ids, rows, labels = (t.to(self.device) for t in (a, b, c))
                with self._autocast():
                    table = self.net.table()
                    hidden = self.net.encode_last(ids, table)[rows]
                    s = chunked_cross_entropy(hidden, labels, table, self.net.logits)
                    k = len(labels)
            total += s.item()
            count += k
        return total / max(count, 1)

    def _val_ndcg(self) -> float:
        """Validation NDCG@10 of the full ranking, train items removed as the workflow ranks."""
        from audiorec.evaluation.metrics import from_hits
        from audiorec.evaluation.ranking import rank

        users, hist, relevant, n_relevant = self._val_ranking
        r = rank(lambda b: self.score(b, hist), users, hist.matrix, relevant, k=10)
        return float(from_hits(r.hits, n_relevant, [10])["NDCG@10"].mean())

    # -- scoring ----------------------------------------------------------------
    def score(self, users, history):
        import torch

        from audiorec.sequences.windows import recent

        ids = recent(
            history,
            np.asarray(users),
            self.params["predict_window"],
            self.net.pad_id,
            append=self.net.mask_id,
        )
        ids = torch.from_numpy(ids).to(self.device)
        with torch.no_grad(), self._autocast():
            table = self.net.table()
            out = self.net.logits(self.net.encode_last(ids, table), table[: self._n_items])
        return out.float()

    def info(self) -> dict:
        return {
            **summary(self.progress),
            "validation": self._validation_mode,
            "hidden": self.net.norm.normalized_shape[0],
        }


RECOMMENDER = BERT4Rec
