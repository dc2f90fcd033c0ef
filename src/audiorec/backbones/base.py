"""What every backbone provides to the extraction driver.

Extraction is split in two steps so that one bad track never costs a batch:
``prepare`` runs per track and may refuse it (``UnusableAudio``, recorded as a
failure with its reason), ``embed`` runs on a batch of prepared inputs. The
driver (audiorec.embeddings.driver) retries a failed batch track by track.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from audiorec.schema import validate_against


class UnusableAudio(ValueError):
    """This track's audio cannot be embedded by this backbone; the reason is recorded."""


class Backbone(ABC):
    #: JSON schema properties of the backbone's ``params`` (with defaults).
    PARAMS: ClassVar[dict] = {}
    #: Default sample rate when ``params`` has no ``sample_rate``.
    SAMPLE_RATE: ClassVar[int] = 16000
    #: Whether the backbone runs on torch (and so on a device); MFCC does not.
    uses_torch: ClassVar[bool] = True
    #: Whether it loads pretrained weights, which the workflow fetches once, before extraction.
    needs_weights: ClassVar[bool] = True
    #: Whether it embeds audio; a backbone of precomputed vectors reads a file instead.
    needs_audio: ClassVar[bool] = True
    #: The params that say which weights it loads: config entries that agree on them share
    #: one ``fetch_weights`` job (empty: every param counts).
    WEIGHT_PARAMS: ClassVar[tuple[str, ...]] = ()

    def __init__(self, params: dict, device: str = "cpu", batch_size: int = 16):
        self.params = validate_against(copy.deepcopy(dict(params)), self.params_schema())
        self.device = device
        self.batch_size = batch_size

    @classmethod
    def params_schema(cls) -> dict:
        return {"type": "object", "additionalProperties": False, "properties": cls.PARAMS}

    @classmethod
    def sample_rate_for(cls, params: dict) -> int:
        return int(params.get("sample_rate", cls.SAMPLE_RATE))

    @property
    def sample_rate(self) -> int:
        return self.sample_rate_for(self.params)

    @classmethod
    def fetch_weights(cls, params: dict) -> list[str]:
        """Download what the model loads (network allowed) and return the local files.

        Run once per backbone by the workflow's ``fetch_weights`` job; the
        extraction jobs then only read them.
        """
        return []

    def ready(self) -> None:  # noqa: B027 - an optional hook, not an abstract method
        """Load the model now: an error that concerns the whole job (weights missing, a
        layer that does not exist) then fails it once, before any track is tried."""

    @property
    @abstractmethod
    def dim(self) -> int:
        """Length of the per-track vector."""

    @abstractmethod
    def describe(self) -> dict:
        """checkpoint, layer and pooling, written into the Parquet metadata."""

    def samples_needed(self) -> int | None:
        """The most samples from a track's start that ``prepare`` reads (None: all), so
        that the audio cache decodes no more than that."""
        return None

    def prepare(self, waveform: np.ndarray) -> Any:
        """Per-track input for ``embed``; raise UnusableAudio to skip the track."""
        if waveform.size == 0:
            raise UnusableAudio("no audio samples")
        return waveform

    @abstractmethod
    def embed(self, batch: Sequence[Any]) -> np.ndarray:
        """(len(batch), dim) float32 vectors for prepared inputs."""

    def close(self) -> None:  # noqa: B027 - an optional hook, not an abstract method
        """Release models and device memory."""
