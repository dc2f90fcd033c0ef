"""What every job wrapper needs first: this checkout's src/ on the path, and plain params.

Snakemake appends its own sys.path to a script's, after the virtual
environment's entries, so an editable install of another checkout would
otherwise win; src/ goes first, and the import is checked. Per-backbone conda
envs do not install audiorec at all.
"""

import atexit
import os
import sys
from collections.abc import Mapping
from pathlib import Path

# AUDIOREC_RECORD_IMPORTS=<folder>: each job writes the top-level modules it
# imported (beyond Snakemake's script preamble) there; tests/test_envs.py
# checks them against the job's conda env file.
_RECORD = os.environ.get("AUDIOREC_RECORD_IMPORTS")
_BEFORE = set(sys.modules)

SRC = str(Path(__file__).resolve().parents[2] / "src")
while SRC in sys.path:
    sys.path.remove(SRC)
sys.path.insert(0, SRC)

import audiorec  # noqa: E402

if not Path(audiorec.__file__).resolve().is_relative_to(SRC):
    raise ImportError(f"audiorec was imported from {audiorec.__file__}, not from {SRC}")


def to_plain(obj):
    """Snakemake hands params over as its own mapping types; make them plain."""
    if isinstance(obj, Mapping):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    return obj


def split_paths(job) -> dict:
    """The split's Parquet files among a job's inputs (train, val, test and, where
    the split has one, cold)."""
    return {k: job.input[k] for k in ("train", "val", "test", "cold") if k in job.input.keys()}


def run_of(job) -> dict:
    """The run a train or evaluate job is for, from its wildcards (with its sweep, if any)."""
    w = job.wildcards
    run = {"backbone": w.backbone, "recommender": w.recommender, "variant": w.variant}
    run["seed"] = int(w.seed)
    if "sweep" in w.keys():
        run["sweep"] = w.sweep
    return run


def _record_imports() -> None:
    job = sys.modules["__main__"].__dict__.get("snakemake")
    rule = job.rule if job is not None else Path(sys.argv[0]).stem
    kind = ""
    if job is not None and "spec" in job.params.keys():
        kind = job.params.spec["type"]
    top = sorted({m.split(".")[0] for m in set(sys.modules) - _BEFORE})
    out = Path(_RECORD) / f"{rule}-{kind}-{os.getpid()}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(top) + "\n")


if _RECORD:
    atexit.register(_record_imports)
