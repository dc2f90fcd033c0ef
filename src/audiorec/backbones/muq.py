"""MuQ (Zhu et al. 2025; OpenMuQ/MuQ-large-msd-iter), 24 kHz, through its package.

The journal version's recipe: the first 30 s of each track at 24 kHz,
zero-padded, one pass, the last hidden state averaged over time (1,024
values). The model is the upstream ``muq`` package's ``MuQ`` class, built from
the checkpoint folder's ``config.json``; its weights are read from
``model.safetensors`` or ``pytorch_model.bin`` (whichever the folder has) and
loaded strictly: a tensor the model has and the file lacks, or the other way
round, is an error naming it (upstream's ``from_pretrained`` needs the
safetensors file and loads with ``strict=False``). ``layer`` picks another of
the ``encoder_depth + 1`` hidden states, or ``all``. The package needs
torchaudio, so it runs in its own environment (``envs/muq.yaml``, built by
``make env-muq``); ``tests/test_upstream_parity.py`` compares this adapter
with the package's documented path there.
"""

from __future__ import annotations

import json

from audiorec.backbones.chunked import ChunkedBackbone, chunk_params
from audiorec.backbones.hub import WEIGHTS, load_strictly, resolve
from audiorec.schema import validate_against

INSTALL = "make env-muq (envs/muq.yaml: muq 0.1.0, transformers < 5, torchaudio)"


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
    UPSTREAM = "muq"

    @classmethod
    def fetch_weights(cls, params: dict) -> list[str]:
        p = validate_against(dict(params), cls.params_schema())
        folder = resolve(p["checkpoint"], ["config.json"], p["revision"], WEIGHTS, download=True)
        return sorted(str(f) for f in folder.iterdir() if f.is_file())

    def _folder(self):
        return resolve(self.params["checkpoint"], ["config.json"], self.params["revision"], WEIGHTS)

    def _upstream(self):
        try:
            import muq
        except ImportError as err:
            raise ImportError(f"{self.CLASS} needs its upstream package: {INSTALL}") from err
        return muq

    def build(self, folder):
        """The upstream model for the folder's config.json, with random weights."""
        config = json.loads((folder / "config.json").read_text())
        return getattr(self._upstream(), self.CLASS)(config)

    def load(self):
        folder = self._folder()
        model = self.build(folder)
        load_strictly(model, folder)
        return model.to(self.device).eval()

    def hidden_size(self) -> int:
        return int(self.model.config.encoder_dim)

    def n_layers(self) -> int:
        return int(self.model.config.encoder_depth) + 1

    def forward(self, chunks):
        out = self.model(chunks, output_hidden_states=self.params["layer"] != "last")
        return out.last_hidden_state, out.hidden_states


BACKBONE = MuQ
