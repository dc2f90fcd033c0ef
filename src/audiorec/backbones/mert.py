"""MERT (m-a-p/MERT-v1-95M and -330M), 24 kHz.

The published checkpoints ship their own modeling code (trust_remote_code),
a HuBERT with optional extras: CQT input features, DeepNorm residual scaling
and "attention relaxation". ``loader: hubert`` (default) builds transformers'
HubertModel from the checkpoint's own config.json and weights, so no remote
code runs: the CQT branch is refused with a clear error (no MERT-v1 checkpoint
uses it), DeepNorm is applied by scaling the residual branches, and attention
relaxation is left out because it subtracts a per-row constant before the
softmax, which changes nothing. On tiny random checkpoints in MERT's format,
both configurations (post-norm, and DeepNorm as MERT-v1-330M) give the remote
code's hidden states to 1e-7 (``tests/fixtures/upstream/mert*``).
``loader: remote_code`` runs the checkpoint's own code instead (its folder
must hold modeling_MERT.py); that code runs only under transformers < 4.48
(later HuBERT classes read config keys MERTConfig lacks), so it is refused
under newer ones before any track is read.
"""

from __future__ import annotations

import math

from audiorec.backbones.chunked import chunk_params
from audiorec.backbones.hub import load_state_dict
from audiorec.backbones.wav2vec2_family import NORMALIZE, Wav2Vec2Family

REMOTE_CODE_BELOW = "4.48"  # transformers' HuBERT reads conv_pos_batch_norm from 4.48 on
MERT_ONLY = {
    "feature_extractor_cqt",
    "feature_extractor_cqt_bins",
    "deepnorm",
    "attention_relax",
    "sample_rate",
    "auto_map",
    "architectures",
    "model_type",
    "transformers_version",
    "torch_dtype",
    "dtype",
}


def _deepnorm(model, alpha: float) -> None:
    """Post-norm layers computing LN(alpha * x + f(x)) instead of LN(x + f(x))."""
    import types

    def forward(layer, hidden_states, attention_mask=None, **kwargs):
        residual = hidden_states
        attended = layer.attention(hidden_states, attention_mask=attention_mask, **kwargs)[0]
        hidden_states = layer.layer_norm(residual * alpha + layer.dropout(attended))
        return layer.final_layer_norm(hidden_states * alpha + layer.feed_forward(hidden_states))

    for layer in model.encoder.layers:
        layer.forward = types.MethodType(forward, layer)


class MERT(Wav2Vec2Family):
    SAMPLE_RATE = 24000
    PARAMS = {
        **chunk_params(24000, 5.0, None, "m-a-p/MERT-v1-95M"),
        "normalize": NORMALIZE,
        "loader": {"enum": ["hubert", "remote_code"], "default": "hubert"},
    }

    def load(self):
        self.check_layer()
        folder = self._folder()
        if self.params["loader"] == "remote_code":
            import transformers
            from packaging.version import Version
            from transformers import AutoModel

            if Version(transformers.__version__) >= Version(REMOTE_CODE_BELOW):
                raise RuntimeError(
                    f"loader: remote_code runs MERT's own modeling code, which fails under "
                    f"transformers {transformers.__version__} (it needs < {REMOTE_CODE_BELOW}); "
                    "use loader: hubert, which gives the same hidden states, or an environment "
                    f"with transformers < {REMOTE_CODE_BELOW}"
                )

            return (
                AutoModel.from_pretrained(str(folder), trust_remote_code=True)
                .to(self.device)
                .eval()
            )
        from transformers import HubertConfig, HubertModel

        cfg = self.config_dict()
        if cfg.get("feature_extractor_cqt"):
            raise ValueError(
                f"{folder}: MERT with CQT input features needs loader: remote_code (and nnAudio)"
            )
        config = HubertConfig(**{k: v for k, v in cfg.items() if k not in MERT_ONLY})
        model = HubertModel(config)
        state = load_state_dict(folder)
        missing, unexpected = model.load_state_dict(state, strict=False)
        missing = [k for k in missing if not k.startswith("masked_spec_embed")]
        if missing:
            raise ValueError(
                f"{folder}: weights lack {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}"
            )
        if cfg.get("deepnorm"):
            if config.do_stable_layer_norm:
                raise ValueError(
                    f"{folder}: deepnorm with pre-layer-norm is not a MERT configuration"
                )
            _deepnorm(model, math.pow(2.0 * config.num_hidden_layers, 0.25))
        self.ignored_weights = sorted(unexpected)
        return model.to(self.device).eval()


BACKBONE = MERT
