"""Decode one audio file to mono float32 at a target rate.

soundfile (libsndfile) reads mp3, ogg/vorbis, opus, flac and wav without
ffmpeg; soxr resamples with the same 'HQ' quality that librosa uses by default.
Every way a file can be unusable raises AudioError with a reason that ends up
in the failures table.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

log = logging.getLogger(__name__)


class AudioError(ValueError):
    """A track whose audio cannot be used; the message is the recorded reason."""


def to_mono(frames: np.ndarray) -> np.ndarray:
    """Average channels, as librosa.to_mono does."""
    return frames.mean(axis=1) if frames.ndim == 2 else frames


def resample(y: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    if sr_in == sr_out:
        return np.ascontiguousarray(y, dtype=np.float32)
    return soxr.resample(y.astype(np.float32), sr_in, sr_out, quality="HQ").astype(np.float32)


BLOCK_SECONDS = 30.0


def _not_decodable(err: Exception) -> str:
    """libsndfile's reason, reworded where it misleads (it calls an unknown format a missing file)."""
    text = str(err)
    if "does not exist or is not a regular file" in text or "Format not recognised" in text:
        return (
            "cannot decode: not in a format libsndfile reads (tried soundfile "
            f"{sf.__version__} with {sf.__libsndfile_version__}: wav, flac, ogg, opus, mp3, ...)"
        )
    return f"cannot decode: {type(err).__name__}: {text}".strip()


def decode(
    path: str | Path,
    sample_rate: int,
    offset_seconds: float = 0.0,
    max_seconds: float | None = None,
) -> np.ndarray:
    """Mono float32 samples at `sample_rate`, from `offset_seconds`, at most `max_seconds`.

    Read and resampled in blocks of 30 s (soxr's streaming resampler gives the
    same samples as one call), so memory holds the output and one block
    however long the file. Float files whose samples exceed full scale are
    scaled down to peak 1 with a warning, since the cache stores integer PCM.
    """
    path = Path(path)
    if not path.exists():
        raise AudioError("file not found")
    if path.stat().st_size == 0:
        raise AudioError("empty file (0 bytes)")
    out: list[np.ndarray] = []
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
            left = None if max_seconds is None else round(max_seconds * sr_in)
            stream = (
                None
                if sr_in == sample_rate
                else soxr.ResampleStream(sr_in, sample_rate, 1, dtype="float32", quality="HQ")
            )
            block = round(BLOCK_SECONDS * sr_in)
            while left is None or left > 0:
                n = block if left is None else min(block, left)
                frames = fh.read(frames=n, dtype="float32", always_2d=True)
                last = frames.shape[0] < n or (left is not None and left - n <= 0)
                y = to_mono(frames).astype(np.float32)
                if not np.isfinite(y).all():
                    raise AudioError("non-finite samples")
                out.append(y if stream is None else stream.resample_chunk(y, last=last))
                if left is not None:
                    left -= frames.shape[0]
                if last:
                    break
    except AudioError:
        raise
    except Exception as err:  # libsndfile reports every decoder problem as a RuntimeError subclass
        raise AudioError(_not_decodable(err)) from err
    y = np.concatenate(out) if out else np.zeros(0, np.float32)
    if y.size == 0:
        raise AudioError("no audio samples")
    peak = float(np.abs(y).max())
    if peak > 1.0:
        log.warning("%s: samples up to %.3f, beyond full scale; scaled down to peak 1", path, peak)
        y = y / np.float32(peak)
    return y
