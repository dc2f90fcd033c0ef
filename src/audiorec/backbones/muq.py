"""MuQ (Zhu et al. 2025; OpenMuQ/MuQ-large-msd-iter), 24 kHz, through its package.

The journal version's recipe: the first 30 s of each track at 24 kHz,
zero-padded, one pass, the last hidden state averaged over time (1,024
values). The model is built by the upstream ``muq`` package from the
checkpoint folder (``MuQ.from_pretrained``), which the ``fetch_weights`` job
fetched; ``layer`` picks another hidden state. The package needs torchaudio,
nnAudio and x_clip, which cannot be installed beside this project's torch
here: audiorec's side is tested against a stand-in with its API.
"""

from __future__ import annotations

from audiorec.backbones.chunked import ChunkedBackbone, chunk_params
from audiorec.backbones.hub import resolve
from audiorec.schema import validate_against

INSTALL = "pip install muq==0.1.0 (see envs/muq.yaml)"
WEIGHTS = ["model.safetensors", "pytorch_model.bin"]


class MuQ(ChunkedBackbone):
    SAMPLE_RATE = 24000
    PARAMS = {
        **chunk_params(24000, 30.0, 30.0, "OpenMuQ/MuQ-large-msd-iter"),
        "sample_rate": {"const": 24000, "default": 24000},
        "pad_clip": {
            "type": "boolean",
            "default": True,
            "description": "zero-pad to the clip (the journal)",
        },
    }
    CLASS = "MuQ"

    @classmethod
    def fetch_weights(cls, params: dict) -> list[str]:
        p = validate_against(dict(params), cls.params_schema())
        folder = resolve(p["checkpoint"], ["config.json"], p["revision"], WEIGHTS, download=True)
        return sorted(str(f) for f in folder.iterdir() if f.is_file())

    def load(self):
        try:
            import muq
        except ImportError as err:
            raise ImportError(f"{self.CLASS} needs its upstream package: {INSTALL}") from err
        folder = resolve(
            self.params["checkpoint"], ["config.json"], self.params["revision"], WEIGHTS
        )
        return getattr(muq, self.CLASS).from_pretrained(str(folder)).to(self.device).eval()

    def hidden_size(self) -> int:
        return int(
            self.model.config.encoder_dim if hasattr(self.model.config, "encoder_dim") else 1024
        )

    def n_layers(self) -> int:
        return int(getattr(self.model.config, "num_hidden_layers", 12)) + 1

    def forward(self, chunks):
        out = self.model(chunks, output_hidden_states=isinstance(self.params["layer"], int))
        hidden = out.hidden_states if out.hidden_states is not None else ()
        return out.last_hidden_state, hidden


BACKBONE = MuQ
