"""What the trained recommenders share: item tables per variant, and training settings.

Variants of a trained model's item table: ``frozen`` (the backbone's vectors,
never updated), ``finetune`` (initialised from them, trained), ``shuffled``
(the vectors permuted across items, frozen), ``random`` (no content: a
trained table from a random start; ``random_dim`` gives it its own width, as
the study's 128-wide "random init" rows). Items whose audio failed get a
random row with the spread of the others.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import numpy as np

from audiorec.recommenders.base import Recommender
from audiorec.training import TRAINING_PARAMS, train

if TYPE_CHECKING:
    import torch

TRAINABLE = {"frozen": False, "shuffled": False, "finetune": True, "random": True}


class TrainedRecommender(Recommender):
    uses_content = True
    supported_variants = ("frozen", "finetune", "random", "shuffled")
    COMMON = {
        **TRAINING_PARAMS,
        "random_dim": {
            "type": ["integer", "null"],
            "minimum": 1,
            "default": None,
            "description": "width of the 'random' variant's table (null: the backbone's)",
        },
    }

    @classmethod
    def content_free(cls, variant: str, params: dict) -> bool:
        """A model that reads no audio (ELSA), or a ``random`` table of its own width
        (``random_dim``), needs nothing of a backbone."""
        if not cls.uses_content:
            return True
        return variant == "random" and bool(params.get("random_dim"))

    @classmethod
    def scores_cold(cls, variant: str, params: dict) -> bool:
        """A learnt table (``random``) never trains the rows of cold tracks."""
        return cls.uses_content and variant != "random"

    def item_table(
        self, vectors: np.ndarray | None, available: np.ndarray | None, init_std: float
    ) -> tuple[torch.Tensor, bool]:
        """(initial item table, trainable) for this run's variant."""
        import torch

        gen = np.random.default_rng([self.seed, 7])
        if self.variant == "random" and (vectors is None or self.params["random_dim"]):
            if vectors is None and not self.params["random_dim"]:
                raise ValueError("the random variant without item vectors needs params.random_dim")
            n = self._n_items
            table = gen.normal(0.0, init_std, (n, self.params["random_dim"]))
        else:
            if vectors is None:
                raise ValueError(f"the {self.variant} variant needs item vectors")
            table = np.array(vectors, dtype=np.float64)
            if available is not None and not available.all():
                spread = table[available].std() if available.any() else init_std
                table[~available] = gen.normal(0.0, spread, ((~available).sum(), table.shape[1]))
        table = torch.as_tensor(table, dtype=torch.float32)
        # kept to measure how far training moved a trainable table (item_table_change)
        self._item_table_start = table.clone() if TRAINABLE[self.variant] else None
        return table, TRAINABLE[self.variant]

    def item_table_change(self) -> float | None:
        """Mean over items of |after - before| / |before| of the item table (0 when frozen):
        whether fine-tuning moved the vectors at all. None for a model without one."""
        import torch

        items = getattr(getattr(self, "net", None), "items", None)
        if items is None:
            return None
        start = getattr(self, "_item_table_start", None)
        if start is None:
            return 0.0
        after = items.detach().float().cpu()
        with torch.no_grad():
            moved = (after - start).norm(dim=1) / start.norm(dim=1).clamp_min(1e-12)
        return float(moved.mean())

    def run_identity(self, data, vectors: np.ndarray | None, available: np.ndarray | None) -> dict:
        """Digests of what a training run depends on besides its settings (see ``training.train``)."""
        return run_identity(data, vectors, available, type(self).__module__)

    def train_net(self, data, vectors: np.ndarray | None, available: np.ndarray | None) -> None:
        """Trains ``self.net`` epoch by epoch (``_train_epoch``), selected and stopped by
        ``_val_loss``, under this run's settings and checkpoint (``training.train``); the
        record of the run goes to ``self.progress``."""
        self.progress = train(
            self.net,
            self._train_epoch,
            self._val_loss,
            self.params,
            self.seed,
            self.checkpoint,
            identity=self.run_identity(data, vectors, available),
        )

    def _autocast(self):
        import torch

        enabled = self.device.type == "cuda" and self.params["mixed_precision"]
        return torch.autocast(device_type=self.device.type, dtype=torch.bfloat16, enabled=enabled)


def run_identity(data, vectors, available, module: str) -> dict[str, str]:
    """Digests of the train and validation pairs, the item vectors and the model's code."""
    from audiorec import code_version

    def digest(*arrays) -> str:
        h = hashlib.sha256()
        for a in arrays:
            a = np.ascontiguousarray(a)
            h.update(str((a.dtype, a.shape)).encode())
            h.update(a.tobytes())
        return h.hexdigest()[:16]

    parts = {}
    for part in ("train", "val"):
        f = data.frames[part]
        order = f["order"].to_numpy() if "order" in f else np.zeros(0)
        parts[f"{part} data"] = digest(f["uidx"].to_numpy(), f["iidx"].to_numpy(), order)
    ids = np.array([*map(str, data.users), "|", *map(str, data.items)], dtype=object).astype(str)
    parts["ids"] = digest(ids)
    parts["item vectors"] = digest(*(a for a in (vectors, available) if a is not None))
    parts["code"] = code_version.fingerprint(module)
    return parts
