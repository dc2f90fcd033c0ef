"""Decode one audio file to mono float32 at a target rate.

soundfile (libsndfile) reads mp3, ogg/vorbis, opus, flac and wav without
ffmpeg; soxr resamples with the same 'HQ' quality that librosa uses by default.
Every way a file can be unusable raises AudioError with a reason that ends up
in the failures table.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import soxr


class AudioError(ValueError):
    """A track whose audio cannot be used; the message is the recorded reason."""


def to_mono(frames: np.ndarray) -> np.ndarray:
    """Average channels, as librosa.to_mono does."""
    return frames.mean(axis=1) if frames.ndim == 2 else frames


def resample(y: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    if sr_in == sr_out:
        return np.ascontiguousarray(y, dtype=np.float32)
    return soxr.resample(y.astype(np.float32), sr_in, sr_out, quality="HQ").astype(np.float32)


def decode(
    path: str | Path,
    sample_rate: int,
    offset_seconds: float = 0.0,
    max_seconds: float | None = None,
) -> np.ndarray:
    """Mono float32 samples at `sample_rate`, from `offset_seconds`, at most `max_seconds`."""
    path = Path(path)
    if not path.exists():
        raise AudioError("file not found")
    if path.stat().st_size == 0:
        raise AudioError("empty file (0 bytes)")
    try:
        with sf.SoundFile(path) as fh:
            sr_in = fh.samplerate
            start = round(offset_seconds * sr_in)
            if start:
                if start >= fh.frames > 0:
                    raise AudioError(
                        f"offset {offset_seconds}s is past the end ({fh.frames / sr_in:.2f}s)"
                    )
                fh.seek(start)
            n = -1 if max_seconds is None else round(max_seconds * sr_in)
            frames = fh.read(frames=n, dtype="float32", always_2d=True)
    except AudioError:
        raise
    except Exception as err:  # libsndfile reports every decoder problem as a RuntimeError subclass
        raise AudioError(f"cannot decode: {type(err).__name__}: {err}".strip()) from err
    if frames.shape[0] == 0:
        raise AudioError("no audio samples")
    y = to_mono(frames)
    if not np.isfinite(y).all():
        raise AudioError("non-finite samples")
    return resample(y, sr_in, sample_rate)
