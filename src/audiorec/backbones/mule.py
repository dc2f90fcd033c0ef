"""MULE (McCallum et al. 2022; PyPI sxmp-mule), 44.1 kHz: 1,728 values per track.

As the journal extracted it: the package's ``Analysis`` with its
"average" configuration (a SCOOCH YAML from the music-audio-representations
repository, which names the model weights), run on each track's audio, the
result flattened. The package reads audio from files (through ``ffmpeg``),
so each clip is written to a temporary WAV first.

One ``Analysis`` serves every track, so two things the package's command
line never meets are handled here: the result is the feature's ``data``
(the average; ``_data`` holds the sum over slices), and the average's slice
count, which the package keeps across analyses, is reset before each track
(otherwise every track after the first is divided by the slices of all
earlier ones). Checked against ``mule analyze`` on one file per process
(``tests/test_upstream_parity.py``, in the package's own environment,
``envs/mule.yaml``: TensorFlow 2.13 and NumPy 1.24 cannot share this
project's default environment).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from audiorec.backbones.base import Backbone, UnusableAudio
from audiorec.backbones.hub import WeightsNotFound
from audiorec.schema import validate_against

INSTALL = (
    "make env-mule (envs/mule.yaml: sxmp-mule 1.1.2, TensorFlow 2.13) and git-lfs pull its weights"
)


class MULE(Backbone):
    SAMPLE_RATE = 44100
    uses_torch = False  # TensorFlow inside the package
    WEIGHT_PARAMS = ("config",)
    PARAMS = {
        "sample_rate": {"const": 44100, "default": 44100},
        "config": {
            "type": "string",
            "default": "~/music-audio-representations/supporting_data/configs/mule_embedding_average.yml",
            "description": "the SCOOCH configuration of the average embedding",
        },
        "clip_seconds": {"type": ["number", "null"], "exclusiveMinimum": 0, "default": 30.0},
        "min_seconds": {"type": "number", "exclusiveMinimum": 0, "default": 3.0},
        "dim": {"type": "integer", "minimum": 1, "default": 1728},
    }

    def __init__(self, params: dict, device: str = "cpu", batch_size: int = 16):
        super().__init__(params, device, batch_size)
        self._analysis = None

    @classmethod
    def fetch_weights(cls, params: dict) -> list[str]:
        """The configuration names the weights; both must be there (a git-lfs checkout)."""
        p = validate_against(dict(params), cls.params_schema())
        config = Path(p["config"]).expanduser()
        if not config.exists():
            raise WeightsNotFound(f"{config}: MULE configuration not found ({INSTALL})")
        return [str(config)]

    @property
    def analysis(self):
        if self._analysis is None:
            try:
                from mule.analysis import Analysis
                from scooch import Config
            except ImportError as err:
                raise ImportError(f"MULE needs its upstream package: {INSTALL}") from err
            self.fetch_weights(self.params)
            self._analysis = Analysis(Config(str(Path(self.params["config"]).expanduser())))
        return self._analysis

    def ready(self) -> None:
        self.analysis  # noqa: B018 - loads the model

    @property
    def dim(self) -> int:
        return self.params["dim"]

    def describe(self) -> dict:
        return {
            "checkpoint": self.params["config"],
            "layer": "MULE embedding",
            "pooling": f"the package's average over the first {self.params['clip_seconds']} s",
        }

    def prepare(self, waveform: np.ndarray) -> np.ndarray:
        waveform = super().prepare(waveform)
        sr, p = self.sample_rate, self.params
        clip = waveform[: round(p["clip_seconds"] * sr)] if p["clip_seconds"] else waveform
        if clip.size < p["min_seconds"] * sr:
            raise UnusableAudio(f"{clip.size / sr:.2f} s of audio, shorter than min_seconds")
        return clip

    def embed(self, batch: Sequence[np.ndarray]) -> np.ndarray:
        import soundfile as sf

        out = []
        with tempfile.TemporaryDirectory(prefix="audiorec-mule-") as tmp:
            for i, clip in enumerate(batch):
                path = Path(tmp) / f"{i}.wav"
                sf.write(path, clip, self.sample_rate, subtype="FLOAT")
                for feature in self.analysis._feature_transforms:
                    if hasattr(feature, "_feature_count"):
                        feature._feature_count = 0  # the package counts across analyses
                vector = np.asarray(self.analysis.analyze(str(path)).data).reshape(-1)
                if vector.size != self.dim:
                    raise ValueError(f"MULE gave {vector.size} values, params.dim says {self.dim}")
                out.append(vector)
        return np.stack(out).astype(np.float32)


BACKBONE = MULE
