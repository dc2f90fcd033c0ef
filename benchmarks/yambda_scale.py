"""Yambda at 500 M events: conversion and split time, memory and disk, beside DuckDB alone.

    .venv/bin/python benchmarks/yambda_scale.py --events 500000000 --folder /big/tmp

Writes a synthetic log in Yambda's exact schema (``yambda.synthetic``:
flat/500m/listens.parquet, its column names and unsigned types; Yambda-500M's
100,000 users and 3,004,578 tracks, Zipf-popular tracks within a user's
styles, timestamps over its 301 days), then, each in a fresh process whose
peak RSS is measured:

- audiorec: the convert_log job (Listen+ filter, integer codes in order of
  first event, the Parquet log) then the split job (Yambda's windows, hot and
  cold test parts, every part written with ids);
- DuckDB alone: the same split in one SQL pass over the flat file (the same
  filter and windows, pairs by first event, train pairs written to Parquet),
  without what the jobs add (the code tables, each pair's place in its user's
  sequence, the id-ordered parts).

Both must give the same part sizes. The script prints both, their ratio,
the disk the log and the parts take, and a linear projection to 5 B events
(Yambda-5B's 4.65 B listens) from the measured seconds and bytes per event.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from log_scale import measure  # one peak-RSS harness for both log benchmarks

REPO = Path(__file__).resolve().parents[1]
SCALE_5B_LISTENS = 4_649_567_411

AUDIOREC = """
import json, sys, time
sys.path.insert(0, {src!r})
from audiorec.data import yambda
from audiorec.splits.streaming import yambda_split
settings = {{"scale": "500m", "events": ["listens"], "listen_threshold": 50, "organic_only": False}}
t = time.perf_counter()
yambda.convert({root!r}, settings, {log!r}, threads={threads}, memory_mb={memory})
t_convert = time.perf_counter() - t
t = time.perf_counter()
out = {{p: {log!r} + "." + p for p in ("train", "val", "test", "cold")}}
_, counts = yambda_split({log!r}, None, test_timestamp=yambda.TEST_TIMESTAMP,
                         gap_seconds=yambda.GAP, val_seconds=yambda.DAY,
                         memory_mb={memory}, threads={threads}, outputs=out)
print(json.dumps({{"convert_s": t_convert, "split_s": time.perf_counter() - t,
                  "rows": [counts["sizes"][p]["pairs"] for p in ("train", "val", "test", "cold")]}}))
"""

DUCKDB = """
import json, time, tempfile
import duckdb
t = time.perf_counter()
con = duckdb.connect()
con.execute("SET memory_limit='{memory}MB'; SET threads={threads}")
con.execute("SET temp_directory='" + tempfile.mkdtemp() + "'; SET preserve_insertion_order=false")
test, gap, day = {test}, {gap}, {day}
val_end = test - gap
val_start = val_end - day
train_end = val_start - gap
con.execute(f'''CREATE TEMP TABLE pairs AS SELECT uid, item_id, min(timestamp) t
  FROM read_parquet('{listens}') WHERE played_ratio_pct >= 50 GROUP BY 1, 2''')
con.execute(f"CREATE TEMP TABLE tu AS SELECT DISTINCT uid FROM pairs WHERE t < {{train_end}}")
con.execute(f"CREATE TEMP TABLE ti AS SELECT DISTINCT item_id FROM pairs WHERE t < {{train_end}}")
train = con.execute(f"SELECT count(*) FROM pairs WHERE t < {{train_end}}").fetchone()[0]
later = f'''FROM pairs p SEMI JOIN tu USING (uid) WHERE p.t >= {{train_end}}'''
val, hot, cold = con.execute(f'''SELECT
  count(*) FILTER (WHERE t >= {{val_start}} AND t < {{val_end}} AND item_id IN (SELECT item_id FROM ti)),
  count(*) FILTER (WHERE t >= {{test}} AND item_id IN (SELECT item_id FROM ti)),
  count(*) FILTER (WHERE t >= {{test}} AND item_id NOT IN (SELECT item_id FROM ti)) {{later}}''').fetchone()
con.execute(f"COPY (SELECT * FROM pairs WHERE t < {{train_end}}) TO '{out}' (FORMAT parquet)")
print(json.dumps({{"split_s": time.perf_counter() - t, "rows": [train, val, hot, cold]}}))
"""


def du(path: Path) -> int:
    paths = [path] if path.is_file() else path.rglob("*")
    return sum(p.stat().st_size for p in paths if p.is_file())


def main() -> None:
    from audiorec.data import yambda

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=20_000_000)
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--items", type=int, default=3_004_578)
    ap.add_argument("--folder", type=Path, default=Path("/tmp/yambda_scale"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--memory-mb", type=int, default=8000)
    ap.add_argument("--only", nargs="*", default=["audiorec", "duckdb"])
    args = ap.parse_args()
    root = args.folder / f"hub_{args.events}"
    listens = root / yambda.event_file("500m", "listens")
    if not listens.exists():
        shutil.rmtree(root, ignore_errors=True)
        yambda.synthetic(
            root, "500m", users=args.users, items=args.items, events=args.events, dim=4, seed=0
        )
    work = args.folder / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    fill = dict(threads=args.threads, memory=args.memory_mb)
    codes = {
        "audiorec": AUDIOREC.format(
            src=str(REPO / "src"), root=str(root), log=str(work / "log.parquet"), **fill
        ),
        "duckdb": DUCKDB.format(
            listens=str(listens),
            out=str(work / "duckdb_train.parquet"),
            test=yambda.TEST_TIMESTAMP,
            gap=yambda.GAP,
            day=yambda.DAY,
            **fill,
        ),
    }
    results = {}
    for name in sorted(args.only, key=["audiorec", "duckdb"].index):
        results[name] = measure(codes[name])
        print(name, json.dumps(results[name]), flush=True)
    report = {"events": args.events, "log_gb": round(du(listens) / 1e9, 2), **results}
    if "audiorec" in results:
        ours = results["audiorec"]
        parts = sum(du(p) for p in work.glob("log.parquet*"))
        report["audiorec_disk_gb"] = round(parts / 1e9, 2)
        factor = SCALE_5B_LISTENS / args.events
        report["projection_5b"] = {
            "wall_h": round(ours["wall_s"] * factor / 3600, 2),
            "input_gb": round(du(listens) * factor / 1e9, 1),
            "written_gb": round(parts * factor / 1e9, 1),
            "memory_gb": "the DuckDB limit (--memory-mb), spilling beyond it",
        }
        if "duckdb" in results:
            report["ratio_vs_duckdb"] = round(ours["wall_s"] / results["duckdb"]["wall_s"], 2)
            report["same_rows"] = ours["rows"] == results["duckdb"]["rows"]
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
