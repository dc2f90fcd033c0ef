"""EncodecMAE's encoding path as a torch module, built from a published checkpoint.

A published EncodecMAE checkpoint (hub repo ``lpepino/encodecmae-<name>``) is
a folder of ``model.pt`` (a Lightning checkpoint whose ``state_dict`` holds
every submodule of the pre-training model) and ``config.gin`` (the gin
bindings that built it). Encoding uses three of its parts:

1. ``wav_encoder``: EnCodec's 24 kHz SEANet encoder (causal, weight-normed
   convolutions with reflect padding, a two-layer LSTM with a skip, 320
   samples per frame, 128 channels), times the encoder's ``scale``;
2. ``feat_projector`` (128 to the model width) and sinusoidal positions with
   a learnt scale;
3. ``visible_encoder``: a transformer whose layers are ``ResiDual`` (or
   pre-/post-norm) blocks of multi-head attention without biases, whose
   heads take interleaved feature columns, and one feed-forward network that
   every layer shares; the output is ``x + final_norm(residual stream)``.

Frames at or past ``samples // 320`` are masked as keys, as upstream masks
them. Everything else in the checkpoint (decoder, heads, EnCodec quantizer
targets) is left unused; a tensor the encoding path needs but the file lacks,
or one under an encoding-path prefix that it does not use, is an error.
The architecture comes from ``config.gin``, read with gin's own parser.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn

HOP = 320
ENCODING_PREFIXES = ("wav_encoder.", "feat_projector.", "positional_encoder.", "visible_encoder.")


# -- config.gin ---------------------------------------------------------------
class _Reference:
    def __init__(self, scoped_name: str):
        self.scope, _, self.name = scoped_name.rpartition("/")


def read_gin(text: str) -> dict[tuple[str, str, str], object]:
    """Bindings of a gin file as {(scope, class name, argument): value}, macros resolved."""
    from gin import config_parser

    class Delegate(config_parser.ParserDelegate):
        def configurable_reference(self, scoped_name, evaluate):
            return _Reference(scoped_name)

        def macro(self, name):
            return ("%", name)

    macros, bindings = {}, {}
    for statement in config_parser.ConfigParser(text, Delegate()):
        if not isinstance(statement, config_parser.BindingStatement):
            continue
        if not statement.arg_name:
            macros[statement.selector] = statement.value
            continue
        cls = statement.selector.rsplit(".", 1)[-1]
        bindings[(statement.scope, cls, statement.arg_name)] = statement.value

    def resolve(value):
        while isinstance(value, tuple) and len(value) == 2 and value[0] == "%":
            value = macros[value[1]]
        return value

    return {k: resolve(v) for k, v in bindings.items()}


class Settings:
    """The encoding path's settings from config.gin, with upstream's defaults."""

    def __init__(self, bindings: dict):
        self.b = bindings
        encoder = self.get("", "EncodecMAE", "visible_encoder")
        self.scope = encoder.scope if isinstance(encoder, _Reference) else ""
        positional = self.get("", "EncodecMAE", "positional_encoder", "missing")
        self.positions = positional is not None
        attention = self.get(self.scope, "TransformerEncoder", "attention_layer")
        self.attention_scope = attention.scope if isinstance(attention, _Reference) else self.scope

    def get(self, scope: str, cls: str, arg: str, default=None):
        for s in (scope, ""):
            if (s, cls, arg) in self.b:
                return self.b[(s, cls, arg)]
        return default

    def encoder(self, arg: str, default=None):
        return self.get(self.scope, "TransformerEncoder", arg, default)

    def attention(self, arg: str, default=None):
        return self.get(self.attention_scope, "MultiHeadAttention", arg, default)


# -- EnCodec's SEANet encoder ------------------------------------------------------
class _WeightNormConv1d(nn.Module):
    """A Conv1d stored as weight norm (weight_g, weight_v), applied as EnCodec's SConv1d (causal)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, dilation: int = 1):
        super().__init__()
        self.weight_g = nn.Parameter(torch.ones(cout, 1, 1))
        self.weight_v = nn.Parameter(torch.zeros(cout, cin, kernel))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.kernel, self.stride, self.dilation = kernel, stride, dilation

    def forward(self, x):
        k, s, d = self.kernel, self.stride, self.dilation
        pad = (k - 1) * d - (s - 1)
        length = x.shape[-1]
        frames = (length - k + pad) / s + 1
        extra = (math.ceil(frames) - 1) * s + (k - pad) - length
        if length <= max(pad, extra):  # reflect needs more samples than the padding
            grow = max(pad, extra) - length + 1
            x = nn.functional.pad(x, (0, grow))
            x = nn.functional.pad(x, (pad, extra), mode="reflect")[
                ..., : x.shape[-1] + pad + extra - grow
            ]
        else:
            x = nn.functional.pad(x, (pad, extra), mode="reflect")
        weight = torch._weight_norm(self.weight_v, self.weight_g, 0)
        return nn.functional.conv1d(x, weight, self.bias, stride=s, dilation=d)


