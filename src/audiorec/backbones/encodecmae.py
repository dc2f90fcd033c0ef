"""EncodecMAE (Pepino et al. 2023; github.com/habla-liaa/encodecmae), 24 kHz, through its package.

The model is built by its own code from the gin config stored with each
checkpoint (EnCodec's encoder, a projection, sinusoidal positions, a ResiDual
transformer), so this adapter runs the upstream package, pinned in
envs/encodecmae.yaml (tag v.1.0.0, whose hub names ``base``, ``small``,
``large``, ``base-st`` and ``large-st`` are the study's). It feeds batches of
equal-length chunks (the study's 4 s) to the model's own encoding steps
(encode_wav, mask without masking, encode_visible) instead of one file at a
time, and pools frames like every chunked backbone. The package fetches its
checkpoint through huggingface_hub (so HF_HUB_OFFLINE is honoured) and
EnCodec's weights through torch.hub's cache.
"""

from __future__ import annotations

from audiorec.backbones.chunked import ChunkedBackbone, chunk_params
from audiorec.backbones.hub import WeightsNotFound

INSTALL = "pip install 'encodecmae @ git+https://github.com/habla-liaa/encodecmae@v.1.0.0' (see envs/encodecmae.yaml)"
MODELS = ["base", "base-st", "large", "large-st", "small"]


class EncodecMAE(ChunkedBackbone):
    SAMPLE_RATE = 24000
    PARAMS = {
        **chunk_params(24000, 4.0, None, "base"),
        "sample_rate": {"const": 24000, "default": 24000},
        "checkpoint": {
            "enum": MODELS,
            "default": "base",
            "description": "EncodecMAE v1 model name",
        },
    }

    @classmethod
    def fetch_weights(cls, params: dict) -> list[str]:
        """The package downloads its checkpoint (hub) and EnCodec's weights (torch.hub) on load."""
        backbone = cls(params)
        backbone.model  # noqa: B018 - loading fetches them
        backbone.close()
        return []

    def load(self):
        try:
            from encodecmae import load_model
        except ImportError as err:
            raise ImportError(f"EncodecMAE needs its upstream package: {INSTALL}") from err
        try:
            model = load_model(self.params["checkpoint"], mode="eval", device=str(self.device))
        except (
            OSError
        ) as err:  # huggingface_hub / torch.hub report missing files and no network as OSErrors
            raise WeightsNotFound(
                f"EncodecMAE {self.params['checkpoint']}: {err}; with HF_HUB_OFFLINE set the checkpoint "
                f"(hub repo lpepino/encodecmae-{self.params['checkpoint']}) and EnCodec's 24 kHz weights must be cached"
            ) from err
        if self.params["layer"] not in ("last",) and not isinstance(self.params["layer"], int):
            raise ValueError("EncodecMAE takes layer: last or an encoder layer index")
        return model

    def hidden_size(self) -> int:
        return int(self.model.feat_projector.out_features)

    def n_layers(self) -> int:
        return len(self.model.visible_encoder.layers)

    def forward(self, chunks):
        import torch

        m = self.model
        x = {
            "wav": chunks,
            "wav_lens": torch.full((len(chunks),), chunks.shape[1], device=chunks.device),
        }
        m.encode_wav(x)
        m.mask(x, ignore_mask=True)
        if isinstance(self.params["layer"], int):
            acts = m.visible_encoder.get_activations(
                x["visible_tokens"], padding_mask=x["visible_padding_mask"]
            )
            return acts[-1], acts
        m.encode_visible(x)
        return x["visible_embeddings"], None


BACKBONE = EncodecMAE
