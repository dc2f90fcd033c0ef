"""The small interface every recommender implements (after implicit's base class).

``fit`` sees the indexed split and, for content models, one vector per train
item (``available`` marks items whose audio could be embedded) prepared for
the run's variant. ``score`` returns a dense block of scores for some users
given their ``History`` (matrix and time-ordered sequences); the evaluator
does the masking and top-K, so a model never loops over users itself.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from audiorec.schema import validate_against

if TYPE_CHECKING:
    import numpy as np
    import torch

    from audiorec.data.interactions import History, IndexedSplit


class Recommender(ABC):
    PARAMS: ClassVar[dict] = {}
    uses_content: ClassVar[bool] = False
    supported_variants: ClassVar[tuple[str, ...]] = ()
    #: Attributes that ``fit`` sets and ``score`` reads: what ``save`` keeps of a fitted model.
    SCORING_STATE: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        params: dict | None = None,
        seed: int = 0,
        device: str = "cpu",
        variant: str = "frozen",
        checkpoint: str | None = None,
    ):
        import torch

        self.params = validate_against(copy.deepcopy(dict(params or {})), self.params_schema())
        self.seed = seed
        self.device = torch.device(device)
        self.variant = variant
        self.checkpoint = checkpoint  # where a trained model saves its state each epoch

    @classmethod
    def params_schema(cls) -> dict:
        return {"type": "object", "additionalProperties": False, "properties": cls.PARAMS}

    @classmethod
    def content_free(cls, variant: str, params: dict) -> bool:
        """Whether a run of this variant reads no backbone (then it runs once, under ``none``)."""
        return not cls.uses_content

    @classmethod
    def scores_cold(cls, variant: str, params: dict) -> bool:
        """Whether its scores of tracks nobody heard in train mean anything: a model that
        reads content does; one that learns from listening only (popularity, ELSA, a learnt
        table) gives them no information, and its cold block is shown as such."""
        return cls.uses_content

    @abstractmethod
    def fit(
        self,
        data: IndexedSplit,
        item_vectors: np.ndarray | None = None,
        available: np.ndarray | None = None,
    ) -> Recommender:
        """Learn from ``data.matrix('train')`` (and validation data, for early stopping)."""

    @abstractmethod
    def score(self, users: np.ndarray, history: History) -> torch.Tensor:
        """(len(users), n_items) scores; ``history`` holds every user's known items."""

    def info(self) -> dict:
        """Facts about the fitted model for the run's record (epochs, losses...)."""
        return {}

    def item_table_change(self) -> float | None:
        """How far training moved the item vectors (see TrainedRecommender); None here."""
        return None

    def save(self, path: str | Path) -> None:
        """The fitted model, so that a separate job can score with it (``load``)."""
        import torch

        state = {a: getattr(self, a) for a in self.SCORING_STATE}
        payload = {
            "class": f"{type(self).__module__}.{type(self).__qualname__}",
            "params": self.params,
            "seed": self.seed,
            "variant": self.variant,
            "state": state,
        }
        tmp = Path(f"{path}.tmp")
        torch.save(payload, tmp)
        tmp.replace(path)

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu") -> Recommender:
        """A model saved by ``save``, on ``device``, ready to ``score``."""
        import torch

        payload = torch.load(path, map_location=device, weights_only=False)
        expected = f"{cls.__module__}.{cls.__qualname__}"
        if payload["class"] != expected:
            raise ValueError(f"{path} holds a {payload['class']}, not a {expected}")
        model = cls(
            payload["params"], seed=payload["seed"], device=device, variant=payload["variant"]
        )
        for name, value in payload["state"].items():
            setattr(model, name, value)
        model.loaded()
        return model

    def loaded(self) -> None:  # noqa: B027 - an optional hook, not an abstract method
        """Rebuild what ``save`` does not keep (e.g. a random generator) after ``load``."""
