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


def test_ranking_speed_agrees_with_itself_on_a_small_catalogue():
    stdout = _run(
        "ranking_speed.py", "--users", "300", "--items", "2000", "--repeats", "1", "--dims", "16",
    )  # fmt: skip
    assert "rank() users/s" in stdout and stdout.strip().splitlines()[-1].startswith("16")


def test_training_epoch_runs_each_model_on_a_few_users():
    stdout = _run(
        "training_epoch.py", "--users", "40", "--items", "400", "--history", "20", "--threads", "1",
        "--dims", "16",
    )  # fmt: skip
    for model in ("shallow", "bert4rec", "sasrec", "elsa", "hybrid", "ials", "ease"):
        assert f"\n{model}" in stdout


def test_yambda_scale_agrees_with_duckdb_on_a_small_log(tmp_path):
    stdout = _run(
        "yambda_scale.py",
        "--events", "200000", "--users", "500", "--items", "20000", "--folder", str(tmp_path),
        "--threads", "1", "--memory-mb", "500",
    )  # fmt: skip
    summary = json.loads(stdout[stdout.index("{\n") :])
    assert summary["same_rows"] and all(summary["audiorec"]["rows"])
    assert summary["projection_5b"]["wall_h"] > 0


def test_musicnn_stage_matches_the_port_on_a_few_clips():
    from tests.tiny_backbones import musicnn_weights_or_skip

    musicnn_weights_or_skip()
    if not (REPO / ".cache" / "music" / "usr").exists():
        pytest.skip("no test music: `make test` fetches it (tests/fetch_music.sh)")
    import re

    stdout = _run("musicnn_stage.py", "--clips", "3", "--threads", "1", "--batch", "2")
    mean, first = re.search(r"\(mean\): (\S+); \(first\): (\S+)", stdout).groups()
    # a batch of first patches only sums its convolutions over another batch than all patches
    assert float(mean) == 0.0 and float(first) < 1e-5
