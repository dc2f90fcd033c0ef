"""MuQ-MuLan (OpenMuQ/MuQ-MuLan-large), its audio tower: one 512-value vector per track.

The journal's extraction script calls the MuLan model like MuQ
(``model(batch, output_hidden_states=False)``), which MuQ-MuLan's ``forward``
does not accept; its audio tower is called here as its README calls it,
``mulan(wavs=...)``, which averages the latents of 10-s crops. 24 kHz, the
first 30 s zero-padded. Through the upstream ``muq`` package (``muq``).

MuQ-MuLan's constructor builds its two towers from the models its
``config.json`` names (``audio_model.name``, a MuQ checkpoint, and
``text_model.name``, XLM-RoBERTa with its tokenizer) before its own weights
replace theirs, so ``fetch_weights`` fetches those two as well, and
extraction, offline, finds all three in the cache.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np

from audiorec.backbones.hub import WEIGHTS, resolve
from audiorec.backbones.muq import MuQ
from audiorec.schema import choice, validate_against

TOKENIZER = ["tokenizer_config.json", "sentencepiece.bpe.model", "tokenizer.json"]


class MuQMuLan(MuQ):
    PARAMS = {
        **MuQ.PARAMS,
        "checkpoint": {"type": "string", "default": "OpenMuQ/MuQ-MuLan-large"},
        "layer": choice("last", description="the audio tower's output (no hidden states)"),
    }
    CLASS = "MuQMuLan"

    @classmethod
    def fetch_weights(cls, params: dict) -> list[str]:
        files = super().fetch_weights(params)
        p = validate_against(dict(params), cls.params_schema())
        folder = resolve(p["checkpoint"], ["config.json"], p["revision"], WEIGHTS)
        config = json.loads((folder / "config.json").read_text())
        audio = resolve(
            config["audio_model"]["name"], ["config.json"], None, WEIGHTS, download=True
        )
        text = resolve(
            config["text_model"]["name"],
            ["config.json"],
            None,
            WEIGHTS,
            download=True,
            extra_patterns=TOKENIZER,
        )
        towers = [f for tower in (audio, text) for f in tower.iterdir() if f.is_file()]
        return files + sorted(str(f) for f in towers)

    def build(self, folder):
        return getattr(self._upstream(), self.CLASS)(
            json.loads((folder / "config.json").read_text())
        )

    def hidden_size(self) -> int:
        return int(self.model.config.mulan.dim_latent)

    def n_layers(self) -> int:
        return 1

    def describe_extra(self) -> dict:
        return {"pooling": "MuLan's audio tower (mean of 10-s crops) over the clip"}

    def embed(self, batch: Sequence[list]) -> np.ndarray:
        import torch

        clips = [torch.cat(chunks) for chunks in batch]
        out = []
        with torch.inference_mode():
            for clip in clips:  # clips may differ in length: one pass each
                x = clip[None].to(self.device)
                with self._autocast():
                    out.append(self.model(wavs=x).float().cpu().numpy()[0])
        return np.stack(out).astype(np.float32)


BACKBONE = MuQMuLan
