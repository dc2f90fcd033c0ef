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


def child(kind: str, shard: str, pooling: str, out: str) -> None:
    import pandas as pd

    from audiorec.audio.cache import iter_shard
    from audiorec.backbones.musicnn import MusiCNNBackbone

    params = {"checkpoint": "MSD_musicnn", "pooling": pooling}
    if kind == "stage":
        from audiorec.stages import extract

        spec = {"type": "musicnn", "params": params, "batch_size": 16, "device": "cpu"}
        started = time.perf_counter()
        extract.run([shard], [shard.replace(".parquet", ".failures.tsv")], "musicnn", spec,
                    out, out + ".failures.tsv")
        seconds = time.perf_counter() - started
        vectors = np.stack(pd.read_parquet(out)["embedding"].to_numpy())
    else:  # every patch computed, as before `first` computed only its own
        bb = MusiCNNBackbone({**params, "pooling": "mean"}, batch_size=16)
        tracks = list(iter_shard(shard))
        bb.embed([bb.prepare(tracks[0][1])])  # warm-up, as the stage loads the model first
        started = time.perf_counter()
        vectors = []
        for i in range(0, len(tracks), 16):
            prepared = [bb.prepare(y) for _, y in tracks[i : i + 16]]
            out = bb.forward_patches(np.concatenate(prepared))["penultimate"]
            for part in np.split(out, np.cumsum([len(p) for p in prepared])[:-1]):
                vectors.append(part[0] if pooling == "first" else part.mean(0))
        seconds = time.perf_counter() - started
        vectors = np.stack(vectors)
    np.save(out + ".npy", vectors)
    print(json.dumps({"seconds": seconds, "n": len(vectors)}))


def run(kind: str, shard: Path, pooling: str, threads: int, folder: Path) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    out = str(folder / f"{kind}-{pooling}.parquet")
    done = subprocess.run([sys.executable, __file__, "--child", kind, str(shard), pooling, out],
                          env=env, capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["vectors"] = np.load(out + ".npy")
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", type=int, default=48)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--child", nargs=4)
    args = ap.parse_args()
    sys.path.insert(0, str(REPO / "src"))
    if args.child:
        child(*args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        shard = make_shard(folder, args.clips)
        port = run("port", shard, "mean", args.threads, folder)
        stage = run("stage", shard, "mean", args.threads, folder)
        first = run("stage", shard, "first", args.threads, folder)
        port_first = run("port", shard, "first", args.threads, folder)
    rate = {k: r["n"] / r["seconds"] for k, r in
            {"port": port, "stage": stage, "first": first, "port_first": port_first}.items()}
    print(f"{args.clips} clips of 30 s, MSD_musicnn, {args.threads} threads")
    print(f"port loop (mean):      {rate['port']:6.2f} clips/s")
    print(f"extract stage (mean):  {rate['stage']:6.2f} clips/s   stage / port {rate['stage'] / rate['port']:.2f}")
    print(f"extract stage (first): {rate['first']:6.2f} clips/s   first / mean {rate['first'] / rate['stage']:.1f}x")
    same = np.abs(stage["vectors"] - port["vectors"]).max()
    first_same = np.abs(first["vectors"] - port_first["vectors"]).max()
    print(f"max |stage - port| (mean): {same:.1e}; (first): {first_same:.1e}")


if __name__ == "__main__":
    main()
