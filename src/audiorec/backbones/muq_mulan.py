"""MuQ-MuLan (OpenMuQ/MuQ-MuLan-large), its audio tower: one 512-value vector per track.

The journal's extraction script calls the MuLan model like MuQ
(``model(batch, output_hidden_states=False)``), which MuQ-MuLan's ``forward``
does not accept; its audio tower is called here as its README calls it,
``mulan(wavs=...)``, which averages the latents of 10-s crops. 24 kHz, the
first 30 s zero-padded. Through the upstream ``muq`` package, tested against
a stand-in with its API (see ``muq``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from audiorec.backbones.muq import MuQ
from audiorec.schema import choice


class MuQMuLan(MuQ):
    PARAMS = {
        **MuQ.PARAMS,
        "checkpoint": {"type": "string", "default": "OpenMuQ/MuQ-MuLan-large"},
        "layer": choice("last", description="the audio tower's output (no hidden states)"),
    }
    CLASS = "MuQMuLan"

    def hidden_size(self) -> int:
        return int(getattr(self.model.config, "dim_latent", 512))

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
