"""Extraction throughput: audio-seconds embedded per wall-second, pipeline against the study's loop.

    .venv/bin/python benchmarks/extraction_throughput.py --clips 8 --backbones mert music2vec musicfm

For each backbone a full-size model of the published architecture (MERT-v1-95M,
music2vec-v1, MusicFM 25 Hz) is built with random weights and saved in the
published on-disk format: speed does not depend on the weights' values, and no
download is needed. 30-s clips of real music (Debian's asc-music and
singularity-music, tests/fetch_music.sh) are put into a resampled-audio cache
shard as the workflow does, then embedded two ways:

- pipeline: audiorec's extraction of the shard (decoding and chunking in
  DataLoader workers, batches of equal-length chunks, bf16 and pinned memory
  on GPU, inference mode);
- study loop: the authors' pattern, one file at a time: read and resample the
  clip, one forward pass, average, next file.

On GPU the script also samples GPU utilisation (NVML) while each path runs,
and with `--precisions bf16 fp32` runs the pipeline once per precision and
compares the vectors (largest difference relative to the vector's norm, and
the lowest cosine similarity over the clips).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
MUSIC = REPO / ".cache" / "music" / "usr" / "share" / "games"
MERT_95M = {
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "conv_dim": [512] * 7,
    "conv_stride": [5, 2, 2, 2, 2, 2, 2],
    "conv_kernel": [10, 3, 3, 3, 3, 2, 2],
    "feat_extract_norm": "group",
    "do_stable_layer_norm": False,
    "feat_proj_layer_norm": True,
}


def one_30s_chunk(checkpoint: Path) -> dict:
    """The study's input: the first 30 s in one pass."""
    return {"checkpoint": str(checkpoint), "chunk_seconds": 30.0, "clip_seconds": 30.0}


def build_models(folder: Path, names: list[str]) -> dict[str, dict]:
    import torch

    specs = {}
    torch.manual_seed(0)
    if "mert" in names:
        from transformers import HubertConfig, HubertModel

        model = HubertModel(HubertConfig(**MERT_95M))
        cfg = {
            **model.config.to_dict(),
            "model_type": "mert_model",
            "feature_extractor_cqt": False,
            "deepnorm": False,
            "attention_relax": -1.0,
        }
        (folder / "mert").mkdir()
        (folder / "mert" / "config.json").write_text(json.dumps(cfg))
        torch.save(model.state_dict(), folder / "mert" / "pytorch_model.bin")
        specs["mert"] = {**one_30s_chunk(folder / "mert"), "normalize": False}
    if "music2vec" in names:
        from transformers import Data2VecAudioConfig, Data2VecAudioModel

        model = Data2VecAudioModel(Data2VecAudioConfig())
        (folder / "music2vec").mkdir()
        model.config.save_pretrained(folder / "music2vec")
        torch.save(model.state_dict(), folder / "music2vec" / "pytorch_model.bin")
        specs["music2vec"] = {**one_30s_chunk(folder / "music2vec"), "normalize": False}
    if "musicfm" in names:
        from audiorec.backbones import musicfm

        net = musicfm._network(conv_dim=512, encoder_dim=1024, depth=12, ffn=4096)
        state = {
            f"model.{k}": v
            for k, v in net.state_dict().items()
            if k not in {"window", "fb", "stat"}
        }
        # the published checkpoint keeps the front end's STFT window and mel bank here
        pre = "model.preprocessor_melspec_2048.mel_stft."
        state[pre + "spectrogram.window"] = net.window
        state[pre + "mel_scale.fb"] = net.fb
        (folder / "musicfm").mkdir()
        torch.save({"state_dict": state}, folder / "musicfm" / "pretrained_msd.pt")
        (folder / "musicfm" / "msd_stats.json").write_text(
            json.dumps({"melspec_2048_mean": 6.77, "melspec_2048_std": 18.43})
        )
        specs["musicfm"] = one_30s_chunk(folder / "musicfm")
    return specs


