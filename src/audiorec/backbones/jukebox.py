"""Jukebox (Dhariwal et al. 2020) through jukemirlib (Castellon et al. 2021), 44.1 kHz.

The study's recipe: the first 24 s of each track, the 5B model's top-level
prior, layer 36 of 72, in fp16, averaged over time (4,800 values). Jukebox's
code and jukemirlib come from GitHub (pinned in envs/jukebox.yaml); the
weights (vqvae.pth.tar, prior_level_2.pth.tar, about 11 GB) are read from
``checkpoint_dir`` and downloaded there by jukemirlib only when the folder
lacks them, network is allowed (no HF_HUB_OFFLINE) and ``download`` is true.

Batches of tracks go through jukemirlib.extract together; jukemirlib keeps
the conditioning of its first call, sized to that call's batch, so it is
reset before every call.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from audiorec.backbones.base import Backbone, UnusableAudio
from audiorec.backbones.hub import WeightsNotFound, offline
from audiorec.schema import validate_against

INSTALL = "pip install 'jukemirlib @ git+https://github.com/rodrigo-castellon/jukemirlib@98223a6' (see envs/jukebox.yaml)"
FILES = ("vqvae.pth.tar", "prior_level_2.pth.tar")
REMOTE = "https://openaipublic.azureedge.net/jukebox/models/5b/"


class Jukebox(Backbone):
    SAMPLE_RATE = 44100
    PARAMS = {
        "sample_rate": {"const": 44100, "default": 44100},
        "checkpoint_dir": {"type": "string", "default": "~/.cache/jukemirlib"},
        "download": {
            "type": "boolean",
            "default": True,
            "description": "let jukemirlib fetch missing weights",
        },
        "layer": {
            "type": "integer",
            "minimum": 1,
            "maximum": 72,
            "default": 36,
            "description": "of the 72 prior layers",
        },
        "clip_seconds": {"type": "number", "exclusiveMinimum": 0, "default": 24.0},
        "offset_seconds": {"type": "number", "minimum": 0, "default": 0.0},
        "min_seconds": {"type": "number", "exclusiveMinimum": 0, "default": 1.0},
        "fp16": {"type": "boolean", "default": True},
    }

    def __init__(self, params: dict, device: str = "cpu", batch_size: int = 8):
        super().__init__(params, device, batch_size)
        self._lib = None

    @property
    def dim(self) -> int:
        return 4800

    def describe(self) -> dict:
        p = self.params
        return {
            "checkpoint": "jukebox 5b, top-level prior (jukemirlib)",
            "layer": str(p["layer"]),
            "pooling": f"mean over time of the first {p['clip_seconds']} s from {p['offset_seconds']} s"
            + (", fp16" if p["fp16"] else ""),
        }

    def prepare(self, waveform: np.ndarray) -> np.ndarray:
        waveform = super().prepare(waveform)
        p, sr = self.params, self.SAMPLE_RATE
        clip = waveform[round(p["offset_seconds"] * sr) :][: round(p["clip_seconds"] * sr)]
        if clip.size < p["min_seconds"] * sr:
            raise UnusableAudio(
                f"{clip.size / sr:.2f} s of audio, shorter than min_seconds {p['min_seconds']}"
            )
        return np.ascontiguousarray(clip, dtype=np.float32)

    @classmethod
    def fetch_weights(cls, params: dict) -> list[str]:
        """The two weight files into checkpoint_dir, resumable (about 11 GB)."""
        from audiorec.download import fetch

        p = validate_against(dict(params), cls.params_schema())
        folder = Path(os.path.expanduser(p["checkpoint_dir"]))
        return [str(fetch(REMOTE + name, folder / name)) for name in FILES]

    def ready(self) -> None:
        self.lib  # noqa: B018 - loads the models

    def weights(self) -> Path:
        folder = Path(os.path.expanduser(self.params["checkpoint_dir"]))
        missing = [f for f in FILES if not (folder / f).exists()]
        if missing and (offline() or not self.params["download"]):
            why = "HF_HUB_OFFLINE is set" if offline() else "download is false"
            raise WeightsNotFound(
                f"{folder}: missing {', '.join(missing)} and {why}; fetch them from {REMOTE}<name> into that folder"
            )
        return folder

    @property
    def lib(self):
        if self._lib is None:
            try:
                import jukemirlib
            except ImportError as err:
                raise ImportError(
                    f"Jukebox needs jukemirlib and OpenAI's jukebox code: {INSTALL}"
                ) from err
            folder = self.weights()
            jukemirlib.lib.VQVAE, jukemirlib.lib.TOP_PRIOR = jukemirlib.setup_models(
                cache_dir=str(folder), device=str(self.device)
            )
            self._lib = jukemirlib
        return self._lib

    def embed(self, batch):
        lib = self.lib
        layer = self.params["layer"]
        by_length: dict[int, list[int]] = {}
        for i, y in enumerate(batch):
            by_length.setdefault(y.size, []).append(i)
        out = np.zeros((len(batch), self.dim), np.float32)
        for rows in by_length.values():  # equal lengths batch together
            lib.lib.x_cond = lib.lib.y_cond = None  # sized by jukemirlib to its first call's batch
            acts = lib.extract(
                audio=[batch[i] for i in rows],
                layers=[layer],
                fp16=self.params["fp16"],
                meanpool=False,
            )[layer]
            acts = np.asarray(acts, dtype=np.float32)
            if acts.ndim == 2:
                acts = acts[np.newaxis]
            out[rows] = acts.mean(axis=1)
        return out


BACKBONE = Jukebox
