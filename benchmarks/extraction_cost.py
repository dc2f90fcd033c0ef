"""Seconds per 30-s clip of the full-size backbones on this machine: the cost model's units.

    .venv/bin/python benchmarks/extraction_cost.py --models mert330m encodecmae jukebox
    .envs/muq/bin/python benchmarks/extraction_cost.py --models muq

Each backbone is built at its published size with random weights (speed does
not depend on the weights' values) and saved in its published format where
audiorec loads it from files, then one 30-s clip of real music (the study's
input: the first 30 s, 24 s for Jukebox) goes through audiorec's backbone
after a warm-up, fp32, on the CPU threads given. Jukebox's prior is built
with `--jukebox-layers` of its 4,800-wide layers (2 by default: the 5B
model's 36 would take 10 GB and minutes a clip) and the time scaled to the
36 layers the study reads, the VQ-VAE's time counted once.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO))


def clip(rate: int, seconds: float = 30.0) -> np.ndarray:
    from audiorec.audio.decode import decode

    music = REPO / ".cache" / "music" / "usr" / "share" / "games"
    source = sorted(music.glob("asc/music/*.mp3"))[0]
    y = decode(source, rate)
    return np.ascontiguousarray(y[: int(seconds * rate)])


def timed(kind: str, params: dict, y: np.ndarray, repeats: int = 2) -> float:
    from audiorec import backbones

    bb = backbones.get(kind)(params)
    bb.ready()
    x = bb.prepare(y)
    bb.embed([x])  # warm-up
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        bb.embed([bb.prepare(y)])
        best = min(best, time.perf_counter() - started)
    return best


def mert330m(tmp: Path) -> float:
    import torch
    from transformers import HubertConfig, HubertModel

    config = HubertConfig(
        hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
        conv_dim=[512] * 7, conv_stride=[5, 2, 2, 2, 2, 2, 2], conv_kernel=[10, 3, 3, 3, 3, 2, 2],
        feat_extract_norm="group", do_stable_layer_norm=False, feat_proj_layer_norm=True,
    )  # fmt: skip
    folder = tmp / "mert330m"
    folder.mkdir()
    model = HubertModel(config)
    (folder / "config.json").write_text(json.dumps({**config.to_dict(), "deepnorm": True}))
    torch.save(model.state_dict(), folder / "pytorch_model.bin")
    params = {"checkpoint": str(folder), "clip_seconds": 30.0, "chunk_seconds": 30.0,
              "pad_clip": True, "normalize": False, "precision": "fp32"}  # fmt: skip
    return timed("mert", params, clip(24000))


def encodecmae(tmp: Path) -> float:
    import torch

    from audiorec.backbones import encodecmae_net

    gin = (REPO / "tests" / "fixtures" / "upstream" / "encodecmae" / "config.gin").read_text()
    gin = gin.replace("MODEL_DIM=32", "MODEL_DIM=768").replace(
        "NUM_ENCODER_LAYERS=2", "NUM_ENCODER_LAYERS=10"
    )
    gin = gin.replace("NUM_ENCODER_HEADS=4", "NUM_ENCODER_HEADS=12").replace(
        "ff_dim=64", "ff_dim=4096"
    )
    folder = tmp / "encodecmae-base"
    folder.mkdir()
    (folder / "config.gin").write_text(gin)
    model = encodecmae_net.EncodecMAEEncoder(encodecmae_net.Settings(encodecmae_net.read_gin(gin)))
    torch.save({"state_dict": model.state_dict()}, folder / "model.pt")
    params = {
        "checkpoint": str(folder),
        "chunk_seconds": 4.0,
        "clip_seconds": 30.0,
        "precision": "fp32",
    }
    return timed("encodecmae", params, clip(24000))


def jukebox(tmp: Path, layers: int) -> float:
    import torch
    from jukebox_infer import make_models
    from jukebox_infer.hparams import setup_hparams

    folder = tmp / "jukebox"
    folder.mkdir()
    vq = make_models.make_vqvae(
        setup_hparams("vqvae", {"sample_length": 1048576, "restore_vqvae": ""}), "cpu"
    )
    torch.save({"model": vq.state_dict()}, folder / "vqvae.pth.tar")
    prior = make_models.make_prior(
        setup_hparams("prior_5b", {"prior_depth": layers, "restore_prior": ""}), vq, "cpu"
    )
    torch.save({"model": prior.state_dict()}, folder / "prior_level_2.pth.tar")
    del prior
    params = {"checkpoint_dir": str(folder), "layer": layers, "fp16": False,
              "prior_hparams": {"prior_depth": layers}}  # fmt: skip
    y = clip(44100, 24.0)
    full = timed("jukebox", params, y, repeats=1)
    params_one = {**params, "layer": 1}
    one = timed("jukebox", params_one, y, repeats=1)
    per_layer = (full - one) / (layers - 1)
    return one + per_layer * 35  # layer 36: the VQ-VAE, conditioning and first layer, 35 more


def muq(tmp: Path) -> float:
    import muq as package
    from transformers import Wav2Vec2ConformerConfig

    from tests import tiny_backbones  # noqa: F401 - muq's package is needed

    conformer = Wav2Vec2ConformerConfig(
        hidden_size=1024, num_hidden_layers=12, num_attention_heads=16, intermediate_size=4096,
        hidden_act="swish", position_embeddings_type="rotary", conv_depthwise_kernel_size=31,
    ).to_dict()  # fmt: skip
    conformer = {k: v for k, v in conformer.items() if k not in ("id2label", "label2id")}
    config = {"encoder_dim": 1024, "encoder_depth": 12, "conv_dim": 512, "w2v2_config": conformer,
              "stat": {"melspec_2048_mean": 6.77, "melspec_2048_std": 19.2}}  # fmt: skip
    folder = tmp / "muq"
    package.MuQ(config).save_pretrained(folder)
    params = {
        "checkpoint": str(folder),
        "clip_seconds": 30.0,
        "chunk_seconds": 30.0,
        "precision": "fp32",
    }
    return timed("muq", params, clip(24000))


def main() -> None:
    import torch

    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="+", default=["mert330m", "encodecmae", "jukebox"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--jukebox-layers", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name in args.models:
            if name == "jukebox":
                seconds = jukebox(tmp, args.jukebox_layers)
            elif name == "muq":
                seconds = muq(tmp)
            else:
                seconds = {"mert330m": mert330m, "encodecmae": encodecmae}[name](tmp)
            print(f"{name:<12} {seconds:8.2f} s per clip on {args.threads} CPU threads (fp32)")


if __name__ == "__main__":
    main()
