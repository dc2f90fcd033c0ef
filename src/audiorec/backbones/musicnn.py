"""MusiCNN (Pons & Serra 2019) in PyTorch, with the original pretrained weights.

Architecture, preprocessing and layer names follow the ``musicnn`` 0.1.0
package (github.com/jordipons/musicnn, ISC licence, Music Technology Group,
Universitat Pompeu Fabra). Its wheel on PyPI ships the TensorFlow checkpoints
(``MSD_musicnn``, ``MTT_musicnn``); ``pip install --no-deps musicnn==0.1.0``
puts them on disk (its pins cannot be installed on modern Python, and
TensorFlow is not needed). They are read without TensorFlow
(audiorec.backbones.tf_checkpoint) and converted once into a cached
``.pt`` file.

Preprocessing as the package does it: 16 kHz mono, librosa mel spectrogram
(n_fft 512, hop 256, 96 bands, power 2), values rounded to float16, then
``log10(10000 x + 1)`` computed in float32 (NumPy 1.x promoted that product to
float32; under NumPy 2 the package itself overflows to inf). Patches of 187
frames (3 s) without overlap; the last partial patch is dropped, as in the
package. Clips shorter than one patch crash the package; here they are
repeat-padded (the rule musicnn was trained with) unless ``short_clips: fail``.

On ``penultimate``: the package's extractor returns the *first* patch's
``penultimate`` (and ``cnn1..3``) for every patch, a bug in its batching loop
(musicnn issue 20). The study averaged that output, so its 200-d vectors were
first-patch vectors: ``pooling: first`` reproduces them, ``pooling: mean``
(the default) averages the true per-patch features.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from audiorec.backbones.base import Backbone, UnusableAudio
from audiorec.schema import validate_against

log = logging.getLogger(__name__)

SR = 16000
N_FFT = 512
HOP = 256
N_MELS = 96
PATCH_FRAMES = 187  # librosa.time_to_frames(3, sr=16000, n_fft=512, hop_length=256) + 1
# the samples the first patch's 187 centred frames read: 187 hops plus half a window
FIRST_PATCH_SAMPLES = PATCH_FRAMES * HOP + N_FFT // 2
BN_EPS = 1e-3  # tf.compat.v1.layers.batch_normalization's default
CHUNK_POSITIONS = 2048  # output positions per front-end GEMM: its result stays in L2 cache
CHECKPOINTS = ("MSD_musicnn", "MTT_musicnn", "MSD_musicnn_big")
PATCH_LAYERS = {"taggram": 50, "penultimate": None, "mean_pool": None, "max_pool": None}
FRAME_LAYERS = ("timbral", "temporal", "cnn1", "cnn2", "cnn3")

MSD_LABELS = ["rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s", "alternative rock", "jazz", "beautiful", "metal", "chillout", "male vocalists", "classic rock", "soul", "indie rock", "Mellow", "electronica", "80s", "folk", "90s", "chill", "instrumental", "punk", "oldies", "blues", "hard rock", "ambient", "acoustic", "experimental", "female vocalist", "guitar", "Hip-Hop", "70s", "party", "country", "easy listening", "sexy", "catchy", "funk", "electro", "heavy metal", "Progressive rock", "60s", "rnb", "indie pop", "sad", "House", "happy"]  # fmt: skip
MTT_LABELS = ["guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock", "fast", "piano", "ambient", "beat", "violin", "vocal", "synth", "female", "indian", "opera", "male", "singing", "vocals", "no vocals", "harpsichord", "loud", "quiet", "flute", "woman", "male vocal", "no vocal", "pop", "soft", "sitar", "solo", "man", "classic", "choir", "voice", "new age", "dance", "male voice", "female vocal", "beats", "harp", "cello", "no voice", "weird", "country", "metal", "female voice", "choral"]  # fmt: skip


def labels(checkpoint: str) -> list[str]:
    return MTT_LABELS if checkpoint.startswith("MTT") else MSD_LABELS


@functools.cache
def _mel_basis() -> np.ndarray:
    from librosa import filters

    return filters.mel(sr=SR, n_fft=N_FFT, n_mels=N_MELS)


def log_mel(y: np.ndarray, pad_mode: str = "constant") -> np.ndarray:
    """(frames, 96) float32 input representation, exactly as the package computes it.

    The same operations as ``librosa.feature.melspectrogram`` (|STFT|² then the mel
    filterbank by the same einsum), without importing ``librosa.feature``, which costs an
    extraction job two seconds of imports, and with the filterbank built once.
    """
    from librosa.core.spectrum import stft

    power = (
        np.abs(
            stft(np.asarray(y, dtype=np.float32), n_fft=N_FFT, hop_length=HOP, pad_mode=pad_mode)
        )
        ** 2.0
    )
    mel = np.einsum("...ft,mf->...mt", power, _mel_basis(), optimize=True).T
    mel = mel.astype(np.float16).astype(np.float32)
    return np.log10(10000 * mel + 1)


def patches(
    mel: np.ndarray, overlap_frames: int | None = None, short: str = "repeat_pad"
) -> np.ndarray:
    """(n_patches, 187, 96): non-overlapping 3-s patches, the last partial one dropped."""
    if mel.shape[0] < PATCH_FRAMES:
        if short == "fail" or mel.shape[0] == 0:
            raise UnusableAudio(
                f"{mel.shape[0]} frames, shorter than one {PATCH_FRAMES}-frame patch (3 s)"
            )
        reps = -(-PATCH_FRAMES // mel.shape[0])
        mel = (
            np.tile(mel, (reps, 1))[:PATCH_FRAMES]
            if short == "repeat_pad"
            else np.pad(mel, ((0, PATCH_FRAMES - mel.shape[0]), (0, 0)))
        )
    step = overlap_frames or PATCH_FRAMES
    starts = range(0, mel.shape[0] - PATCH_FRAMES + 1, step)
    return np.stack([mel[s : s + PATCH_FRAMES] for s in starts])


def _network(n_classes: int = 50, midend: int = 64, backend: int = 200):
    import torch
    from torch import nn
    from torch.nn import functional as F

    def bn(n, dims):
        return (nn.BatchNorm1d if dims == 1 else nn.BatchNorm2d)(n, eps=BN_EPS)

    class MusiCNN(nn.Module):
        """Front end (timbral + temporal convolutions), dense mid end, pooled back end."""

        def __init__(self):
            super().__init__()
            self.bn_input = bn(1, 2)
            self.timbral = nn.ModuleList([nn.Conv2d(1, 204, (7, 38)), nn.Conv2d(1, 204, (7, 67))])
            self.bn_timbral = nn.ModuleList([bn(204, 2), bn(204, 2)])
            self.temporal = nn.ModuleList([nn.Conv2d(1, 51, (k, 1)) for k in (128, 64, 32)])
            self.bn_temporal = nn.ModuleList([bn(51, 2) for _ in range(3)])
            self.mid = nn.ModuleList(
                [
                    nn.Conv1d(561, midend, 7),
                    nn.Conv1d(midend, midend, 7),
                    nn.Conv1d(midend, midend, 7),
                ]
            )
            self.bn_mid = nn.ModuleList([bn(midend, 1) for _ in range(3)])
            self.bn_pool = bn(2 * (561 + 3 * midend), 1)
            self.dense = nn.Linear(2 * (561 + 3 * midend), backend)
            self.bn_dense = bn(backend, 1)
            self.out = nn.Linear(backend, n_classes)
            self.gemm_front_end = True  # CPU path; False forces the convolution path (tests)

        @staticmethod
        def _affine(b) -> tuple[torch.Tensor, torch.Tensor]:
            """Inference batch norm as y = a x + c."""
            a = b.weight * torch.rsqrt(b.running_var + b.eps)
            return a, b.bias - b.running_mean * a

        def _pooled(
            self, source: torch.Tensor, kernel: tuple[int, int], weight, bias, bns
        ) -> torch.Tensor:
            """max over frequency of BN(relu(conv(source))): (B, C, T).

            `source` is the padded input (B, T + kt - 1, F), `weight` (C, kt * kf).
            relu and a per-channel affine map are monotone, so the max over
            frequency is taken before them; where the BN scale is negative the
            max of the output sits at the min of the convolution, so those
            filters are negated (exactly) and the sign restored after. The
            bias is constant over frequency and is added after the max too.
            On CPU the convolution runs as GEMMs over strided windows, in blocks
            of a few time steps of every patch of the batch, each block pooled
            while in cache (oneDNN's direct convolution of a one-channel input,
            then a separate max, is about twice as slow); on GPU as one cuDNN
            convolution.
            """
            a, c = (torch.cat(v) for v in zip(*(self._affine(b) for b in bns), strict=True))
            sign = torch.where(a < 0, -1.0, 1.0)
            w = weight * sign[:, None]
            kt, kf = kernel
            if source.is_cuda or not self.gemm_front_end:
                z = F.conv2d(source.unsqueeze(1), w.reshape(-1, 1, kt, kf))
                out = z.amax(dim=3)
            else:
                windows = source.unfold(1, kt, 1).unfold(2, kf, 1)  # (B, T, F', kt, kf): a view
                n, t, f = windows.shape[:3]
                w = w.T.contiguous()
                out = torch.empty((n, t, w.shape[1]), dtype=w.dtype, device=source.device)
                step = max(1, CHUNK_POSITIONS // (n * f))  # time steps of every patch per block
                for t0 in range(0, t, step):
                    y = (
                        windows[:, t0 : t0 + step].reshape(-1, w.shape[0]) @ w
                    )  # copies one block only
                    out[:, t0 : t0 + step] = y.view(n, -1, f, w.shape[1]).amax(dim=2)
                out = out.transpose(1, 2)
            m = (out + (bias * sign)[None, :, None]) * sign[None, :, None]
            return a[None, :, None] * torch.relu(m) + c[None, :, None]

        def forward(self, x: torch.Tensor, frame_layers: bool = False) -> dict[str, torch.Tensor]:
            a0, c0 = self._affine(self.bn_input)
            x = a0 * x + c0  # (B, T, F)
            padded = F.pad(x, (0, 0, 3, 3))
            timbral = [
                self._pooled(padded, conv.kernel_size, conv.weight.flatten(1), conv.bias, [b])
                for conv, b in zip(self.timbral, self.bn_timbral, strict=True)
            ]
            # the three temporal filters share one product: shorter kernels sit zero-padded
            # at the offsets TF's 'same' padding gives them inside the longest one
            k_max = max(conv.kernel_size[0] for conv in self.temporal)
            pad = (k_max - 1) // 2
            rows = []
            for conv in self.temporal:
                k = conv.kernel_size[0]
                offset = pad - (k - 1) // 2
                rows.append(F.pad(conv.weight[:, 0, :, 0], (offset, k_max - k - offset)))
            merged = self._pooled(
                F.pad(x, (0, 0, pad, k_max - 1 - pad)),
                (k_max, 1),
                torch.cat(rows),
                torch.cat([conv.bias for conv in self.temporal]),
                list(self.bn_temporal),
            )
            temporal = list(merged.split([conv.out_channels for conv in self.temporal], dim=1))
            front = torch.cat(timbral + temporal, dim=1)  # (B, 561, T)
            cnn1 = self.bn_mid[0](torch.relu(self.mid[0](F.pad(front, (3, 3)))))
            cnn2 = self.bn_mid[1](torch.relu(self.mid[1](F.pad(cnn1, (3, 3))))) + cnn1
            cnn3 = self.bn_mid[2](torch.relu(self.mid[2](F.pad(cnn2, (3, 3))))) + cnn2
            features = torch.cat([front, cnn1, cnn2, cnn3], dim=1)  # (B, 753, T)
            max_pool = features.amax(dim=2)
            mean_pool = features.mean(dim=2)
            flat = torch.stack([max_pool, mean_pool], dim=2).flatten(1)  # TF's (753, 2) flattening
            penultimate = self.bn_dense(torch.relu(self.dense(self.bn_pool(flat))))
            out = {
                "taggram": torch.sigmoid(self.out(penultimate)),
                "penultimate": penultimate,
                "mean_pool": mean_pool,
                "max_pool": max_pool,
            }
            if frame_layers:
                out |= {
                    "timbral": torch.cat(timbral, 1).transpose(1, 2),
                    "temporal": torch.cat(temporal, 1).transpose(1, 2),
                    "cnn1": cnn1.transpose(1, 2),
                    "cnn2": cnn2.transpose(1, 2),
                    "cnn3": cnn3.transpose(1, 2),
                }
            return out

    return MusiCNN()


def convert_checkpoint(tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """TF variable names and layouts -> the PyTorch module's state dict (numpy)."""

    def bn(i: int, prefix: str) -> dict:
        name = "batch_normalization" + (f"_{i}" if i else "")
        return {
            f"{prefix}.weight": tensors[f"{name}/gamma"],
            f"{prefix}.bias": tensors[f"{name}/beta"],
            f"{prefix}.running_mean": tensors[f"{name}/moving_mean"],
            f"{prefix}.running_var": tensors[f"{name}/moving_variance"],
            f"{prefix}.num_batches_tracked": np.array(0, dtype=np.int64),
        }

    def conv(i: int, prefix: str, one_d: bool = False) -> dict:
        name = "conv2d" + (f"_{i}" if i else "")
        k = tensors[f"{name}/kernel"]  # (kh, kw, in, out)
        w = k[:, :, 0, :].transpose(2, 1, 0) if one_d else k.transpose(3, 2, 0, 1)
        return {
            f"{prefix}.weight": np.ascontiguousarray(w),
            f"{prefix}.bias": tensors[f"{name}/bias"],
        }

    def dense(name: str, prefix: str) -> dict:
        return {
            f"{prefix}.weight": np.ascontiguousarray(tensors[f"{name}/kernel"].T),
            f"{prefix}.bias": tensors[f"{name}/bias"],
        }

    # variables are numbered in the order the TF graph created them
    sd = bn(0, "bn_input")
    for j in range(2):
        sd |= conv(j, f"timbral.{j}") | bn(j + 1, f"bn_timbral.{j}")
    for j in range(3):
        sd |= conv(j + 2, f"temporal.{j}") | bn(j + 3, f"bn_temporal.{j}")
    for j in range(3):
        sd |= conv(j + 5, f"mid.{j}", one_d=True) | bn(j + 6, f"bn_mid.{j}")
    sd |= bn(9, "bn_pool") | dense("dense", "dense") | bn(10, "bn_dense") | dense("dense_1", "out")
    return sd


