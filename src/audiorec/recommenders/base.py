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
from typing import ClassVar

import numpy as np
import torch

from audiorec.data.interactions import History, IndexedSplit


class Recommender(ABC):
    PARAMS: ClassVar[dict] = {}
    uses_content: ClassVar[bool] = False
    supported_variants: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        params: dict | None = None,
        seed: int = 0,
        device: str = "cpu",
        variant: str = "frozen",
        checkpoint: str | None = None,
    ):
        from audiorec.config import validate_against

        self.params = validate_against(copy.deepcopy(dict(params or {})), self.params_schema())
        self.seed = seed
        self.device = torch.device(device)
        self.variant = variant
        self.checkpoint = checkpoint  # where a trained model saves its state each epoch

    @classmethod
    def params_schema(cls) -> dict:
        return {"type": "object", "additionalProperties": False, "properties": cls.PARAMS}

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