def make_clips(folder: Path, n: int) -> list[Path]:
    import soundfile as sf

    from audiorec.audio.decode import decode

    sources = sorted(MUSIC.glob("asc/music/*.mp3")) + sorted(MUSIC.glob("singularity/music/*.ogg"))
    if not sources:
        sys.exit("no test music: run `sh tests/fetch_music.sh .cache/music` first")
    paths = []
    for i in range(n):
        source = sources[i % len(sources)]
        room = max(1.0, sf.info(source).duration - 30.0)  # later clips wrap round the track
        y = decode(
            source, 44100, offset_seconds=(30.0 * (i // len(sources))) % room, max_seconds=30.0
        )
        path = folder / f"clip{i:03d}.wav"
        sf.write(path, np.pad(y, (0, max(0, 44100 * 30 - y.size))), 44100)
        paths.append(path)
    return paths


class Utilisation:
    """Mean GPU utilisation (NVML) or process CPU utilisation over a with-block."""

    def __init__(self, device: str):
        self.device, self.samples, self._stop = device, [], threading.Event()

    def __enter__(self):
        self.t0, self.cpu0 = time.perf_counter(), time.process_time()
        if self.device.startswith("cuda"):
            import torch

            self._thread = threading.Thread(target=self._poll, args=(torch,), daemon=True)
            self._thread.start()
        return self

    def _poll(self, torch):
        while not self._stop.is_set():
            try:
                self.samples.append(torch.cuda.utilization())
            except Exception:
                return
            time.sleep(0.05)

    def __exit__(self, *exc):
        self._stop.set()
        self.seconds = time.perf_counter() - self.t0
        self.cpu = (time.process_time() - self.cpu0) / self.seconds / os.cpu_count()

    @property
    def gpu(self) -> float | None:
        return float(np.mean(self.samples)) if self.samples else None


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--clips", type=int, default=8)
    ap.add_argument("--backbones", nargs="+", default=["mert", "music2vec", "musicfm"])
    ap.add_argument(
        "--device", default="cuda" if os.environ.get("CUDA_VISIBLE_DEVICES", "x") != "" else "cpu"
    )
    ap.add_argument("--workers", type=int, default=min(8, (os.cpu_count() or 2) - 1))
    ap.add_argument("--batch", type=int, default=8, help="chunks per forward pass (pipeline)")
    ap.add_argument(
        "--precisions",
        nargs="+",
        default=["auto"],
        choices=["auto", "fp32", "bf16", "fp16"],
        help="the pipeline's precision(s); the vectors of each are compared with the first's",
    )
    args = ap.parse_args()

    import torch

    from audiorec import backbones
    from audiorec.audio.cache import write_shard
    from audiorec.audio.decode import decode
    from audiorec.embeddings.driver import extract_shard

    device = args.device if (args.device == "cpu" or torch.cuda.is_available()) else "cpu"
    if device == "cpu":
        torch.set_num_threads(os.cpu_count())
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        specs = build_models(tmp, args.backbones)
        files = make_clips(tmp, args.clips)
        for name, params in specs.items():
            cls = backbones.get(name)
            rate = cls.sample_rate_for(params)
            shard = tmp / f"{name}_{rate}.parquet"
            write_shard(shard, rate, [(p.stem, decode(p, rate)) for p in files])
            runs = {}
            for precision in args.precisions:
                pipeline = cls(
                    {**params, "chunks_per_batch": args.batch, "precision": precision},
                    device=device,
                    batch_size=args.batch,
                )
                _ = pipeline.model  # load once per job, as the workflow does, outside the timing
                extract_shard(pipeline, str(shard), workers=0)  # warm-up (kernels, allocator)
                with Utilisation(device) as u:
                    out = extract_shard(pipeline, str(shard), workers=args.workers)
                runs[precision] = (u, out)
                del pipeline
            naive = cls({**params, "chunks_per_batch": 1}, device=device, batch_size=1)
            _ = naive.model
            with Utilisation(device) as slow, torch.inference_mode():
                for p in files:  # the study's loop: read, resample, one pass, average
                    y = decode(p, rate)
                    x = torch.from_numpy(y[: int(30 * rate)])[None].to(device)
                    last, _ = naive.forward(x)
                    _ = last.mean(dim=1).float().cpu().numpy()
            audio_seconds = 30.0 * len(out.ids)
            first = runs[args.precisions[0]][1].vectors.astype(np.float64)
            timed = [(f"pipeline {p}", u, o) for p, (u, o) in runs.items()]
            for label, u, o in [*timed, ("study loop fp32", slow, None)]:
                row = {
                    "backbone": name,
                    "path": label,
                    "clips": len(files),
                    "audio s per s": round(audio_seconds / u.seconds, 2),
                    "seconds": round(u.seconds, 2),
                    "GPU util %": None if u.gpu is None else round(u.gpu, 1),
                    "CPU util": round(u.cpu, 2),
                    "max rel. diff": None,
                    "min cosine": None,
                }
                if o is not None and len(runs) > 1:
                    v = o.vectors.astype(np.float64)
                    norms = np.linalg.norm(first, axis=1)
                    row["max rel. diff"] = f"{(np.abs(v - first).max(axis=1) / norms).max():.1e}"
                    cos = (v * first).sum(1) / (np.linalg.norm(v, axis=1) * norms)
                    row["min cosine"] = f"{cos.min():.6f}"
                rows.append(row)
            for row in rows[-len(timed) - 1 :]:
                print(json.dumps(row), flush=True)
    print(
        f"\ndevice {device}, {args.workers} workers, {args.batch} chunks per batch, {os.cpu_count()} CPU cores"
    )
    cols = list(rows[0])
    print("| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join("–" if r[c] is None else str(r[c]) for c in cols) + " |")


if __name__ == "__main__":
    main()
