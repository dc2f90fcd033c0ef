"""Jukebox (Dhariwal et al. 2020) as jukemirlib (Castellon et al. 2021) reads it, 44.1 kHz.

The study's recipe: the first 24 s of each track, peak-normalised as
jukemirlib's ``load_audio`` does, the 5B model's top-level prior, layer 36 of
72, fp16 on GPU, averaged over time (4,800 values). The models are built by
``jukebox-infer`` (PyPI: OpenAI's inference code under its original module
names) from the published ``vqvae.pth.tar`` and ``prior_level_2.pth.tar`` in
``checkpoint_dir``, loaded strictly, on the meta device first so that a
model is never held twice; only the prior layers up to ``layer`` are kept.
The walk over the prior is jukemirlib's: VQ-VAE codes of the top level, the
conditioning of a 62-s "unknown" track, the token embedding shifted right by
one behind the label embedding, plus positions and the time-signal
conditioning, then the transformer's layers one by one, each with its
attention cache cleared. Checked against jukemirlib's own walk on a tiny
random Jukebox (``tests/fixtures/upstream/jukebox``).

``vqvae_hparams`` and ``prior_hparams`` override the 5B model's settings
(another checkpoint of Jukebox's architecture, or a small one for tests).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from audiorec.backbones.base import Backbone, UnusableAudio
from audiorec.backbones.hub import WeightsNotFound
from audiorec.schema import validate_against

INSTALL = "pip install jukebox-infer==0.1.2 (in requirements/ci.txt and envs/jukebox.yaml)"
FILES = ("vqvae.pth.tar", "prior_level_2.pth.tar")
REMOTE = "https://openaipublic.azureedge.net/jukebox/models/5b/"
CONTEXT = 8192  # tokens the prior sees (jukemirlib's T)
VQVAE_SECONDS = 25  # jukemirlib encodes at most 25 s
COND_SECONDS = 62  # the prior takes 60-600 s totals; jukemirlib conditions on 62 s


def _strict_state(path: Path) -> dict:
    import torch

    checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    state = checkpoint.get("model", checkpoint)
    return {k.removeprefix("module."): v for k, v in state.items()}


def _load(model, state: dict, path: Path) -> None:
    """Assign the file's tensors to a model built on the meta device; every name must match."""
    own = model.state_dict()
    missing, unexpected = sorted(set(own) - set(state)), sorted(set(state) - set(own))
    if missing or unexpected:
        raise ValueError(
            f"{path}: weights and model disagree: missing {missing[:5]}, unexpected {unexpected[:5]}"
        )
    shapes = [k for k in own if tuple(own[k].shape) != tuple(state[k].shape)]
    if shapes:
        raise ValueError(f"{path}: other shapes for {shapes[:5]}")
    model.load_state_dict(state, strict=True, assign=True)