def find_checkpoint(checkpoint: str, checkpoint_dir: str | None) -> Path:
    """The TF checkpoint folder: `checkpoint_dir` or the installed musicnn package's."""
    if checkpoint_dir:
        folder = Path(checkpoint_dir).expanduser()
        folder = folder / checkpoint if (folder / checkpoint / ".index").exists() else folder
    else:
        spec = importlib.util.find_spec(
            "musicnn"
        )  # locates the package without importing TensorFlow
        if spec is None or not spec.submodule_search_locations:
            raise FileNotFoundError(
                f"MusiCNN weights ({checkpoint}) not found: install them with "
                "`pip install --no-deps musicnn==0.1.0` (ISC licence; TensorFlow is not needed) "
                "or set params.checkpoint_dir to a folder holding the checkpoint"
            )
        folder = Path(next(iter(spec.submodule_search_locations))) / checkpoint
    if not (folder / ".index").exists():
        raise FileNotFoundError(f"{folder}/.index: MusiCNN checkpoint {checkpoint} not found there")
    return folder


def cache_root(cache_dir: str | None) -> Path:
    if cache_dir:
        return Path(cache_dir).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "audiorec" / "musicnn"


def load_state_dict(
    checkpoint: str, checkpoint_dir: str | None = None, cache_dir: str | None = None
) -> dict:
    """Converted weights, read from the cache or converted once and cached (atomic write)."""
    import torch

    from audiorec.backbones.tf_checkpoint import read_checkpoint

    folder = find_checkpoint(checkpoint, checkpoint_dir)
    digest = hashlib.sha256((folder / ".index").read_bytes()).hexdigest()[:12]
    cached = cache_root(cache_dir) / f"{checkpoint}-{digest}.pt"
    if cached.exists():
        return torch.load(cached, weights_only=True)
    state = {
        k: torch.from_numpy(np.array(v))
        for k, v in convert_checkpoint(read_checkpoint(f"{folder}/")).items()
    }
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(f".{os.getpid()}.tmp")
    torch.save(state, tmp)
    os.replace(tmp, cached)
    log.info("converted %s to %s", folder, cached)
    return state


