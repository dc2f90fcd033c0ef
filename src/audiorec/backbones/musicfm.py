"""MusicFM (Won et al. 2024; github.com/minzwon/musicfm, MIT), the 25 Hz model, at 24 kHz.

Our implementation of MusicFM25Hz's encoding path, loading the published
checkpoints as they are (``pretrained_msd.pt`` / ``pretrained_fma.pt``, a dict
whose ``state_dict`` holds ``model.``-prefixed weights, and the matching
``msd_stats.json`` / ``fma_stats.json``; hub repo ``minzwon/MusicFM``):

1. mel spectrogram as torchaudio's MelSpectrogram(24 kHz, n_fft 2048, hop 240,
   128 HTK bands, no filter normalisation, centred reflect-padded Hann STFT,
   power 2), then 10·log10(max(x, 1e-10)); the last frame is dropped;
2. normalised with the stats file's global mean and standard deviation;
3. two strided residual 3x3 convolution blocks (frequency and time halved
   twice) and a linear layer to 1,024;
4. transformers' Wav2Vec2ConformerEncoder with the settings of
   facebook/wav2vec2-conformer-rope-large (16 heads, feed-forward 4,096,
   Swish, rotary positions, depthwise kernel 31), 12 layers.

Hidden states are numbered as MusicFM's ``get_latent(layer_ix)`` numbers
them (transformers 4): 0 is the input to layer 1, i the output of layer i,
and 12 the layer-normalised output of the last layer. The mel filterbank and
window stored in the checkpoint are used when present.

The study pooled layer 12 over channels (``pooling: channels``: one value per
25 Hz frame, 750 for 30 s, following MusicFM's README, whose ``emb.mean(-1)``
averages the channel axis); the default averages over time.
"""

from __future__ import annotations

import json

import numpy as np

from audiorec.backbones.chunked import ChunkedBackbone, chunk_params
from audiorec.backbones.hub import resolve
from audiorec.schema import choice, validate_against

SR, N_FFT, HOP, N_MELS = 24000, 2048, 240, 128
CONFORMER = {  # facebook/wav2vec2-conformer-rope-large-960h-ft, as MusicFM reads it
    "num_attention_heads": 16,
    "intermediate_size": 4096,
    "hidden_act": "swish",
    "position_embeddings_type": "rotary",
    "rotary_embedding_base": 10000,
    "conv_depthwise_kernel_size": 31,
    "layer_norm_eps": 1e-5,
    "num_conv_pos_embeddings": 128,
    "num_conv_pos_embedding_groups": 16,
    "hidden_dropout": 0.0,
    "attention_dropout": 0.0,
    "activation_dropout": 0.0,
    "layerdrop": 0.0,
}


def htk_mel_filterbank(n_freqs: int, n_mels: int, sample_rate: int) -> np.ndarray:
    """(n_freqs, n_mels) triangles on the HTK mel scale, unnormalised (torchaudio's defaults)."""
    freqs = np.linspace(0, sample_rate / 2, n_freqs)
    hz_to_mel = lambda f: 2595.0 * np.log10(1.0 + f / 700.0)  # noqa: E731
    mels = np.linspace(hz_to_mel(0.0), hz_to_mel(sample_rate / 2), n_mels + 2)
    points = 700.0 * (10 ** (mels / 2595.0) - 1.0)
    diff = np.diff(points)
    slopes = points[np.newaxis, :] - freqs[:, np.newaxis]
    down = -slopes[:, :-2] / diff[:-1]
    up = slopes[:, 2:] / diff[1:]
    return np.maximum(0.0, np.minimum(down, up)).astype(np.float32)


