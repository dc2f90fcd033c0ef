"""How long Snakemake takes to plan the study: a dry run of the paper preset and bigger grids.

    .venv/bin/python benchmarks/planning.py [--baseline /path/to/other/checkout]

Each case is a dry run (`snakemake -n`) on a small fake Music4All-Onion
folder: the paper preset, paper + corrected, and the paper preset with 20
40 and 62 backbones (about 5,000 jobs; MFCC entries with different settings, each with the
preset's 64 shards and recommenders). With --baseline, the same cases run
with another checkout's Snakefile, alternating, so that both see the same
machine. Prints wall and CPU seconds (best of --repeat) and job counts.
"""

from __future__ import annotations

import argparse
import copy
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
# the grid's extra backbones: MFCC statistics computed from the audio, one n_mfcc each
# (both trees know this entry; the paper preset's own MFCC row reads Onion's file)
MFCC = {
    "type": "mfcc",
    "params": {"sample_rate": 22050, "n_mfcc": 13, "statistics": "mean_cov"},
    "resources": {"threads": 2, "mem_mb": 4000, "runtime": 240},
}


def fake_onion(root: Path) -> None:
    (root / "audios").mkdir(parents=True, exist_ok=True)
    (root / "userid_trackid_timestamp.tsv.bz2").write_bytes(b"")
    (root / "id_information.csv").write_text("id\n")


def cases(tree: Path, root: Path, out: Path) -> dict[str, list[Path]]:
    paper = yaml.safe_load((tree / "presets" / "paper.yaml").read_text())
    paper["dataset"]["root"] = str(root)
    files = {}
    base = out / f"{tree.name}-paper.yaml"
    base.write_text(yaml.safe_dump(paper))
    files["paper"] = [base]
    files["paper + corrected"] = [base, tree / "presets" / "corrected.yaml"]
    for n in (20, 40, 62):
        grid = copy.deepcopy(paper)
        for i in range(n - len(paper["backbones"])):
            entry = copy.deepcopy(MFCC)
            entry["params"]["n_mfcc"] = 14 + i
            grid["backbones"][f"mfcc{i}"] = entry
        path = out / f"{tree.name}-grid{n}.yaml"
        path.write_text(yaml.safe_dump(grid))
        files[f"{n} backbones"] = [path]
    return files


def dry_run(tree: Path, configs: list[Path], work: Path) -> tuple[float, float, int]:
    cmd = [sys.executable, "-m", "snakemake", "-n", "--snakefile", str(tree / "Snakefile")]
    cmd += ["--directory", str(work), "--cores", "1", "--configfile", *map(str, configs)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=tree)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode:
        raise RuntimeError(f"{tree}: {out.stderr[-2000:]}")
    jobs = int(re.search(r"^total\s+(\d+)", out.stdout, re.MULTILINE).group(1))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, jobs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", type=Path, help="another checkout to time side by side")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    trees = [("audiorec", REPO)] + (
        [("baseline", args.baseline.resolve())] if args.baseline else []
    )
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        fake_onion(tmp / "onion")
        plans = {name: cases(tree, tmp / "onion", tmp) for name, tree in trees}
        print(f"{'case':<20} {'tree':<10} {'jobs':>6} {'wall s':>8} {'CPU s':>8}")
        for case in plans["audiorec"]:
            for name, tree in trees:
                best = None
                for r in range(args.repeat):
                    res = dry_run(tree, plans[name][case], tmp / f"work-{name}-{r}")
                    best = res if best is None or res[0] < best[0] else best
                wall, cpu, jobs = best
                print(f"{case:<20} {name:<10} {jobs:>6} {wall:>8.2f} {cpu:>8.2f}", flush=True)


if __name__ == "__main__":
    main()
