"""The whole Snakemake workflow on a tiny synthetic dataset, in a temporary directory."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from tests.conftest import REPO

pytestmark = pytest.mark.slow
TINY = REPO / "tests" / "configs" / "tiny.yaml"


def snakemake(workdir, configfile, *args):
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(configfile),
        "--cores",
        "2",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900)


def scheduled(output: str) -> set[tuple[str, str]]:
    """(rule, backbone or '') of every job a dry run lists."""
    jobs = set()
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", output):
        m = re.match(r"(?:local)?rule (\w+):", block.strip())
        if m:
            b = re.search(r"wildcards:.*?backbone=([\w-]+)", block)
            jobs.add((m.group(1), b.group(1) if b else ""))
    return jobs


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    work = tmp_path_factory.mktemp("workflow")
    done = snakemake(work, TINY)
    assert done.returncode == 0, done.stderr[-4000:]
    return work


def test_workflow_writes_tables_figure_and_failures(finished):
    tables = finished / "results" / "tables"
    md = (tables / "summary.md").read_text()
    assert "mfcc_a | knn | frozen" in md and "Paired tests against the baseline" in md
    summary = pd.read_csv(tables / "summary.csv")
    assert set(summary["run"]) == {
        "mfcc_a/knn/frozen",
        "mfcc_a/knn/shuffled",
        "mfcc_b/knn/frozen",
        "mfcc_b/knn/shuffled",
        "none/popularity/none",
        "none/random/none",
        "mfcc_a/shallow/frozen",
        "mfcc_a/shallow/random",
    }
    assert summary.set_index("run").loc["none/random/none", "seeds"] == 2
    assert (finished / "results" / "figures" / "summary.png").stat().st_size > 1000
    tests = pd.read_csv(tables / "tests.csv")
    assert set(tests["baseline"]) == {"none/random/none", "mfcc_a/shallow/random"}
    run = finished / "results" / "runs" / "mfcc_a" / "shallow" / "frozen" / "seed0"
    assert (run / "checkpoint.pt").exists()
    info = json.loads((run / "info.json").read_text())
    assert info["model"]["epochs"] >= 1 and info["model"]["history"][0]["val_loss"] > 0
    assert tests["p_wilcoxon_holm"].between(0, 1).all()
    fails = pd.read_csv(finished / "results" / "embeddings" / "mfcc_a.failures.tsv", sep="\t")
    truth = pd.read_csv(finished / "data" / "demo" / "synthetic_truth.tsv", sep="\t")
    assert set(fails["track_id"]) == set(truth.loc[truth["broken"], "track_id"])
    stats = pd.read_csv(finished / "results" / "split" / "stats.tsv", sep="\t").set_index("part")
    assert stats.loc["test", "users"] > 0 and stats.loc["val", "users"] > 0


def test_nothing_to_do_when_nothing_changed(finished):
    out = snakemake(finished, TINY, "--dry-run")
    assert out.returncode == 0, out.stderr[-3000:]
    assert "Nothing to be done" in out.stdout + out.stderr


def test_editing_one_backbone_reruns_only_its_jobs(finished, tmp_path):
    cfg = yaml.safe_load(TINY.read_text())
    edited = copy.deepcopy(cfg)
    edited["backbones"]["mfcc_b"]["params"]["n_mfcc"] = 12
    path = tmp_path / "edited.yaml"
    path.write_text(yaml.safe_dump(edited))
    out = snakemake(finished, path, "--dry-run")
    assert out.returncode == 0, out.stderr[-3000:]
    jobs = scheduled(out.stdout)
    assert jobs == {
        ("extract", "mfcc_b"),
        ("merge_embeddings", "mfcc_b"),
        ("train", "mfcc_b"),
        ("evaluate", "mfcc_b"),
        ("aggregate", ""),
        ("all", ""),
    }, jobs


def test_bad_config_is_refused_before_any_job(tmp_path):
    cfg = yaml.safe_load(TINY.read_text())
    cfg["backbones"]["mfcc_a"]["params"]["hop"] = 256
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(cfg))
    out = snakemake(tmp_path, path)
    assert out.returncode != 0
    assert "backbones.mfcc_a.params.hop" in out.stdout + out.stderr
    assert not (tmp_path / "results").exists() and not (tmp_path / "data").exists()