class _Conv(nn.Module):
    """Holds the conv under EnCodec's parameter names (``conv.conv.weight_g``)."""

    def __init__(self, *args, **kwargs):
        super().__init__()
        self.conv = nn.Module()
        self.conv.conv = _WeightNormConv1d(*args, **kwargs)

    def forward(self, x):
        return self.conv.conv(x)


class _ResBlock(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.block = nn.Sequential(
            nn.ELU(), _Conv(dim, dim // 2, 3), nn.ELU(), _Conv(dim // 2, dim, 1)
        )
        self.shortcut = _Conv(dim, dim, 1)

    def forward(self, x):
        return self.shortcut(x) + self.block(x)


class _LSTM(nn.Module):
    def __init__(self, dim: int, layers: int = 2):
        super().__init__()
        self.lstm = nn.LSTM(dim, dim, layers)

    def forward(self, x):
        x = x.permute(2, 0, 1)
        y, _ = self.lstm(x)
        return (y + x).permute(1, 2, 0)


class SEANetEncoder(nn.Module):
    """EnCodec 24 kHz: ratios 2, 4, 5, 8 (320 samples a frame), 128 outputs; `filters` base
    filters (32 in every published model, read from the checkpoint)."""

    def __init__(self, filters: int = 32, ratios=(2, 4, 5, 8), dimension: int = 128):
        super().__init__()
        layers: list[nn.Module] = [_Conv(1, filters, 7)]
        mult = 1
        for ratio in ratios:
            layers += [
                _ResBlock(mult * filters),
                nn.ELU(),
                _Conv(mult * filters, mult * filters * 2, ratio * 2, stride=ratio),
            ]
            mult *= 2
        layers += [_LSTM(mult * filters), nn.ELU(), _Conv(mult * filters, dimension, 7)]
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x)


# -- the transformer ------------------------------------------------------------
class _Attention(nn.Module):
    def __init__(self, dim: int, heads: int, qk_dim: int | None, v_dim: int | None, biases: dict):
        super().__init__()
        self.heads = heads
        self.qk = qk_dim or dim // heads
        self.v = v_dim or self.qk
        self.wq = nn.Linear(dim, self.qk * heads, bias=biases["q"])
        self.wk = nn.Linear(dim, self.qk * heads, bias=biases["k"])
        self.wv = nn.Linear(dim, self.v * heads, bias=biases["v"])
        self.wo = nn.Linear(self.v * heads, dim, bias=biases["out"])
        self.scale = self.qk**-0.5

    def forward(self, x, key_mask):
        n, t, _ = x.shape
        h = self.heads

        def split(y, width):  # feature column d * heads + h belongs to head h
            return y.view(n, t, width, h).permute(0, 3, 1, 2).reshape(n * h, t, width)

        q, k, v = split(self.wq(x), self.qk), split(self.wk(x), self.qk), split(self.wv(x), self.v)
        mask = key_mask[:, None, None, :].expand(n, h, t, t).reshape(n * h, t, t).to(q.dtype)
        att = (q @ k.transpose(-2, -1) * self.scale + mask * -1e9).softmax(dim=-1)
        out = (att @ v).view(n, h, t, self.v).permute(0, 2, 3, 1).reshape(n, t, self.v * h)
        return self.wo(out)


class _Layer(nn.Module):
    def __init__(self, dim: int, attention: _Attention, ff: nn.Module, norm_type: str):
        super().__init__()
        self.att_layer = attention
        self.ff_layer = ff
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.norm_type = norm_type

    def forward(self, x, key_mask):
        if self.norm_type == "ResiDual":
            x0, x1 = x
            att = self.att_layer(x0, key_mask)
            x0, x1 = self.norm1(x0 + att), x1 + att
            ff = self.ff_layer(x0)
            return self.norm2(x0 + ff), x1 + ff
        if self.norm_type == "prenorm":
            x = x + self.att_layer(self.norm1(x), key_mask)
            return x + self.ff_layer(self.norm2(x))
        x = self.norm1(x + self.att_layer(x, key_mask))
        return self.norm2(x + self.ff_layer(x))


class TransformerEncoder(nn.Module):
    def __init__(self, settings: Settings):
        super().__init__()
        s = settings
        dim = int(s.encoder("model_dim"))
        self.model_dim = dim
        self.norm_type = s.encoder("norm_type", "ResiDual")
        if self.norm_type not in ("ResiDual", "prenorm", "postnorm"):
            raise ValueError(f"config.gin: unknown norm_type {self.norm_type!r}")
        if s.encoder("ff_layer") is not None or s.encoder("positional_encoder") is not None:
            raise ValueError(
                "config.gin: a custom ff_layer or inner positional encoder is not supported"
            )
        if s.encoder("init_values") or s.encoder("cross_attention_layer") is not None:
            raise ValueError("config.gin: LayerScale or cross attention is not an encoding path")
        ff_dim = int(s.encoder("ff_dim", 4096))
        ff = nn.Sequential(nn.Linear(dim, ff_dim), nn.ReLU(), nn.Linear(ff_dim, dim))  # shared
        biases = {b: bool(s.attention(f"{b}_bias", False)) for b in ("q", "k", "v", "out")}
        heads = int(s.attention("num_heads"))
        self.encoder_layers = nn.ModuleList(
            _Layer(
                dim,
                _Attention(
                    dim, heads, s.attention("qk_proj_dim"), s.attention("v_proj_dim"), biases
                ),
                ff,
                self.norm_type,
            )
            for _ in range(int(s.encoder("num_layers")))
        )
        self.final_norm = nn.LayerNorm(dim) if self.norm_type != "postnorm" else nn.Identity()

    def forward(self, x, key_mask):
        """(output, activations): activations[i] is layer i+1's normalised output, as upstream's
        ``get_activations`` lists them."""
        acts = []
        state = (x, x) if self.norm_type == "ResiDual" else x
        for layer in self.encoder_layers:
            state = layer(state, key_mask)
            acts.append(state[0] if self.norm_type == "ResiDual" else state)
        if self.norm_type == "ResiDual":
            return state[0] + self.final_norm(state[1]), acts
        return self.final_norm(state), acts


class _Positions(nn.Module):
    def __init__(self, learn_scale: bool, scale: float):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(float(scale)), requires_grad=bool(learn_scale))

    def forward(self, x):
        t, d = x.shape[1], x.shape[2]
        position = torch.arange(0, t).unsqueeze(1).unsqueeze(0).float()
        div = torch.exp(torch.arange(0, d, 2, dtype=torch.float) * -(math.log(10000.0) / d))
        pe = torch.zeros_like(x)
        pe[:, :, 0::2] = torch.sin(position * div)
        pe[:, :, 1::2] = torch.cos(position * div)
        return x + self.scale * pe


