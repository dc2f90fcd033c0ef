"""MFCC statistics: the study's non-learned baseline.

The study used Music4All-Onion's precomputed 104-d MFCC vector: the means of
13 coefficients plus the 91 upper-triangle terms (diagonal included) of their
13 x 13 covariance over frames. We compute the same statistics from audio with
librosa (defaults: 22,050 Hz, 2,048-sample FFT, hop 512, 128 mel bands,
unbiased covariance), so any dataset gets this baseline, not only Onion.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from audiorec.backbones.base import Backbone, UnusableAudio


class MFCCStatistics(Backbone):
    SAMPLE_RATE = 22050
    uses_torch = False
    needs_weights = False
    PARAMS = {
        "sample_rate": {"type": "integer", "minimum": 8000, "default": 22050},
        "n_mfcc": {"type": "integer", "minimum": 2, "default": 13},
        "n_fft": {"type": "integer", "minimum": 64, "default": 2048},
        "hop_length": {"type": "integer", "minimum": 16, "default": 512},
        "n_mels": {"type": "integer", "minimum": 8, "default": 128},
        "statistics": {
            "enum": ["mean_cov", "mean", "mean_std"],
            "default": "mean_cov",
            "description": "mean_cov: means + upper-triangle covariance (the study's 104-d)",
        },
    }

    @property
    def dim(self) -> int:
        n = self.params["n_mfcc"]
        return {"mean_cov": n + n * (n + 1) // 2, "mean": n, "mean_std": 2 * n}[
            self.params["statistics"]
        ]

    def describe(self) -> dict:
        import librosa

        p = self.params
        return {
            "checkpoint": f"librosa {librosa.__version__} (no learned weights)",
            "layer": f"mfcc n_mfcc={p['n_mfcc']} n_fft={p['n_fft']} hop={p['hop_length']} n_mels={p['n_mels']}",
            "pooling": {
                "mean_cov": "mean + upper-triangle covariance over frames",
                "mean": "mean over frames",
                "mean_std": "mean and standard deviation over frames",
            }[p["statistics"]],
        }

    def prepare(self, waveform: np.ndarray) -> np.ndarray:
        waveform = super().prepare(waveform)
        frames = 1 + waveform.size // self.params["hop_length"]
        if self.params["statistics"] != "mean" and frames < 2:
            raise UnusableAudio(f"{waveform.size} samples give {frames} frame; statistics need 2")
        return waveform

    def embed(self, batch: Sequence[np.ndarray]) -> np.ndarray:
        return np.stack([self._one(y) for y in batch]).astype(np.float32)

    def _one(self, y: np.ndarray) -> np.ndarray:
        import librosa

        p = self.params
        mfcc = librosa.feature.mfcc(
            y=np.ascontiguousarray(y, dtype=np.float32),
            sr=p["sample_rate"],
            n_mfcc=p["n_mfcc"],
            n_fft=p["n_fft"],
            hop_length=p["hop_length"],
            n_mels=p["n_mels"],
        ).astype(np.float64)
        mean = mfcc.mean(axis=1)
        if p["statistics"] == "mean":
            return mean
        if p["statistics"] == "mean_std":
            return np.concatenate([mean, mfcc.std(axis=1)])
        cov = np.cov(mfcc)
        return np.concatenate([mean, cov[np.triu_indices(p["n_mfcc"])]])


BACKBONE = MFCCStatistics
