"""Backbones that run a waveform model on fixed-length chunks and pool frames.

A track's clip (``offset_seconds``, ``clip_seconds``; shorter audio zero-padded
to the clip when ``pad_clip``) is cut into ``chunk_seconds`` chunks; a last
partial chunk is kept when it lasts at least ``min_seconds`` and otherwise
dropped (audio shorter than ``min_seconds`` in all is refused and recorded).
Chunks of equal length from all tracks of a batch go through the model
together, under ``torch.inference_mode`` and, on GPU, bf16 autocast.

Pooling is the mean over every frame of every chunk of a track (chunks weigh
by their frame count), taken per layer: ``layer`` is ``last`` (the model's last
hidden state), a hidden-state index (0 = the input to the first layer), or
``all``, which keeps every layer's vector in the Parquet file (column
``layers``) beside the last one, so that another layer can be chosen later
without extracting again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from audiorec.backbones.base import Backbone, UnusableAudio

LAYER = {
    "anyOf": [{"enum": ["last", "all"]}, {"type": "integer", "minimum": 0}],
    "default": "last",
    "description": "last, a hidden-state index, or all (every layer kept)",
}


def chunk_params(sample_rate: int, chunk: float, clip: float | None, checkpoint: str) -> dict:
    return {
        "sample_rate": {"type": "integer", "minimum": 8000, "default": sample_rate},
        "checkpoint": {
            "type": "string",
            "default": checkpoint,
            "description": "hub id or local folder/file",
        },
        "revision": {"type": ["string", "null"], "default": None},
        "layer": LAYER,
        "clip_seconds": {"type": ["number", "null"], "exclusiveMinimum": 0, "default": clip},
        "offset_seconds": {"type": "number", "minimum": 0, "default": 0.0},
        "pad_clip": {
            "type": "boolean",
            "default": False,
            "description": "zero-pad shorter audio to clip_seconds",
        },
        "chunk_seconds": {"type": "number", "exclusiveMinimum": 0, "default": chunk},
        "min_seconds": {"type": "number", "exclusiveMinimum": 0, "default": 1.0},
        "chunks_per_batch": {"type": "integer", "minimum": 1, "default": 8},
        "precision": {
            "enum": ["auto", "fp32", "bf16", "fp16"],
            "default": "auto",
            "description": "auto: bf16 on GPU, fp32 on CPU",
        },
    }


class ChunkedBackbone(Backbone):
    """Subclasses load the model and run it on a (B, samples) batch of chunks."""

    WEIGHT_PARAMS = ("checkpoint", "revision")

    N_HIDDEN: ClassVar[str] = "num_hidden_layers"

    def __init__(self, params: dict, device: str = "cpu", batch_size: int = 16):
        super().__init__(params, device, batch_size)
        self._model = None

    # -- subclass interface ---------------------------------------------------
    def load(self):
        """The model in eval mode on self.device."""
        raise NotImplementedError

    def hidden_size(self) -> int:
        raise NotImplementedError

    def n_layers(self) -> int:
        """Number of hidden states `forward` returns (the input to layer 1 included)."""
        raise NotImplementedError

    def forward(self, chunks):
        """(last (B, T, D), hidden states: sequence of (B, T, D)) for a (B, samples) tensor."""
        raise NotImplementedError

    def frame_count(self, n_samples: int) -> int | None:
        """Frames the model outputs for a chunk, when known without running it."""
        return None

    # -- shared ---------------------------------------------------------------
    def ready(self) -> None:
        self.model  # noqa: B018 - loads it
        self.check_layer()

    def check_layer(self) -> None:
        layer = self.params["layer"]
        if isinstance(layer, int) and layer >= self.n_layers():
            raise ValueError(
                f"layer {layer} does not exist: {self.params['checkpoint']} has hidden states "
                f"0..{self.n_layers() - 1}"
            )

    @property
    def model(self):
        if self._model is None:
            self._model = self.load()
        return self._model

    @property
    def dim(self) -> int:
        return self.hidden_size()

    def describe_extra(self) -> dict:
        return {}

    def describe(self) -> dict:
        p = self.params
        clip = (
            f"{p['clip_seconds']} s from {p['offset_seconds']} s"
            if p["clip_seconds"]
            else "whole track"
        )
        return {
            "checkpoint": f"{p['checkpoint']}" + (f"@{p['revision']}" if p["revision"] else ""),
            "layer": str(p["layer"]),
            "pooling": f"mean over frames of {p['chunk_seconds']}-s chunks ({clip}{', zero-padded' if p['pad_clip'] else ''})",
            **self.describe_extra(),
        }

    def prepare(self, waveform: np.ndarray):
        import torch

        waveform = super().prepare(waveform)
        p, sr = self.params, self.sample_rate
        start = round(p["offset_seconds"] * sr)
        if start >= waveform.size:
            raise UnusableAudio(
                f"offset {p['offset_seconds']} s is past the end ({waveform.size / sr:.2f} s)"
            )
        clip = waveform[start:]
        if p["clip_seconds"]:
            n = round(p["clip_seconds"] * sr)
            clip = clip[:n]
            if p["pad_clip"] and clip.size < n:
                clip = np.pad(clip, (0, n - clip.size))
        if clip.size < p["min_seconds"] * sr:
            raise UnusableAudio(
                f"{clip.size / sr:.2f} s of audio, shorter than min_seconds {p['min_seconds']}"
            )
        step = round(p["chunk_seconds"] * sr)
        chunks = [clip[i : i + step] for i in range(0, clip.size, step)]
        if len(chunks) > 1 and chunks[-1].size < p["min_seconds"] * sr:
            chunks = chunks[:-1]
        return [torch.from_numpy(np.ascontiguousarray(c, dtype=np.float32)) for c in chunks]

    def _autocast(self):
        import torch

        precision = self.params["precision"]
        if precision == "auto":
            precision = "bf16" if str(self.device).startswith("cuda") else "fp32"
        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
        device_type = "cuda" if str(self.device).startswith("cuda") else "cpu"
        return torch.autocast(
            device_type=device_type, dtype=dtype or torch.float32, enabled=dtype is not None
        )

    def _wanted(self) -> list[int | str]:
        layer = self.params["layer"]
        if layer == "all":
            return ["last", *range(self.n_layers())]
        return [layer]

    def embed(self, batch: Sequence[list]):
        import torch

        wanted = self._wanted()
        sums = {w: np.zeros((len(batch), self.dim), np.float64) for w in wanted}
        frames = np.zeros(len(batch), np.float64)
        by_length: dict[int, list[tuple[int, object]]] = {}
        for t, chunks in enumerate(batch):
            for c in chunks:
                by_length.setdefault(int(c.shape[0]), []).append((t, c))
        with torch.inference_mode():
            for _, items in sorted(by_length.items()):
                for start in range(0, len(items), self.params["chunks_per_batch"]):
                    part = items[start : start + self.params["chunks_per_batch"]]
                    x = torch.stack([c for _, c in part]).to(self.device, non_blocking=True)
                    with self._autocast():
                        last, hidden = self.forward(x)
                    owner = np.array([t for t, _ in part])
                    n_frames = last.shape[1]
                    np.add.at(frames, owner, n_frames)
                    for w in wanted:
                        h = last if w == "last" else hidden[w]
                        np.add.at(sums[w], owner, h.float().sum(dim=1).cpu().numpy())
        vectors = {w: (s / frames[:, None]).astype(np.float32) for w, s in sums.items()}
        if self.params["layer"] == "all":
            layers = np.stack([vectors[i] for i in range(self.n_layers())], axis=1)
            return {"embedding": vectors["last"], "layers": layers}
        return vectors[wanted[0]]

    def close(self) -> None:
        self._model = None
