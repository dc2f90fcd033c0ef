"""EncodecMAE (Pepino et al. 2023; github.com/habla-liaa/encodecmae), 24 kHz.

The published checkpoints (hub repos ``lpepino/encodecmae-<name>``: v1's
``base``, ``small``, ``large``, ``base-st`` and ``large-st``, the study's
``base``) are folders of ``model.pt`` and ``config.gin``. This adapter builds
the encoding path itself (``encodecmae_net``: EnCodec's SEANet encoder, the
projection, sinusoidal positions, the ResiDual transformer) from the gin
bindings and loads the weights strictly, so neither the upstream package
(GitHub only) nor EnCodec's own weights are needed: the checkpoint holds the
encoder it was trained with. Its vectors are checked against the upstream
package's ``extract_features_from_array`` on a golden fixture
(``tests/fixtures/upstream/encodecmae``).

``layer: last`` is the encoder output (upstream's ``layer=-1``); an integer
``i`` is the ``i``-th entry of upstream's ``get_activations`` (layer i+1's
normalised stream), so ``n_layers`` equals the number of transformer layers.
Chunks of ``chunk_seconds`` (the study's 4 s) go through the model in
batches of equal length, and frames are averaged like every chunked backbone.
"""

from __future__ import annotations

from audiorec.backbones.chunked import ChunkedBackbone, chunk_params
from audiorec.backbones.hub import resolve
from audiorec.schema import validate_against

MODELS = ["base", "base-st", "large", "large-st", "small"]
FILES = ["model.pt", "config.gin"]


def hub_id(checkpoint: str) -> str:
    """A v1 model name's hub repo; anything else (a local folder, a hub id) as it is."""
    return f"lpepino/encodecmae-{checkpoint}" if checkpoint in MODELS else checkpoint


class EncodecMAE(ChunkedBackbone):
    SAMPLE_RATE = 24000
    PARAMS = {
        **chunk_params(24000, 4.0, None, "base"),
        "sample_rate": {"const": 24000, "default": 24000},
        "checkpoint": {
            "type": "string",
            "default": "base",
            "description": f"a v1 model name ({', '.join(MODELS)}), a hub id or a local folder "
            "holding model.pt and config.gin",
        },
    }

    @classmethod
    def fetch_weights(cls, params: dict) -> list[str]:
        p = validate_against(dict(params), cls.params_schema())
        folder = resolve(hub_id(p["checkpoint"]), FILES, p["revision"], download=True)
        return [str(folder / f) for f in FILES]

    def load(self):
        from audiorec.backbones import encodecmae_net

        folder = resolve(hub_id(self.params["checkpoint"]), FILES, self.params["revision"])
        model = encodecmae_net.load(folder)
        self._n_layers = len(model.visible_encoder.encoder_layers)
        return model.to(self.device)

    def hidden_size(self) -> int:
        return int(self.model.visible_encoder.model_dim)

    def n_layers(self) -> int:
        self.model  # noqa: B018 - loading sets it
        return self._n_layers

    def describe_extra(self) -> dict:
        return {"checkpoint": hub_id(self.params["checkpoint"])}

    def forward(self, chunks):
        return self.model(chunks)


BACKBONE = EncodecMAE
