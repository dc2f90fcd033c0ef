"""MusiCNN throughput: the original musicnn package against audiorec's port, side by side.

    sh benchmarks/musicnn_original_env.sh            # once: TF 2.15 + musicnn + torch
    .venv-musicnn-tf/bin/python benchmarks/musicnn_throughput.py --clips 24

Both read the same 30-s, 16-kHz FLAC clips cut from Debian's asc-music and
singularity-music (fetched by tests/fetch_music.sh), so neither pays for
resampling. The original runs as the study ran it: musicnn.extractor.extractor
per file (librosa load and mel, TF graph, one patch per session call). The
port decodes, computes the same mel and runs batches of tracks. Each runs in
its own process (peak RSS is per process); the outputs are then compared:
the per-patch taggram, and the package's `penultimate` (first patch) against
the port's first-patch vector.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
MUSIC = REPO / ".cache" / "music" / "usr" / "share" / "games"


def make_clips(folder: Path, n: int, seconds: float = 30.0) -> list[Path]:
    import soundfile as sf

    sys.path.insert(0, str(REPO / "src"))
    from audiorec.audio.decode import decode

    sources = sorted(MUSIC.glob("asc/music/*.mp3")) + sorted(
        MUSIC.glob("singularity/music/**/*.ogg")
    )
    if not sources:
        sys.exit("no test music: run `sh tests/fetch_music.sh .cache/music` first")
    clips = []
    for i in range(n):
        src = sources[i % len(sources)]
        offset = 30.0 * (i // len(sources))
        y = decode(src, 16000, offset_seconds=offset, max_seconds=seconds)
        if y.size < seconds * 16000:
            y = np.pad(y, (0, int(seconds * 16000) - y.size))
        path = folder / f"clip{i:03d}.flac"
        sf.write(path, y, 16000, subtype="PCM_16")
        clips.append(path)
    return clips


def _original_one(args: tuple[str, str]):
    from musicnn.extractor import extractor

    tg, _, feats = extractor(args[0], model=args[1], extract_features=True)
    return tg, feats["penultimate"].mean(axis=0)  # what the study stored


def run_original(clips: list[Path], model: str, procs: int) -> dict:
    jobs = [(str(c), model) for c in clips]
    if procs > 1:  # as the study ran it: a process pool (theirs had 30 processes)
        import multiprocessing as mp

        # spawned workers (TensorFlow does not survive fork), warmed up before timing
        with mp.get_context("spawn").Pool(procs) as pool:
            pool.map(_original_one, jobs[:procs], chunksize=1)
            start = time.perf_counter()
            results = pool.map(_original_one, jobs, chunksize=1)
            elapsed = time.perf_counter() - start
    else:
        _original_one(jobs[0])  # warm-up, not timed
        start = time.perf_counter()
        results = [_original_one(j) for j in jobs]
        elapsed = time.perf_counter() - start
    return {
        "seconds": elapsed,
        "taggram": [r[0] for r in results],
        "first": [r[1] for r in results],
    }


def run_port(clips: list[Path], model: str, threads: int, batch: int, device: str) -> dict:
    import soundfile as sf
    import torch

    sys.path.insert(0, str(REPO / "src"))
    from audiorec.backbones.musicnn import MusiCNNBackbone

    torch.set_num_threads(threads)
    bb = MusiCNNBackbone({"checkpoint": model}, device=device, batch_size=batch)
    bb.embed([bb.prepare(sf.read(clips[0], dtype="float32")[0])])  # warm-up: weights, kernels
    start = time.perf_counter()
    taggrams, firsts = [], []
    for i in range(0, len(clips), batch):
        prepared = [bb.prepare(sf.read(c, dtype="float32")[0]) for c in clips[i : i + batch]]
        counts = [len(p) for p in prepared]
        out = bb.forward_patches(np.concatenate(prepared))
        for part_t, part_p in zip(
            np.split(out["taggram"], np.cumsum(counts)[:-1]),
            np.split(out["penultimate"], np.cumsum(counts)[:-1]),
            strict=True,
        ):
            taggrams.append(part_t)
            firsts.append(part_p[0])
    if device == "cuda":
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    return {"seconds": elapsed, "taggram": taggrams, "first": firsts}


def child(args) -> None:
    clips = sorted(Path(args.folder).glob("clip*.flac"))[: args.clips]
    if args.impl == "original":
        out = run_original(clips, args.model, args.procs)
    else:
        out = run_port(clips, args.model, args.threads, args.batch, args.device)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB -> MB on Linux
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    rss = max(rss, children)  # a pool's worker peak (per process, not summed)
    np.savez(
        Path(args.folder) / f"{args.impl}.npz",
        taggram=np.concatenate(out["taggram"]),
        first=np.stack(out["first"]),
    )
    print(
        json.dumps(
            {"impl": args.impl, "seconds": out["seconds"], "clips": len(clips), "peak_rss_mb": rss}
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--clips", type=int, default=24)
    ap.add_argument("--model", default="MSD_musicnn")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--batch", type=int, default=8, help="tracks per forward pass (port)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument(
        "--original-procs", dest="procs", type=int, default=1, help="process pool for the original"
    )
    ap.add_argument("--impl", choices=["original", "port"], help=argparse.SUPPRESS)
    ap.add_argument("--folder", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.impl:
        return child(args)

    with tempfile.TemporaryDirectory() as tmp:
        make_clips(Path(tmp), args.clips)
        results = {}
        for impl in ("original", "port"):
            cmd = [
                sys.executable,
                __file__,
                "--impl",
                impl,
                "--folder",
                tmp,
                "--clips",
                str(args.clips),
                "--model",
                args.model,
                "--threads",
                str(args.threads),
                "--batch",
                str(args.batch),
                "--device",
                args.device,
                "--original-procs",
                str(args.procs),
            ]
            env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "OMP_NUM_THREADS": str(args.threads)}
            done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
            if done.returncode:
                sys.exit(f"{impl} failed:\n{done.stderr[-3000:]}")
            results[impl] = json.loads(done.stdout.strip().splitlines()[-1])
        a, b = np.load(Path(tmp) / "original.npz"), np.load(Path(tmp) / "port.npz")
        tag_diff = float(np.abs(a["taggram"] - b["taggram"]).max())
        first_diff = float(np.abs(a["first"] - b["first"]).max())

    o, p = results["original"], results["port"]
    print(
        f"MusiCNN {args.model}, {args.clips} clips of 30 s, {args.threads} threads, device {args.device}, "
        f"original in {args.procs} process(es)"
    )
    print(f"{'':10} {'clips/s':>8} {'s/clip':>7} {'peak RSS MB':>12}")
    for name, r in (("original", o), ("port", p)):
        print(
            f"{name:10} {r['clips'] / r['seconds']:8.2f} {r['seconds'] / r['clips']:7.3f} {r['peak_rss_mb']:12.0f}"
        )
    print(f"speed-up: {o['seconds'] / p['seconds']:.1f}x")
    print(
        f"max |taggram diff| {tag_diff:.2e}; max |penultimate (first patch) diff| {first_diff:.2e}"
    )


if __name__ == "__main__":
    main()
