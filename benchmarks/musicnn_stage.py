"""MusiCNN inside the workflow's extract stage against the port's own loop, side by side.

    .venv/bin/python benchmarks/musicnn_stage.py --clips 48 --threads 2

48 clips of 30 s of real music (Debian's asc-music and singularity-music,
fetched by tests/fetch_music.sh, repeated to make up the number), written to
a 16-kHz audio-cache shard as the resample stage writes it. Each run is its
own process with the thread count a job gets (``OMP_NUM_THREADS``):

- stage: ``audiorec.stages.extract.run`` on the shard, as a Snakemake job
  runs it (the shard read and decoded, ``prepare`` per track, batches of
  ``batch_size`` tracks, failures and Parquet written), MSD_musicnn,
  ``pooling: mean`` and ``pooling: first``;
- port: the loop of ``benchmarks/musicnn_throughput.py`` on the same
  samples (``prepare`` then ``forward_patches`` over batches of tracks), no
  files written.

Prints clips/s of each, the stage / port ratio, and ``first`` against
``mean``, and checks that ``first`` gives the first patch's vector.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
MUSIC = REPO / ".cache" / "music" / "usr" / "share" / "games"


def make_shard(folder: Path, n: int) -> Path:
    from audiorec.audio.cache import write_shard
    from audiorec.audio.decode import decode

    sources = sorted(MUSIC.glob("asc/music/*.mp3")) + sorted(MUSIC.glob("singularity/music/*.ogg"))
    if not sources:
        raise SystemExit("no test music: run `sh tests/fetch_music.sh .cache/music` first")
    clips = []
    for i in range(n):
        y = decode(sources[i % len(sources)], 16000)
        start = (i // len(sources)) * 30 * 16000 % max(1, len(y) - 30 * 16000)
        clips.append((f"t{i:03d}", np.ascontiguousarray(y[start : start + 30 * 16000])))
    path = folder / "shard0.parquet"
    write_shard(path, 16000, clips)
    (folder / "shard0.failures.tsv").write_text("track_id\tstage\treason\n")
    return path


def child(kind: str, shard: str, pooling: str, out: str, batch: str, device: str) -> None:
    import pandas as pd

    from audiorec.audio.cache import iter_shard
    from audiorec.backbones.musicnn import MusiCNNBackbone

    params = {"checkpoint": "MSD_musicnn", "pooling": pooling}
    if kind == "stage":
        import logging

        from audiorec.stages import extract

        rates = []

        class Rate(logging.Handler):  # the driver's closing line: tracks per second embedded
            def emit(self, record):
                if record.msg == "%s: %s %s in %s (%s %s/s)" and "embed" in record.args[0]:
                    rates.append(float(str(record.args[4]).replace(",", "")))

        logging.getLogger("audiorec").addHandler(Rate())
        logging.getLogger("audiorec").setLevel(logging.INFO)

        spec = {"type": "musicnn", "params": params, "batch_size": int(batch), "device": device}
        started = time.perf_counter()
        extract.run(
            [shard],
            [shard.replace(".parquet", ".failures.tsv")],
            "musicnn",
            spec,
            out,
            out + ".failures.tsv",
        )
        seconds = time.perf_counter() - started
        vectors = np.stack(pd.read_parquet(out)["embedding"].to_numpy())
        np.save(out + ".npy", vectors)
        print(json.dumps({"seconds": seconds, "n": len(vectors), "steady": rates[-1]}))
        return
    else:  # every patch computed, as before `first` computed only its own
        bb = MusiCNNBackbone({**params, "pooling": "mean"}, device=device, batch_size=int(batch))
        bb.embed([bb.prepare(next(iter_shard(shard))[1])])  # warm-up: weights, kernels
        started = time.perf_counter()  # decoding included, as the port's benchmark reads files
        vectors, pending = [], []
        for _, y in iter_shard(shard):
            pending.append(bb.prepare(y))
            if len(pending) == int(batch):
                vectors += _port_batch(bb, pending, pooling)
                pending = []
        vectors += _port_batch(bb, pending, pooling) if pending else []
        seconds = time.perf_counter() - started
        vectors = np.stack(vectors)
    np.save(out + ".npy", vectors)
    print(json.dumps({"seconds": seconds, "n": len(vectors)}))


def _port_batch(bb, prepared, pooling) -> list:
    out = bb.forward_patches(np.concatenate(prepared))["penultimate"]
    parts = np.split(out, np.cumsum([len(p) for p in prepared])[:-1])
    return [part[0] if pooling == "first" else part.mean(0) for part in parts]


def run(
    kind: str, shard: Path, pooling: str, threads: int, folder: Path, batch: int, device: str
) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    out = str(folder / f"{kind}-{pooling}.parquet")
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(shard), pooling, out, str(batch), device],
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise SystemExit(done.stderr[-3000:])
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["vectors"] = np.load(out + ".npy")
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", type=int, default=48)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64, help="tracks per batch (batch_size)")
    ap.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    ap.add_argument("--child", nargs=6)
    args = ap.parse_args()
    sys.path.insert(0, str(REPO / "src"))
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        shard = make_shard(folder, args.clips)
        port = run("port", shard, "mean", args.threads, folder, args.batch, args.device)
        stage = run("stage", shard, "mean", args.threads, folder, args.batch, args.device)
        first = run("stage", shard, "first", args.threads, folder, args.batch, args.device)
        port_first = run("port", shard, "first", args.threads, folder, args.batch, args.device)
    rate = {
        k: r["n"] / r["seconds"]
        for k, r in {"port": port, "stage": stage, "first": first, "port_first": port_first}.items()
    }
    print(
        f"{args.clips} clips of 30 s, MSD_musicnn, {args.threads} threads, {args.batch} a batch,"
        f" device {args.device}"
    )
    start = args.clips / rate["stage"] - args.clips / stage["steady"]
    print(f"port loop (mean):      {rate['port']:6.2f} clips/s")
    print(
        f"extract stage (mean):  {stage['steady']:6.2f} clips/s once the model is loaded,"
        f" stage / port {stage['steady'] / rate['port']:.2f}; {rate['stage']:.2f} clips/s with"
        f" the job's start ({start:.1f} s: imports, weights, writing)"
    )
    print(
        f"extract stage (first): {first['steady']:6.2f} clips/s once loaded,"
        f" first / mean {first['steady'] / stage['steady']:.1f}x"
        f" ({rate['first'] / rate['stage']:.1f}x with the job's start)"
    )
    same = np.abs(stage["vectors"] - port["vectors"]).max()
    first_same = np.abs(first["vectors"] - port_first["vectors"]).max()
    print(f"max |stage - port| (mean): {same:.1e}; (first): {first_same:.1e}")


if __name__ == "__main__":
    main()
