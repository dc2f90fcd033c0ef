"""Music4All-Onion's whole log: conversion and split time and peak memory, beside DuckDB and polars.

    .venv/bin/pip install -r requirements/bench.txt      # polars, for the comparison
    .venv/bin/python benchmarks/log_scale.py --events 253000000 --folder /big/tmp [--bz2]

Generates a synthetic log in Onion's format (tab-separated user_id, track_id,
timestamp; 16-character ids; 119,140 users with log-normal activity, each
with a repertoire of tracks (log-normal size, median 300, drawn by Zipf
popularity over 56,512 tracks) that they replay, low ranks most; every event
in the study's window), then, each in a fresh process whose peak RSS is
measured:

- audiorec: the convert_log job (to Parquet; bz2 decompressed on --threads
  threads) then the split job's DuckDB split (memory limit --memory-mb);
- DuckDB alone: the same split in one SQL pass reading the TSV directly;
- polars alone: the same split with polars' streaming engine on the TSV.

DuckDB and polars alone write their train pairs to Parquet, as the split
job does; they skip what the job adds (each pair's place in its user's
sequence, the file-order row order, the catalogue check).

All three must give the same train/validation/test row counts. With --bz2
the log is bz2-compressed (in parallel blocks) first; DuckDB and polars
cannot read bz2, so they read the plain TSV (their best case).
"""

from __future__ import annotations

import argparse
import bz2
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from audiorec.data.synthetic import unit_interval  # the same hash as Yambda's synthetic log

REPO = Path(__file__).resolve().parents[1]
START, TEST, END = "2019-02-20", "2020-02-20", "2020-03-20"
N_USERS, N_TRACKS = 119_140, 56_512
ALNUM = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", np.uint8)


