"""What every probe task provides: its clips, their split and labels, and what to fetch.

A task reads its dataset as published (``clips``: one row per clip with
``track_id``, the audio ``path``, the ``split`` (train, valid, test) and its
label columns) and says what kind of target it is (``KIND``), which fixes the
loss of the probe and the metrics:

- ``multilabel`` (tagging): column ``tags``, tags joined by ``|``, out of ``vocabulary()``;
- ``multiclass`` (genre): column ``label``, one of ``vocabulary()``;
- ``key``: column ``label``, a key name such as ``"Eb minor"``, one of the 24 keys;
- ``regression`` (emotion): one float column per name in ``vocabulary()``.

A task either has its own audio (``COLLECTION = "own"``: its clips go through the
same resample and extract jobs as the recommendation catalogue's) or labels the
catalogue's own tracks (``"catalogue"``: the demo's synthetic task). ``REMOTES``
are the files the workflow downloads into the task's root, checked against size
and MD5, resumable; archives among them are unpacked before ``clips`` reads them.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from audiorec.schema import validate_against

KINDS = ("multilabel", "multiclass", "key", "regression")
SPLITS = ("train", "valid", "test")
PITCHES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
KEYS = tuple(f"{p} {mode}" for mode in ("major", "minor") for p in PITCHES)
_SHARPS = {"C#": "Db", "D#": "Eb", "F#": "Gb", "G#": "Ab", "A#": "Bb", "Cb": "B", "Fb": "E",
           "E#": "F", "B#": "C"}  # fmt: skip


class ProbeDataError(ValueError):
    """A probe dataset's file is missing or malformed; the message names the file and row."""


@dataclass(frozen=True)
class Remote:
    """A file the task fetches: where from, its size and MD5 as published, and whether it
    is an archive to unpack into the task's root."""

    url: str
    md5: str | None = None
    size: int | None = None
    unpack: bool = False


@dataclass(frozen=True)
class Published:
    """A figure of a task's MAIN_METRIC published for one set of weights, under the
    publisher's own extraction and probe settings (not ours): a reference, never tested.

    It applies to a backbone of type ``backbone`` whose weight parameters
    (``WEIGHT_PARAMS``: checkpoint, variant) equal every pair in ``weights``, so a
    figure for MERT-v1-330M is not shown beside MERT-v1-95M.
    """

    backbone: str
    weights: tuple[tuple[str, str], ...]
    value: float
    source: str

    def applies_to(self, spec: dict) -> bool:
        params = spec.get("params", {})
        return spec.get("type") == self.backbone and all(
            params.get(k) == v for k, v in self.weights
        )


class ProbeTask(ABC):
    KIND: ClassVar[str]
    #: the metric hyperparameters are chosen on, and the one the report shows
    MAIN_METRIC: ClassVar[str]
    COLLECTION: ClassVar[str] = "own"
    PARAMS: ClassVar[dict] = {}
    REMOTES: ClassVar[dict[str, Remote]] = {}
    #: files in the task's root its clips are read from beyond REMOTES (the workflow checks them)
    FILES: ClassVar[tuple[str, ...]] = ()
    #: published figures of MAIN_METRIC under MARBLE's protocol, shown beside ours
    REPORTED: ClassVar[tuple[Published, ...]] = ()

    def __init__(self, params: dict, root: str | Path):
        self.params = validate_against(copy.deepcopy(dict(params)), self.params_schema())
        self.root = Path(root)

    @classmethod
    def inputs(cls) -> list[str]:
        """Every file in the task's root that `clips` reads (or unpacks)."""
        return [*cls.REMOTES, *cls.FILES]

    @classmethod
    def params_schema(cls) -> dict:
        return {"type": "object", "additionalProperties": False, "properties": cls.PARAMS}

    @abstractmethod
    def clips(self) -> pd.DataFrame:
        """One row per clip: track_id, path, split and the label columns of KIND."""

    def vocabulary(self, clips: pd.DataFrame) -> list[str]:
        """The classes, tags or regression targets, in the order of the target columns."""
        if self.KIND == "key":
            return list(KEYS)
        if self.KIND == "multiclass":
            return sorted(clips["label"].unique())
        if self.KIND == "multilabel":
            return sorted({t for tags in clips["tags"] for t in tags.split("|") if t})
        raise NotImplementedError(f"{type(self).__name__}: regression tasks name their targets")

    def targets(self, clips: pd.DataFrame, vocabulary: list[str]) -> np.ndarray:
        """multilabel: (n, tags) 0/1; multiclass and key: (n,) class index; regression: (n, t)."""
        if self.KIND == "multilabel":
            index = {t: i for i, t in enumerate(vocabulary)}
            y = np.zeros((len(clips), len(vocabulary)), np.float32)
            for row, tags in enumerate(clips["tags"]):
                for tag in filter(None, tags.split("|")):
                    if tag not in index:
                        raise ProbeDataError(
                            f"{self.source()}: tag {tag!r} is not in the vocabulary"
                        )
                    y[row, index[tag]] = 1.0
            return y
        if self.KIND in ("multiclass", "key"):
            index = {c: i for i, c in enumerate(vocabulary)}
            unknown = sorted(set(clips["label"]) - set(index))
            if unknown:
                raise ProbeDataError(f"{self.source()}: unknown label {unknown[0]!r}")
            return clips["label"].map(index).to_numpy(np.int64)
        return clips[vocabulary].to_numpy(np.float32)

    def source(self) -> str:
        """Where the labels come from, for messages."""
        return str(self.root)

    @classmethod
    def reported_for(cls, spec: dict) -> Published | None:
        """The published figure for a backbone entry (``type`` and ``params``), if any."""
        return next((p for p in cls.REPORTED if p.applies_to(spec)), None)


def normalise_key(text: str, where: str) -> str:
    """``"F# minor"``, ``"f#:min"``, ``"Gb minor  2"`` (a confidence after it) as ``"Gb minor"``."""
    parts = text.replace(":", " ").replace("\t", " ").split()
    if len(parts) < 2:
        raise ProbeDataError(f"{where}: {text.strip()!r} is not a key (a tonic and major/minor)")
    tonic = parts[0][:1].upper() + parts[0][1:].lower().replace("♯", "#").replace("♭", "b")
    tonic = _SHARPS.get(tonic, tonic)
    mode = {"maj": "major", "major": "major", "min": "minor", "minor": "minor"}.get(
        parts[1].lower()
    )
    if tonic not in PITCHES or mode is None:
        raise ProbeDataError(f"{where}: {text.strip()!r} is not a key (a tonic and major/minor)")
    return f"{tonic} {mode}"


def stable_split(ids, shares=(0.6, 0.2, 0.2), salt: str = "") -> np.ndarray:
    """train/valid/test by a hash of each id: the same id always lands in the same part."""
    import zlib

    cut = np.cumsum(shares) / sum(shares)
    u = np.array([zlib.crc32(f"{salt}{i}".encode()) / 2**32 for i in ids])
    return np.array(SPLITS)[np.searchsorted(cut, u, side="right").clip(0, 2)]