class _WavEncoder(nn.Module):
    def __init__(self, scale: float, filters: int):
        super().__init__()
        self.model = SEANetEncoder(filters)
        self.scale = scale

    def forward(self, wav):
        return self.model(wav.unsqueeze(1)).permute(0, 2, 1) * self.scale


class EncodecMAEEncoder(nn.Module):
    """wav (B, samples) at 24 kHz -> (last (B, T, D), per-layer activations)."""

    def __init__(self, settings: Settings, filters: int = 32):
        super().__init__()
        scale = float(settings.get("", "EncodecEncoder", "scale", 1.0))
        self.wav_encoder = _WavEncoder(scale, filters)
        self.visible_encoder = TransformerEncoder(settings)
        self.feat_projector = nn.Linear(128, self.visible_encoder.model_dim)
        self.positional_encoder = (
            _Positions(
                settings.get("", "SinusoidalPositionalEmbeddings", "learn_scale", True),
                settings.get("", "SinusoidalPositionalEmbeddings", "scale", 1.0),
            )
            if settings.positions
            else None
        )

    def forward(self, wav):
        x = self.feat_projector(self.wav_encoder(wav))
        if self.positional_encoder is not None:
            x = self.positional_encoder(x)
        valid = wav.shape[1] // HOP
        key_mask = torch.zeros(x.shape[:2], dtype=torch.bool, device=x.device)
        key_mask[:, valid:] = True
        return self.visible_encoder(x, key_mask)


def _renamed(state: dict) -> dict:
    """Weight-norm tensors under torch's newer parametrization names, renamed to weight_g/_v."""
    out = {}
    for k, v in state.items():
        k = k.replace("parametrizations.weight.original0", "weight_g")
        k = k.replace("parametrizations.weight.original1", "weight_v")
        out[k] = v
    return out


def load(folder: Path) -> EncodecMAEEncoder:
    """The encoder of the checkpoint in `folder` (model.pt + config.gin), weights loaded strictly."""
    settings = Settings(read_gin((folder / "config.gin").read_text()))
    checkpoint = torch.load(folder / "model.pt", map_location="cpu", weights_only=False)
    state = _renamed(checkpoint.get("state_dict", checkpoint))
    first = state.get("wav_encoder.model.model.0.conv.conv.weight_v")
    if first is None:
        raise ValueError(
            f"{folder / 'model.pt'}: no EnCodec encoder (wav_encoder.model.*) in state_dict"
        )
    model = EncodecMAEEncoder(settings, filters=int(first.shape[0]))
    wanted = model.state_dict()
    used = {k: v for k, v in state.items() if k in wanted}
    missing = sorted(set(wanted) - set(used))
    stray = sorted(k for k in state if k.startswith(ENCODING_PREFIXES) and k not in wanted)
    if missing or stray:
        parts = []
        if missing:
            parts.append(f"lacks {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}")
        if stray:
            parts.append(
                f"has tensors the encoder does not use: {', '.join(stray[:5])}"
                f"{' ...' if len(stray) > 5 else ''}"
            )
        raise ValueError(
            f"{folder / 'model.pt'}: {'; '.join(parts)} (config.gin and weights disagree)"
        )
    for k, v in used.items():
        if v.shape != wanted[k].shape:
            raise ValueError(
                f"{folder / 'model.pt'}: {k} has shape {tuple(v.shape)}, config.gin builds {tuple(wanted[k].shape)}"
            )
    model.load_state_dict(used, strict=True)
    return model.eval()