def ids(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return ALNUM[rng.integers(0, len(ALNUM), (n, 16))].view("S16").ravel()


def generate(path: Path, events: int, seed: int = 0, chunk: int = 5_000_000) -> None:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    users, tracks = ids(N_USERS, 1), ids(N_TRACKS, 2)
    activity = rng.lognormal(0, 1.2, N_USERS)
    activity /= activity.sum()
    repertoire = np.maximum(5, rng.lognormal(np.log(300), 0.8, N_USERS)).astype(np.int64)
    popularity = 1.0 / np.arange(1, N_TRACKS + 1) ** 0.9
    cdf = np.cumsum(rng.permutation(popularity / popularity.sum()))
    t0 = np.datetime64(START, "s").astype(np.int64)
    t1 = np.datetime64(END, "s").astype(np.int64)
    user_col, track_col = pa.array(users.astype(str)), pa.array(tracks.astype(str))
    with open(path, "wb") as fh:
        fh.write(b"user_id\ttrack_id\ttimestamp\n")
        for start in range(0, events, chunk):
            n = min(chunk, events - start)
            u = rng.choice(N_USERS, n, p=activity)
            # the rank within the user's repertoire: log-uniform, so low ranks are replayed most
            rank = np.floor(repertoire[u] ** rng.random(n)).astype(np.uint64)
            v = unit_interval(u.astype(np.uint64) * np.uint64(1_000_003) + rank)
            i = np.minimum(np.searchsorted(cdf, v), N_TRACKS - 1)
            t = np.sort(rng.integers(t0, t1, n))
            table = pa.table(
                {
                    "user_id": user_col.take(pa.array(u)),
                    "track_id": track_col.take(pa.array(i)),
                    "timestamp": pa.array(t, pa.timestamp("s")),
                }
            )
            pacsv.write_csv(
                table,
                fh,
                pacsv.WriteOptions(include_header=False, delimiter="\t", quoting_style="none"),
            )
            print(f"generated {start + n:,} events", file=sys.stderr, flush=True)


def _compress(args) -> bytes:
    path, offset, size = args
    with open(path, "rb") as fh:
        fh.seek(offset)
        return bz2.compress(fh.read(size), 9)


def compress(src: Path, dest: Path, workers: int, block: int = 64 << 20) -> None:
    """Concatenated bz2 streams, compressed in parallel (a valid .bz2 file)."""
    size = src.stat().st_size
    jobs = [(str(src), off, min(block, size - off)) for off in range(0, size, block)]
    with ProcessPoolExecutor(workers) as pool, open(dest, "wb") as out:
        for part in pool.map(_compress, jobs):
            out.write(part)


AUDIOREC = """
import json, sys, time
sys.path.insert(0, {src!r})
from audiorec.data.log_parquet import convert
from audiorec.splits.streaming import global_time_split
t = time.perf_counter()
convert({log!r}, {parquet!r}, threads={threads})
t_convert = time.perf_counter() - t
t = time.perf_counter()
out = {{p: {parquet!r} + "." + p for p in ("train", "val", "test")}}
_, counts = global_time_split({parquet!r}, None, {test!r}, {start!r}, {end!r},
                              memory_mb={memory}, threads={threads}, outputs=out)
print(json.dumps({{"convert_s": t_convert, "split_s": time.perf_counter() - t,
                  "rows": [counts["sizes"][p]["pairs"] for p in ("train", "val", "test")]}}))
"""

DUCKDB = """
import json, sys, time, tempfile
import duckdb, numpy as np
from sklearn.model_selection import train_test_split
t = time.perf_counter()
con = duckdb.connect()
con.execute("SET memory_limit='{memory}MB'"); con.execute("SET threads={threads}")
con.execute("SET temp_directory='" + tempfile.mkdtemp() + "'")
con.execute("SET preserve_insertion_order=false")
con.execute('''CREATE TEMP TABLE pairs AS SELECT user_id u, track_id i, min(timestamp) t,
  count(*) FILTER (WHERE timestamp < TIMESTAMP '{test}') c_before, count(*) c_all
  FROM read_csv({log!r}, delim='\\t', header=true,
       columns={{'user_id': 'VARCHAR', 'track_id': 'VARCHAR', 'timestamp': 'TIMESTAMP'}})
  WHERE timestamp >= TIMESTAMP '{start}' AND timestamp < TIMESTAMP '{end}' GROUP BY 1, 2''')
train = con.execute("SELECT count(*) FROM pairs WHERE t < TIMESTAMP '{test}'").fetchone()[0]
test = con.execute('''SELECT u, i FROM pairs WHERE t >= TIMESTAMP '{test}'
  AND u IN (SELECT u FROM pairs WHERE t < TIMESTAMP '{test}')
  AND i IN (SELECT i FROM pairs WHERE t < TIMESTAMP '{test}')''').df()
users = np.sort(test.u.unique())
val_users, _ = train_test_split(users, test_size=0.5, random_state=42)
val = int(test.u.isin(val_users).sum())
con.execute("COPY (SELECT * FROM pairs WHERE t < TIMESTAMP '{test}') TO '" + {parquet!r} + ".duckdb.train' (FORMAT parquet)")
print(json.dumps({{"split_s": time.perf_counter() - t, "rows": [train, val, len(test) - val]}}))
"""

POLARS = """
import json, sys, time
import numpy as np, polars as pl
from datetime import datetime
from sklearn.model_selection import train_test_split
t = time.perf_counter()
test_date = datetime.fromisoformat({test!r})
lf = pl.scan_csv({log!r}, separator='\\t', schema={{'user_id': pl.String, 'track_id': pl.String,
                 'timestamp': pl.String}})
lf = lf.with_columns(pl.col('timestamp').str.to_datetime('%Y-%m-%d %H:%M:%S'))
lf = lf.filter((pl.col('timestamp') >= datetime.fromisoformat({start!r}))
               & (pl.col('timestamp') < datetime.fromisoformat({end!r})))
pairs = lf.group_by(['user_id', 'track_id']).agg(
    pl.col('timestamp').min().alias('t'),
    (pl.col('timestamp') < test_date).sum().alias('c_before'), pl.len().alias('c_all'),
).collect(engine='streaming')
train = pairs.filter(pl.col('t') < test_date)
test = pairs.filter((pl.col('t') >= test_date)
                    & pl.col('user_id').is_in(train['user_id'].unique().implode())
                    & pl.col('track_id').is_in(train['track_id'].unique().implode()))
users = np.sort(test['user_id'].unique().to_numpy())
val_users, _ = train_test_split(users, test_size=0.5, random_state=42)
val = int(test['user_id'].is_in(list(val_users)).sum())
train.write_parquet({parquet!r} + ".polars.train")
print(json.dumps({{"split_s": time.perf_counter() - t, "rows": [len(train), val, len(test) - val]}}))
"""


def measure(code: str) -> dict:
    """Run `code` in a fresh Python; its JSON result plus wall time and its own peak RSS."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    out, err = proc.communicate()
    wall = time.perf_counter() - started
    if proc.returncode:
        raise RuntimeError(err[-3000:])
    result = json.loads(out.strip().splitlines()[-1])
    result.update(wall_s=round(wall, 1), peak_rss_gb=round(_peak_of(proc.pid) / 2**20, 2))
    return result


def _peak_of(pid: int) -> int:
    """The finished child's maximum resident set (KB), recorded by the wrapper below."""
    return PEAKS.pop(pid, 0)


PEAKS: dict[int, int] = {}
_Popen = subprocess.Popen


class _Measured(_Popen):
    """Popen that reaps with wait4, keeping the child's own rusage (ru_maxrss)."""

    def _try_wait(self, wait_flags):
        try:
            pid, status, usage = os.wait4(self.pid, wait_flags)
        except ChildProcessError:
            return (self.pid, 0)
        if pid:
            PEAKS[pid] = usage.ru_maxrss
        return (pid, status)


subprocess.Popen = _Measured


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=20_000_000)
    ap.add_argument("--folder", type=Path, default=Path("/tmp/log_scale"))
    ap.add_argument("--bz2", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--memory-mb", type=int, default=4000)
    ap.add_argument("--only", nargs="*", default=["audiorec", "duckdb", "polars"])
    args = ap.parse_args()
    args.folder.mkdir(parents=True, exist_ok=True)
    tsv = args.folder / f"log_{args.events}.tsv"
    if not tsv.exists():
        generate(tsv, args.events)
    log = tsv
    if args.bz2:
        log = tsv.with_suffix(".tsv.bz2")
        if not log.exists():
            compress(tsv, log, args.threads)
    fill = dict(
        src=str(REPO / "src"),
        test=TEST,
        start=START,
        end=END,
        threads=args.threads,
        memory=args.memory_mb,
    )
    # the smallest peak first: ru_maxrss of children is a running maximum
    order = sorted(args.only, key=["audiorec", "polars", "duckdb"].index)
    results = {}
    for name in order:
        code = {"audiorec": AUDIOREC, "duckdb": DUCKDB, "polars": POLARS}[name]
        source = log if name == "audiorec" else tsv
        results[name] = measure(
            code.format(log=str(source), parquet=str(args.folder / "log.parquet"), **fill)
        )
        print(name, json.dumps(results[name]), flush=True)
    print(
        json.dumps(
            {
                "events": args.events,
                "log": str(log),
                "size_gb": round(log.stat().st_size / 1e9, 2),
                **results,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