def _network(conv_dim: int, encoder_dim: int, depth: int, ffn: int):
    import torch
    from torch import nn
    from transformers import Wav2Vec2ConformerConfig
    from transformers.models.wav2vec2_conformer.modeling_wav2vec2_conformer import (
        Wav2Vec2ConformerEncoder,
    )

    class Res2d(nn.Module):
        def __init__(self, cin: int, cout: int, stride=(2, 2)):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, padding=1, stride=stride)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
            self.bn2 = nn.BatchNorm2d(cout)
            self.conv3 = nn.Conv2d(
                cin, cout, 3, padding=1, stride=stride
            )  # the shortcut: always strided here
            self.bn3 = nn.BatchNorm2d(cout)

        def forward(self, x):
            out = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
            return torch.relu(self.bn3(self.conv3(x)) + out)

    class Subsampling(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Sequential(Res2d(1, conv_dim), Res2d(conv_dim, conv_dim))
            self.linear = nn.Linear(conv_dim * N_MELS // 4, encoder_dim)

        def forward(self, mel):  # (B, F, T) -> (B, T/4, D)
            x = self.conv(mel.unsqueeze(1))
            b, c, f, t = x.shape
            return self.linear(x.permute(0, 3, 1, 2).reshape(b, t, c * f))

    class MusicFM(nn.Module):
        def __init__(self):
            super().__init__()
            settings = {
                **CONFORMER,
                "hidden_size": encoder_dim,
                "num_hidden_layers": depth,
                "intermediate_size": ffn,
            }
            self.conv = Subsampling()
            self.conformer = Wav2Vec2ConformerEncoder(Wav2Vec2ConformerConfig(**settings))
            self.register_buffer("window", torch.hann_window(N_FFT))
            self.register_buffer(
                "fb", torch.from_numpy(htk_mel_filterbank(N_FFT // 2 + 1, N_MELS, SR))
            )
            self.register_buffer("stat", torch.zeros(2))

        def mel_db(self, wave):
            spec = torch.stft(
                wave.float(),
                N_FFT,
                HOP,
                window=self.window,
                center=True,
                pad_mode="reflect",
                return_complex=True,
            )
            mel = (spec.abs() ** 2).transpose(1, 2) @ self.fb  # (B, T, F)
            db = 10.0 * torch.log10(torch.clamp(mel, min=1e-10))
            return db.transpose(1, 2)[..., :-1]

        def forward(self, wave):
            mel = (self.mel_db(wave) - self.stat[0]) / self.stat[1]
            h = self.conv(mel.to(next(self.conv.parameters()).dtype))
            enc = self.conformer
            rotary = enc.embed_positions(h) if enc.embed_positions is not None else None
            hidden = []
            for layer in enc.layers:
                hidden.append(h)
                h = layer(h, attention_mask=None, relative_position_embeddings=rotary)
            h = enc.layer_norm(h)
            hidden.append(h)
            return h, hidden

    return MusicFM()


class MusicFMBackbone(ChunkedBackbone):
    SAMPLE_RATE = SR
    WEIGHT_PARAMS = ("checkpoint", "revision", "variant")
    PARAMS = {
        **chunk_params(SR, 30.0, None, "minzwon/MusicFM"),
        "sample_rate": {"const": SR, "default": SR},
        "variant": choice("msd", "fma", description="the study used fma; msd is the better one"),
        "pooling": choice(
            "time", "channels", description="channels: the study's (a value per frame)"
        ),
    }

    @staticmethod
    def files_of(variant: str) -> tuple[str, str]:
        return f"pretrained_{variant}.pt", f"{variant}_stats.json"

    def _files(self):
        return self.files_of(self.params["variant"])

    @classmethod
    def fetch_weights(cls, params: dict) -> list[str]:
        p = validate_against(dict(params), cls.params_schema())
        files = cls.files_of(p["variant"])
        folder = resolve(p["checkpoint"], list(files), p["revision"], download=True)
        return [str(folder / f) for f in files]

    def _folder(self):
        if not hasattr(self, "_resolved"):
            self._resolved = resolve(
                self.params["checkpoint"], list(self._files()), self.params["revision"]
            )
        return self._resolved

    def _state(self) -> dict:
        if not hasattr(self, "_weights"):
            import torch

            raw = torch.load(
                self._folder() / self._files()[0], map_location="cpu", weights_only=True
            )
            raw = raw.get("state_dict", raw)
            self._weights = {k.removeprefix("model."): v for k, v in raw.items()}
        return self._weights

    def _sizes(self) -> tuple[int, int, int, int]:
        """Widths and depth, read off the weights (the checkpoint has no config)."""
        s = self._state()
        conv_dim = s["conv.conv.0.conv1.weight"].shape[0]
        encoder_dim = s["conv.linear.weight"].shape[0]
        depth = 1 + max(int(k.split(".")[2]) for k in s if k.startswith("conformer.layers."))
        ffn = s["conformer.layers.0.ffn1.intermediate_dense.weight"].shape[0]
        return conv_dim, encoder_dim, depth, ffn

    def hidden_size(self) -> int:
        if self.params["pooling"] == "channels":
            return self._frames_per_clip()
        return self._sizes()[1]

    def n_layers(self) -> int:
        return self._sizes()[2] + 1

    def _frames_per_clip(self) -> int:
        frames = (
            round(self.params["clip_seconds"] * SR) // HOP
        )  # after dropping the last STFT frame
        for _ in range(2):
            frames = (frames - 1) // 2 + 1
        return frames

    def load(self):
        import torch

        p = self.params
        if p["pooling"] == "channels":
            if not (
                p["clip_seconds"]
                and p["pad_clip"]
                and p["chunk_seconds"] == p["clip_seconds"]
                and p["layer"] != "all"
            ):
                raise ValueError(
                    "pooling: channels needs clip_seconds, pad_clip: true, chunk_seconds = clip_seconds and one layer"
                )
        if isinstance(p["layer"], int) and p["layer"] >= self.n_layers():
            raise ValueError(
                f"layer {p['layer']} does not exist: MusicFM has hidden states 0..{self.n_layers() - 1}"
            )
        conv_dim, encoder_dim, depth, ffn = self._sizes()
        net = _network(conv_dim, encoder_dim, depth, ffn)
        state = dict(self._state())
        stats = json.loads((self._folder() / self._files()[1]).read_text())
        state["stat"] = torch.tensor(
            [stats["melspec_2048_mean"], stats["melspec_2048_std"]], dtype=torch.float32
        )
        if "preprocessor_melspec_2048.mel_stft.mel_scale.fb" in state:
            state["fb"] = state["preprocessor_melspec_2048.mel_stft.mel_scale.fb"]
            state["window"] = state["preprocessor_melspec_2048.mel_stft.spectrogram.window"]
        own = net.state_dict()
        used = {k: v for k, v in state.items() if k in own}
        missing = [k for k in own if k not in used and "pos_conv_embed" not in k]
        if missing:
            raise ValueError(
                f"{self._folder() / self._files()[0]}: weights lack {', '.join(missing[:5])}"
            )
        net.load_state_dict(
            used, strict=False
        )  # pos_conv_embed: built by transformers, never used by the conformer
        return net.to(self.device).eval()

    def forward(self, chunks):
        return self.model(chunks)

    def embed(self, batch):
        if self.params["pooling"] != "channels":
            return super().embed(batch)
        import torch

        layer = self.params["layer"]
        out = []
        with torch.inference_mode():
            for start in range(0, len(batch), self.params["chunks_per_batch"]):
                x = torch.stack(
                    [chunks[0] for chunks in batch[start : start + self.params["chunks_per_batch"]]]
                ).to(self.device)
                with self._autocast():
                    last, hidden = self.forward(x)
                h = last if layer == "last" else hidden[layer]
                out.append(
                    h.float().mean(dim=2).cpu().numpy()
                )  # the study: mean over channels, per frame
        return np.concatenate(out).astype(np.float32)

    def describe_extra(self) -> dict:
        extra = {"variant": f"MusicFM25Hz {self.params['variant'].upper()}"}
        if self.params["pooling"] == "channels":
            extra["pooling"] = "mean over channels per 25 Hz frame (the study's), one 30-s clip"
        return extra


BACKBONE = MusicFMBackbone
