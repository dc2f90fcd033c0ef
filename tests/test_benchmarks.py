"""The benchmark scripts still run: each on a tiny input, through the project's current code.

They are not timed here (their figures live in docs/benchmarks.md); this only
catches a script left behind by a change of the code it measures.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _run(script: str, *args: str, timeout: int = 300) -> str:
    out = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


@pytest.mark.parametrize("model", ["knn", "shallow", "bert4rec"])
def test_large_catalogue_memory_runs_on_a_small_catalogue(model):
    stdout = _run(
        "large_catalogue_memory.py",
        "--users", "150", "--items", "600", "--events-per-user", "12", "--threads", "1",
        "--model", model,
    )  # fmt: skip
    result = json.loads(stdout.split("RESULT ", 1)[1].splitlines()[0])
    assert result["model"] == model and result["test users"] > 0


def test_log_scale_agrees_with_duckdb_on_a_small_log(tmp_path):
    stdout = _run(
        "log_scale.py",
        "--events", "30000", "--folder", str(tmp_path), "--threads", "1", "--memory-mb", "500",
        "--only", "audiorec", "duckdb",
    )  # fmt: skip
    summary = json.loads(stdout[stdout.index("{\n") :])
    assert summary["audiorec"]["rows"] == summary["duckdb"]["rows"]
    assert all(summary["audiorec"]["rows"])