def build(checkpoint: str, checkpoint_dir: str | None = None, cache_dir: str | None = None):
    """The network in eval mode with the pretrained weights."""
    if checkpoint not in CHECKPOINTS:
        raise ValueError(
            f"unknown MusiCNN checkpoint {checkpoint!r} (known: {', '.join(CHECKPOINTS)})"
        )
    big = checkpoint == "MSD_musicnn_big"
    net = _network(midend=512 if big else 64, backend=500 if big else 200)
    net.load_state_dict(load_state_dict(checkpoint, checkpoint_dir, cache_dir))
    return net.eval()


class MusiCNNBackbone(Backbone):
    SAMPLE_RATE = SR
    WEIGHT_PARAMS = ("checkpoint", "checkpoint_dir")
    PARAMS = {
        "sample_rate": {"const": SR, "default": SR},
        "checkpoint": {"enum": list(CHECKPOINTS), "default": "MSD_musicnn"},
        "layer": {"enum": list(PATCH_LAYERS) + list(FRAME_LAYERS), "default": "penultimate"},
        "pooling": {
            "enum": ["mean", "max", "first"],
            "default": "mean",
            "description": "over patches; 'first' is the first patch, what the study's vectors were",
        },
        "overlap_seconds": {
            "type": ["number", "null"],
            "default": None,
            "description": "null: no overlap (the study)",
        },
        "short_clips": {"enum": ["repeat_pad", "zero_pad", "fail"], "default": "repeat_pad"},
        "stft_pad_mode": {
            "enum": ["constant", "reflect"],
            "default": "constant",
            "description": "librosa >= 0.10 pads with zeros, older with reflection",
        },
        "patch_batch": {
            "type": "integer",
            "minimum": 1,
            "default": 64,
            "description": "patches per forward pass",
        },
        "checkpoint_dir": {"type": ["string", "null"], "default": None},
        "cache_dir": {"type": ["string", "null"], "default": None},
    }

    def __init__(self, params: dict, device: str = "cpu", batch_size: int = 16):
        super().__init__(params, device, batch_size)
        self._net = None

    @classmethod
    def fetch_weights(cls, params: dict) -> list[str]:
        """The weights ship in the musicnn wheel (or checkpoint_dir): checked, not downloaded."""
        p = validate_against(dict(params), cls.params_schema())
        folder = find_checkpoint(p["checkpoint"], p["checkpoint_dir"])
        return sorted(str(f) for f in folder.iterdir() if f.is_file())

    def ready(self) -> None:
        """The network and the front end's imports and filterbank, before any track."""
        from librosa.core.spectrum import stft  # noqa: F401 - imported once, here

        self.net  # noqa: B018 - loads it
        _mel_basis()

    @property
    def net(self):
        if self._net is None:
            p = self.params
            self._net = build(p["checkpoint"], p["checkpoint_dir"], p["cache_dir"]).to(self.device)
        return self._net

    @property
    def dim(self) -> int:
        big = self.params["checkpoint"] == "MSD_musicnn_big"
        return {
            "taggram": 50,
            "penultimate": 500 if big else 200,
            "mean_pool": 561 + 3 * (512 if big else 64),
            "max_pool": 561 + 3 * (512 if big else 64),
            "timbral": 408,
            "temporal": 153,
            "cnn1": 512 if big else 64,
            "cnn2": 512 if big else 64,
            "cnn3": 512 if big else 64,
        }[self.params["layer"]]

    def describe(self) -> dict:
        p = self.params
        overlap = p["overlap_seconds"]
        return {
            "checkpoint": f"musicnn 0.1.0 {p['checkpoint']}",
            "layer": p["layer"],
            "pooling": f"{p['pooling']} over 3-s patches"
            + (f" (overlap {overlap}s)" if overlap else " (no overlap)")
            + (", frames averaged within a patch" if p["layer"] in FRAME_LAYERS else ""),
        }

    def samples_needed(self) -> int | None:
        """``pooling: first`` reads the first patch's samples only."""
        return FIRST_PATCH_SAMPLES if self.params["pooling"] == "first" else None

    def prepare(self, waveform: np.ndarray) -> np.ndarray:
        waveform = super().prepare(waveform)
        p = self.params
        overlap = None
        if p["overlap_seconds"]:
            import librosa

            overlap = int(
                librosa.time_to_frames(p["overlap_seconds"], sr=SR, n_fft=N_FFT, hop_length=HOP)
            )
        if p["pooling"] == "first":
            # only the first patch is kept: its 187 frames need the first 187 hops plus half
            # a window (centred frames), so the rest of the clip is never transformed
            waveform = waveform[:FIRST_PATCH_SAMPLES]
        mel = log_mel(waveform, p["stft_pad_mode"])
        found = patches(mel, overlap, p["short_clips"])
        return found[:1] if p["pooling"] == "first" else found

    def forward_patches(self, x: np.ndarray, frame_layers: bool = False) -> dict[str, np.ndarray]:
        """Every named output for (n, 187, 96) patches, `patch_batch` at a time."""
        import torch

        outs: dict[str, list] = {}
        with torch.inference_mode():
            for start in range(0, len(x), self.params["patch_batch"]):
                block = torch.from_numpy(
                    np.ascontiguousarray(x[start : start + self.params["patch_batch"]])
                )
                for k, v in self.net(block.to(self.device), frame_layers).items():
                    outs.setdefault(k, []).append(v.float().cpu().numpy())
        return {k: np.concatenate(v) for k, v in outs.items()}

    def embed(self, batch: Sequence[np.ndarray]) -> np.ndarray:
        layer, pooling = self.params["layer"], self.params["pooling"]
        counts = [len(b) for b in batch]
        out = self.forward_patches(np.concatenate(batch), frame_layers=layer in FRAME_LAYERS)[layer]
        if out.ndim == 3:  # frame-level layer: average its frames within each patch
            out = out.mean(axis=1)
        vectors = []
        for part in np.split(out, np.cumsum(counts)[:-1]):
            vectors.append({"mean": part.mean(0), "max": part.max(0), "first": part[0]}[pooling])
        return np.stack(vectors).astype(np.float32)

    def close(self) -> None:
        self._net = None


BACKBONE = MusiCNNBackbone
