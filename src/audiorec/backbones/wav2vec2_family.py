"""Shared code of the backbones built on transformers' wav2vec2-family models."""

from __future__ import annotations

import json
from pathlib import Path

from audiorec.backbones.chunked import ChunkedBackbone
from audiorec.backbones.hub import WEIGHTS, resolve
from audiorec.schema import validate_against


class Wav2Vec2Family(ChunkedBackbone):
    """Config in config.json, weights in model.safetensors or pytorch_model.bin."""

    def _folder(self) -> Path:
        if not hasattr(self, "_resolved"):
            self._resolved = resolve(
                self.params["checkpoint"], ["config.json"], self.params["revision"], any_of=WEIGHTS
            )
        return self._resolved

    @classmethod
    def fetch_weights(cls, params: dict) -> list[str]:
        p = validate_against(dict(params), cls.params_schema())
        folder = resolve(p["checkpoint"], ["config.json"], p["revision"], WEIGHTS, download=True)
        return sorted(str(f) for f in folder.iterdir() if f.is_file())

    def config_dict(self) -> dict:
        if not hasattr(self, "_config"):
            self._config = json.loads((self._folder() / "config.json").read_text())
        return self._config

    def hidden_size(self) -> int:
        return int(self.config_dict()["hidden_size"])

    def n_layers(self) -> int:
        return int(self.config_dict()["num_hidden_layers"]) + 1

    def normalize(self, x):
        """Zero mean, unit variance per chunk, as Wav2Vec2FeatureExtractor does when do_normalize."""
        mode = self.params["normalize"]
        if mode == "preprocessor":
            pre = self._folder() / "preprocessor_config.json"
            mode = bool(pre.exists() and json.loads(pre.read_text()).get("do_normalize", False))
        if not mode:
            return x
        mean = x.mean(dim=1, keepdim=True)
        var = x.var(dim=1, keepdim=True, unbiased=False)
        return (x - mean) / (var + 1e-7).sqrt()

    def forward(self, chunks):
        out = self.model(self.normalize(chunks), output_hidden_states=True)
        return out.last_hidden_state, out.hidden_states


NORMALIZE = {
    "enum": ["preprocessor", True, False],
    "default": "preprocessor",
    "description": "per-chunk zero mean / unit variance: as the checkpoint's preprocessor_config says, or forced",
}