class Jukebox(Backbone):
    SAMPLE_RATE = 44100
    WEIGHT_PARAMS = ("checkpoint_dir", "download")
    PARAMS = {
        "sample_rate": {"const": 44100, "default": 44100},
        "checkpoint_dir": {"type": "string", "default": "~/.cache/jukemirlib"},
        "download": {
            "type": "boolean",
            "default": True,
            "description": "let fetch_weights download missing weights (about 11 GB)",
        },
        "layer": {
            "type": "integer",
            "minimum": 1,
            "default": 36,
            "description": "of the prior's layers (72 in the 5B model)",
        },
        "clip_seconds": {"type": "number", "exclusiveMinimum": 0, "default": 24.0},
        "offset_seconds": {"type": "number", "minimum": 0, "default": 0.0},
        "min_seconds": {"type": "number", "exclusiveMinimum": 0, "default": 1.0},
        "peak_normalise": {
            "type": "boolean",
            "default": True,
            "description": "scale each clip to max |x| = 1, as jukemirlib's load_audio does",
        },
        "fp16": {"type": "boolean", "default": True, "description": "activations in fp16"},
        "vqvae_hparams": {"type": "object", "default": {}},
        "prior_hparams": {"type": "object", "default": {}},
    }

    def __init__(self, params: dict, device: str = "cpu", batch_size: int = 8):
        super().__init__(params, device, batch_size)
        self._models = None

    @property
    def dim(self) -> int:
        return int(self.params["prior_hparams"].get("prior_width", 4800))

    def describe(self) -> dict:
        p = self.params
        return {
            "checkpoint": "jukebox 5b, top-level prior (jukemirlib's walk on jukebox-infer)",
            "layer": str(p["layer"]),
            "pooling": f"mean over time of the first {p['clip_seconds']} s from {p['offset_seconds']} s"
            + (", peak-normalised" if p["peak_normalise"] else "")
            + (", fp16" if p["fp16"] else ""),
        }

    def prepare(self, waveform: np.ndarray) -> np.ndarray:
        waveform = super().prepare(waveform)
        p, sr = self.params, self.SAMPLE_RATE
        clip = waveform[round(p["offset_seconds"] * sr) :][: round(p["clip_seconds"] * sr)]
        if clip.size < p["min_seconds"] * sr:
            raise UnusableAudio(
                f"{clip.size / sr:.2f} s of audio, shorter than min_seconds {p['min_seconds']}"
            )
        clip = np.array(clip, dtype=np.float32)
        peak = np.abs(clip).max()
        if p["peak_normalise"] and peak > 0:
            clip /= peak
        return clip

    @classmethod
    def fetch_weights(cls, params: dict) -> list[str]:
        """The two weight files into checkpoint_dir, resumable (about 11 GB)."""
        from audiorec.download import fetch

        p = validate_against(dict(params), cls.params_schema())
        folder = Path(os.path.expanduser(p["checkpoint_dir"]))
        if not p["download"]:
            return [str(f) for f in cls._files(folder, "download is false")]
        return [str(fetch(REMOTE + name, folder / name)) for name in FILES]

    @staticmethod
    def _files(folder: Path, why: str) -> list[Path]:
        missing = [f for f in FILES if not (folder / f).exists()]
        if missing:
            raise WeightsNotFound(
                f"{folder}: missing {', '.join(missing)} and {why}; fetch them from {REMOTE}<name> into that folder"
            )
        return [folder / f for f in FILES]

    def ready(self) -> None:
        self.models  # noqa: B018 - loads them

    @property
    def models(self):
        """(vqvae, prior, x_cond, y_cond), built and loaded once."""
        if self._models is None:
            self._models = self._build()
        return self._models

    def _build(self):
        import torch

        try:
            from jukebox_infer import make_models
            from jukebox_infer.hparams import setup_hparams
            from jukebox_infer.transformer.ops import _convert_conv_weights_to_fp16
        except ImportError as err:
            raise ImportError(f"Jukebox needs jukebox-infer: {INSTALL}") from err
        p = self.params
        folder = Path(os.path.expanduser(p["checkpoint_dir"]))
        vqvae_file, prior_file = self._files(folder, "extraction reads weights only")
        vq_hps = setup_hparams(
            "vqvae", {"sample_length": 1048576, **p["vqvae_hparams"], "restore_vqvae": ""}
        )
        prior_hps = setup_hparams("prior_5b", {**p["prior_hparams"], "restore_prior": ""})
        if p["layer"] > prior_hps.prior_depth:
            raise ValueError(
                f"layer {p['layer']} does not exist: the prior has {prior_hps.prior_depth} layers"
            )
        with torch.device("meta"):
            vqvae = make_models.make_vqvae(vq_hps, "meta", auto_download=False)
            prior = make_models.make_prior(prior_hps, vqvae, "meta", auto_download=False)
        _load(vqvae, _strict_state(vqvae_file), vqvae_file)
        state = _strict_state(prior_file)
        _load(prior, state, prior_file)
        del state
        prior.prior.only_encode = True
        if prior_hps.fp16_params:  # as make_prior stores them
            prior.apply(_convert_conv_weights_to_fp16)
        layers = prior.prior.transformer._attn_mods
        del layers[p["layer"] :]  # later layers are never run
        vqvae, prior = vqvae.to(self.device).eval(), prior.to(self.device).eval()
        x_cond, y_cond = self._conditioning(prior)
        return vqvae, prior, x_cond, y_cond

    def _conditioning(self, prior):
        """jukemirlib's get_cond: the label and time conditioning of a 62-s unknown track.

        jukebox's conditioners assert CUDA LongTensors; on another device the
        check is widened to that device's tensors for this call.
        """
        import torch

        total = (COND_SECONDS * self.SAMPLE_RATE // prior.raw_to_tokens) * prior.raw_to_tokens
        meta = {
            "artist": "unknown",
            "genre": "unknown",
            "total_length": total,
            "offset": 0,
            "lyrics": "placeholder lyrics",
        }
        cuda_long = torch.cuda.LongTensor
        if not str(self.device).startswith("cuda"):
            torch.cuda.LongTensor = torch.LongTensor
        try:
            with torch.no_grad():
                labels = prior.labeller.get_batch_labels([meta], self.device)
                x_cond, y_cond, _ = prior.get_cond(None, prior.get_y(labels, 0))
        finally:
            torch.cuda.LongTensor = cuda_long
        return x_cond[:1, :CONTEXT], y_cond[:1]

    def _activations(self, z, x_cond, y_cond):
        """jukemirlib's get_activations_custom, stopping at `layer`: (N, T, width)."""
        import torch

        prior = self.models[1].prior
        x = z[:, :CONTEXT]
        n, length = x.shape
        x = prior.preprocess(x)
        if not ((0 <= x).all() and (x < prior.bins).all()):
            raise ValueError("VQ-VAE codes out of the prior's range")
        h = prior.x_emb(x)
        h = torch.cat((h[:, -1:], h[:, :-1]), dim=1)  # shift right by one
        h[:, 0] = y_cond.view(n, prior.width)
        h = prior.x_emb_dropout(h) + prior.pos_emb_dropout(prior.pos_emb())[:length]
        h = h + x_cond[:, :length]
        if self.params["fp16"]:
            h = h.half()
        for block in prior.transformer._attn_mods:
            block.attn.del_cache()
            h = block(h, encoder_kv=None, sample=True)
            block.attn.del_cache()
        return h

    def embed(self, batch):
        import torch

        vqvae, _, x_cond, y_cond = self.models
        by_length: dict[int, list[int]] = {}
        for i, y in enumerate(batch):
            by_length.setdefault(y.size, []).append(i)
        out = np.zeros((len(batch), self.dim), np.float32)
        with torch.no_grad():
            for rows in by_length.values():  # equal lengths batch together
                audio = np.stack([batch[i][: self.SAMPLE_RATE * VQVAE_SECONDS] for i in rows])
                audio = torch.from_numpy(audio[..., np.newaxis]).to(self.device)
                z = vqvae.encode(audio)[-1]
                n = len(rows)
                acts = self._activations(z, x_cond.expand(n, -1, -1), y_cond.expand(n, -1, -1))
                out[rows] = acts.float().mean(dim=1).cpu().numpy()
        return out

    def close(self) -> None:
        self._models = None


BACKBONE = Jukebox
