"""BERT4Rec over an item table taken from the backbone, as in the study.

The encoder is BERT's (the authors used transformers' BertModel): learned
positions plus the type-0 embedding added to the input rows, LayerNorm
(eps 1e-12) and dropout, then post-norm layers of self-attention and a GELU
feed-forward (``audiorec.networks.encoder``, checked against BertModel), initialised
N(0, 0.02) as BERT does. Input rows are the item
table plus a mask row (N(0, 0.02), trained) and a zero padding row; the output
layer is tied to the same table (no bias), and the softmax runs over every
row, specials included, as in the authors' code (``output_head: bert`` puts
BERT's masked-LM head, dense + GELU + LayerNorm, and an output bias in
between, as RecBole's BERT4Rec does). Hidden size = the table's
width, unless ``project_to`` sets a narrower encoder (for 4,800-wide Jukebox
vectors), in which case input and output go through one shared projection.

Training: a user's last ``max_len`` (300) train items (``train_windows: all``
cuts the whole history into consecutive windows instead, so that no
interaction is left out when histories are longer; ``random_prefix`` cuts each
history at a random point every epoch and keeps the ``max_len`` items before
it, which samples RecBole's training on every prefix of every sequence at the
cost of one sequence per user per epoch; ``every_prefix`` trains on all those
prefixes every epoch, RecBole's training data), each masked with
probability 0.2, full-softmax cross-entropy on the masked positions, batches
of 128 sequences, Adam, plateau schedule, early stopping on validation loss.
Batches are shuffled, as the study's and RecBole's are, and packed
(``audiorec.sequences.packing``: short sequences share a row, each attending only within
itself), which spares their padding exactly. ``batching: by_length`` groups
sequences of similar length instead (sorted within pools of 50 batches, then
shuffled), audiorec's default before packing, which on MovieLens-100k left
seeds on an early validation plateau that shuffled batches escape
(docs/benchmarks.md). Each batch's summed loss is divided by the number of
masked items a batch holds on average over the epoch, not by its own count
(``loss_norm: epoch``), so that in length-grouped batches a masked item
weighs what it weighs in shuffled ones, rather than more in a batch of short
sequences.
Validation (``validation: study``): the validation-period sequences of users
with at least ``val_min_items`` (10) of them, masked the same way (masks fixed
across epochs); ``next_item`` predicts each validation item from the train
history plus a mask (leave-last-out splits have one validation item per user);
``auto`` picks ``study`` when some user qualifies. ``select_by: ndcg`` stops
and picks the epoch by validation NDCG@10 of the full ranking instead (logged
as a loss of -NDCG@10), as RecBole does; ``ndcg_with_history`` leaves the
user's train items in that ranking, as RecBole's sequential models do.
``next_item_ratio`` turns that share of training batches into next-item
samples (each sequence's last item masked alone, the batch's loss its own
mean), and ``max_masked`` scores only a sequence's last that many masked
items: both as RecBole 1.2 trains, neither in the study. Prediction feeds the last
``predict_window - 1`` known items plus a mask (the study: 49 + 1).

The cross-entropy is computed in chunks of masked positions under activation
checkpointing, so a catalogue of 100k items never needs a positions x items
logit matrix for a whole batch at once.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np

from audiorec.recommenders.trained import TrainedRecommender
from audiorec.schema import choice
from audiorec.sequences.padding import padded
from audiorec.training import epoch_rng, step, summary, train

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
        "train_windows": choice(
            "last",
            "all",
            "random_prefix",
            "every_prefix",
            description="last: each user's most recent max_len items (the study); all: the whole history, cut into consecutive max_len windows; random_prefix: each epoch, the history up to a random point (RecBole's every-prefix training, sampled); every_prefix: every epoch, the history up to every point (RecBole's training data)",
        ),
        "mask_prob": {"type": "number", "exclusiveMinimum": 0, "maximum": 1, "default": 0.2},
        "next_item_ratio": {
            "type": "number",
            "minimum": 0,
            "maximum": 1,
            "default": 0,
            "description": "share of training batches that mask only each sequence's last item instead of random ones (RecBole's ft_ratio, 0.5 in RecBole 1.2; the study: 0)",
        },
        "max_masked": {
            "type": ["integer", "null"],
            "minimum": 1,
            "default": None,
            "description": "score at most a sequence's last max_masked masked items (the others stay masked in the input), as RecBole does with int(mask_ratio x max_len); null: all of them (the study)",
        },
        "batching": choice(
            "random",
            "by_length",
            description="random: shuffled batches (the study's and RecBole's), packed so that short sequences share rows; by_length: batches of sequences of similar length (audiorec's default before packing)",
        ),
        "loss_norm": choice(
            "epoch",
            "batch",
            description="epoch: a batch's summed loss over the expected number of masked items per batch of the epoch, so each masked item weighs the same in whichever batch it lands (as under random batches); batch: over its own count, which with by_length batching weighs items in batches of short sequences up",
        ),
        "batch_size": {
            "type": "integer",
            "minimum": 1,
            "default": 128,
            "description": "sequences per step (one per user unless train_windows: all)",
        },
        "predict_window": {
            "type": "integer",
            "minimum": 1,
            "default": 50,
            "description": "known items + 1 mask",
        },
        "project_to": {"type": ["integer", "null"], "minimum": 2, "default": None},
        "output_head": choice(
            "tied",
            "bert",
            description="tied: scores = hidden · item rows (the study); bert: BERT's MLM head and an output bias first (RecBole)",
        ),
        "init_std": {"type": "number", "exclusiveMinimum": 0, "default": 0.02},
        "validation": {"enum": ["auto", "study", "next_item"], "default": "auto"},
        "select_by": choice(
            "loss",
            "ndcg",
            "ndcg_with_history",
            description="early stopping and best epoch by validation loss (the study), by validation NDCG@10 of the full ranking with the user's train items removed (the study's ranking), or with them left in (RecBole's ranking for sequential models)",
        ),
        "val_min_items": {"type": "integer", "minimum": 1, "default": 10},
        "loss_chunk": {
            "type": ["integer", "null"],
            "minimum": 1,
            "default": None,
            "description": "masked positions per logit block; null: as many as keep a block's logits within 256 MB (float32)",
        },
    }

    def fit(self, data, item_vectors=None, available=None):
        import torch

        from audiorec.networks.bert import BertNet

        p = self.params
        self._n_items = data.n_items
        items, train_items = self.item_table(item_vectors, available, p["init_std"])
        torch.manual_seed(self.seed)
        self.net = BertNet(
            items, train_items, p, max_positions=max(p["max_len"], p["predict_window"], 200)
        ).to(self.device)
        hist = data.history("train")
        self._train_seqs = self._windows(hist, data.n_users)
        self._val_batches = self._validation(data, hist)
        if p["select_by"] != "loss":
            users = data.users_of("val")
            users = users[hist.lengths()[users] > 0]
            self._val_ranking = (users, hist, data.matrix("val"), data.n_relevant("val")[users])
        self.progress = train(
            self.net,
            self._train_epoch,
            self._val_loss,
            p,
            self.seed,
            self.checkpoint,
            identity=self.run_identity(data, item_vectors, available),
        )
        return self

    # -- data -----------------------------------------------------------------
    def _windows(self, hist, n_users: int) -> list[np.ndarray]:
        """Training sequences: the last max_len items of each user, or all items in windows ending at the last.

        For ``random_prefix`` and ``every_prefix`` these are whole histories,
        cut each epoch by ``_epoch_sequences``.
        """
        size = self.params["max_len"]
        seqs = []
        for u in range(n_users):
            s = hist.sequence(u)
            if not len(s):
                continue
            if self.params["train_windows"] == "last":
                seqs.append(s[-size:])
            elif self.params["train_windows"] == "all":
                seqs += [s[max(0, end - size) : end] for end in range(len(s), 1, -size)]
            else:
                seqs.append(s)
        return seqs

    def _epoch_sequences(self, rng: np.random.Generator) -> list[np.ndarray]:
        """This epoch's training sequences, for the prefix modes cut from whole histories.

        A prefix keeps the ``max_len`` items before its end and has at least
        two items (one item alone, masked, leaves nothing to attend to), so a
        history of n items gives n - 1 prefixes, as many as RecBole's
        every-prefix training has for it; ``random_prefix`` draws one of them.
        """
        mode, size = self.params["train_windows"], self.params["max_len"]
        if mode == "every_prefix":
            return [s[max(0, e - size) : e] for s in self._train_seqs for e in range(2, len(s) + 1)]
        if mode != "random_prefix":
            return self._train_seqs
        lengths = np.array([len(s) for s in self._train_seqs])
        ends = rng.integers(np.minimum(lengths, 2), lengths + 1)
        return [s[max(0, e - size) : e] for s, e in zip(self._train_seqs, ends, strict=True)]

    def _masked(self, seqs: list[np.ndarray], rng: np.random.Generator, last_only: bool = False):
        """Masked input ids, the positions scored and their items.

        ``last_only`` masks each sequence's last item alone, a next-item
        sample of the kind RecBole mixes in (``next_item_ratio``). With
        ``max_masked`` only a sequence's last that many masked positions are
        scored; the earlier ones stay masked in the input, as in RecBole.
        """
        import torch

        ids = padded(seqs, self.net.pad_id)
        real = ids != self.net.pad_id
        if last_only:
            mask = np.zeros_like(real)
            mask[np.arange(len(ids)), real.sum(1) - 1] = True
        else:
            mask = (rng.random(ids.shape) < self.params["mask_prob"]) & real
        scored = mask
        if self.params["max_masked"] is not None:
            from_end = np.cumsum(mask[:, ::-1], axis=1)[:, ::-1]  # masked here or later
            scored = mask & (from_end <= self.params["max_masked"])
        labels = ids[scored]
        ids = np.where(mask, self.net.mask_id, ids)
        return torch.from_numpy(ids), torch.from_numpy(scored), torch.from_numpy(labels)

    def _validation(self, data, hist) -> list[tuple]:
        import torch

        p = self.params
        val = data.frames["val"]
        val = val[val["iidx"] >= 0]
        vhist = data.history("val")
        counts = vhist.lengths()
        mode = p["validation"]
        if mode == "auto":
            mode = "study" if (counts >= p["val_min_items"]).any() else "next_item"
        rng = epoch_rng(self.seed, 0, VAL_STREAM)
        batches = []
        bs = p["batch_size"]
        if mode == "study":
            seqs = [
                vhist.sequence(u)[-p["max_len"] :]
                for u in np.flatnonzero(counts >= p["val_min_items"])
            ]
            for start in range(0, len(seqs), bs):
                batches.append(("masked", *self._masked(seqs[start : start + bs], rng)))
        else:
            users = np.unique(val["uidx"].to_numpy())
            users = users[hist.lengths()[users] > 0]
            targets = {u: vhist.sequence(u) for u in users}
            for start in range(0, len(users), bs):
                block = users[start : start + bs]
                ids = torch.from_numpy(self._window(hist, block, p["max_len"]))
                rows = np.concatenate([np.full(len(targets[u]), i) for i, u in enumerate(block)])
                labels = np.concatenate([targets[u] for u in block])
                batches.append(("next", ids, torch.from_numpy(rows), torch.from_numpy(labels)))
        if not batches:
            raise ValueError(
                "bert4rec needs validation users (with train history) for early stopping"
            )
        log.info("validation: %s, %d batches", mode, len(batches))
        self._validation_mode = mode
        return batches

    def _window(self, hist, users: np.ndarray, length: int) -> np.ndarray:
        """The last length-1 known items of each user plus a mask, right-padded."""
        seqs = [
            np.append(hist.sequence(u)[-(length - 1) :] if length > 1 else [], self.net.mask_id)
            for u in users
        ]
        return padded([s.astype(np.int64) for s in seqs], self.net.pad_id)

    # -- loss -----------------------------------------------------------------
    def _ce(self, hidden: torch.Tensor, labels: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
        """Summed full-softmax cross-entropy, block by block under checkpointing."""
        import torch
        from torch.nn import functional as F
        from torch.utils.checkpoint import checkpoint

        def block(h, y, t):
            return F.cross_entropy(self.net.logits(h, t).float(), y, reduction="sum")

        total = hidden.new_zeros((), dtype=torch.float32)
        chunk = self.params["loss_chunk"] or max(256, 2**26 // table.shape[0])
        for start in range(0, len(labels), chunk):
            h, y = hidden[start : start + chunk], labels[start : start + chunk]
            if torch.is_grad_enabled() and len(labels) > chunk:
                total = total + checkpoint(block, h, y, table, use_reentrant=False)
            else:
                total = total + block(h, y, table)
        return total

    def _masked_loss(self, ids, mask, labels, packed=None) -> tuple[torch.Tensor, int]:
        dev = self.device
        ids, mask, labels = ids.to(dev), mask.to(dev), labels.to(dev)
        if packed is not None:
            packed = tuple(t.to(dev) for t in packed)
        with self._autocast():
            table = self.net.table()
            h = self.net.encode(ids, table, mask, packed)
            return self._ce(h, labels, table), len(labels)

    def _batches(self, seqs: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
        """The epoch's batches: every sequence once (one per user, unless ``train_windows: all`` cuts several).

        ``random``: the shuffled order cut into batches. ``by_length``: the
        shuffled sequences sorted by length within pools of 50 batches, cut
        into batches, and the batches shuffled, so little of a batch is padding.
        """
        lengths = np.array([len(s) for s in seqs])
        order = rng.permutation(len(lengths))
        bs = self.params["batch_size"]
        if self.params["batching"] == "random":
            return [order[i : i + bs] for i in range(0, len(order), bs)]
        pool = 50 * bs
        batches = []
        for start in range(0, len(order), pool):
            chunk = order[start : start + pool]
            chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
            batches += [chunk[i : i + bs] for i in range(0, len(chunk), bs)]
        return [batches[i] for i in rng.permutation(len(batches))]

    def _train_epoch(self, epoch: int, optimizer: torch.optim.Optimizer) -> float:
        from audiorec.sequences.packing import pack

        rng = epoch_rng(self.seed, epoch)
        seqs = self._epoch_sequences(rng)
        batches = self._batches(seqs, rng)
        per_batch = self._expected_masks(seqs, len(batches))
        ratio = self.params["next_item_ratio"]
        total, n = 0.0, 0
        for batch in batches:
            # no draw at ratio 0, so that seeds give the batches they gave before the option
            last_only = bool(ratio) and rng.random() < ratio
            ids, mask, labels = self._masked([seqs[i] for i in batch], rng, last_only)
            if len(labels) == 0:
                continue
            packed = None
            if self.params["batching"] == "random":  # by_length batches have little padding to save
                ids, mask, labels, *packed = pack(ids, mask, labels, self.net.pad_id)
            loss_sum, count = self._masked_loss(ids, mask, labels, packed)
            scale = count if last_only else per_batch or count
            total += step(optimizer, loss_sum / scale) * scale
            n += count
        return total / max(n, 1)

    def _expected_masks(self, seqs: list[np.ndarray], n_batches: int) -> float | None:
        """Masked items a batch holds on average this epoch (None for ``loss_norm: batch``).

        Dividing each batch's summed loss by this one number, instead of by
        the batch's own count, keeps every masked item's weight what shuffled
        batches give it, while ``by_length`` batching saves the padding.
        """
        from scipy.stats import binom

        if self.params["loss_norm"] == "batch" or not n_batches:
            return None
        p, cap = self.params["mask_prob"], self.params["max_masked"]
        lengths, counts = np.unique([len(s) for s in seqs], return_counts=True)
        if cap is None:
            per_seq = p * lengths
        else:  # E[min(X, cap)] for X ~ Binomial(length, p) = sum of P(X >= j), j = 1..cap
            per_seq = binom.sf(np.arange(cap)[:, None], lengths[None, :], p).sum(0)
        return float(per_seq @ counts) / n_batches

    def _val_ndcg(self) -> float:
        """Validation NDCG@10 of the full ranking, train items removed as the workflow ranks.

        ``ndcg_with_history`` leaves them in, as RecBole ranks for its
        sequential models, so that a comparison with RecBole can pick its
        epoch the way RecBole does.
        """
        from audiorec.evaluation.metrics import from_hits
        from audiorec.evaluation.ranking import rank

        users, hist, relevant, n_relevant = self._val_ranking
        exclude = None if self.params["select_by"] == "ndcg_with_history" else hist.matrix
        r = rank(lambda b: self.score(b, hist), users, exclude, relevant, k=10)
        return float(from_hits(r.hits, n_relevant, [10])["NDCG@10"].mean())

    def _val_loss(self, epoch: int) -> float:
        if self.params["select_by"] != "loss":
            return -self._val_ndcg()  # the training loop minimises
        total, count = 0.0, 0
        for kind, a, b, c in self._val_batches:
            if kind == "masked":
                if len(c) == 0:
                    continue
                s, k = self._masked_loss(a, b, c)
            else:
                ids, rows, labels = a.to(self.device), b.to(self.device), c.to(self.device)
                with self._autocast():
                    table = self.net.table()
                    h = self.net.encode_last(ids, table)
                    s, k = self._ce(h[rows], labels, table), len(labels)
            total += s.item()
            count += k
        return total / max(count, 1)

    # -- scoring --------------------------------------------------------------
    def score(self, users, history):
        import torch

        ids = torch.from_numpy(
            self._window(history, np.asarray(users), self.params["predict_window"])
        ).to(self.device)
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
