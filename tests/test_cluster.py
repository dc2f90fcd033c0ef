"""The SLURM path as users run it: the real snakemake-executor-plugin-slurm, stub SLURM commands.

tests/slurm_stub/stub.py stands in for sbatch, sacct, squeue, scontrol,
srun, sacctmgr and sinfo: it records every submission's arguments and runs
the job script locally. So these tests check what the cluster would be
asked for (partition, account, memory, time, CPUs, GPUs) and that a whole
preset completes through the plugin.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from audiorec.data.synthetic import generate
from tests.conftest import REPO
from tests.tiny_backbones import onion_feature_file

pytestmark = pytest.mark.slow
STUB = REPO / "tests" / "slurm_stub" / "stub.py"
COMMANDS = ("sbatch", "sacct", "squeue", "scontrol", "srun", "sacctmgr", "sinfo")
FAST = [
    "--slurm-init-seconds-before-status-checks",
    "1",
    "--seconds-between-status-checks",
    "1",
    "--latency-wait",
    "5",
]


@pytest.fixture
def slurm(tmp_path):
    """PATH with the stub commands first; returns (env, state folder)."""
    pytest.importorskip("snakemake_executor_plugin_slurm")
    bin_dir, state = tmp_path / "bin", tmp_path / "slurm"
    bin_dir.mkdir()
    state.mkdir()
    for name in COMMANDS:
        path = bin_dir / name
        path.write_text(f'#!/bin/sh\nexec {sys.executable} {STUB} {name} "$@"\n')
        path.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{Path(sys.executable).parent}:{os.environ['PATH']}",
        "STUB_SLURM_DIR": str(state),
        "STUB_SLURM_ACCOUNTS": "my_account",
    }
    return env, state


def submissions(state: Path) -> list[dict]:
    lines = (
        (state / "sbatch.jsonl").read_text().splitlines()
        if (state / "sbatch.jsonl").exists()
        else []
    )
    return [json.loads(x) for x in lines]


def rule_of(sub: dict) -> str:
    """The rule (or group) a submission is for, from its --comment."""
    return sub["options"]["--comment"].removeprefix("rule_").split("_wildcards_")[0]


def has_gpu(sub: dict) -> bool:
    return any(a.startswith(("--gpus", "--gres")) for a in sub["args"])


def run_snakemake(workdir, configfile, env, *args, timeout=900):
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile")]
    cmd += ["--directory", str(workdir), "--configfile", str(configfile)]
    cmd += ["--profile", str(REPO / "profiles" / "slurm"), *FAST, *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=REPO)


def test_tiny_preset_completes_through_slurm(slurm, tmp_path):
    env, state = slurm
    cfg = yaml.safe_load((REPO / "tests" / "configs" / "tiny.yaml").read_text())
    cfg["recommenders"]["shallow"]["resources"] = {"threads": 2, "mem_mb": 3000, "gpu": 1}
    cfg["recommenders"]["shallow"]["device"] = "cpu"  # the stub runs GPU jobs on this CPU
    cfg["recommenders"]["knn"]["resources"] = {"threads": 1, "mem_mb": 1500, "runtime": 20}
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(cfg))
    out = run_snakemake(tmp_path / "run", path, {**env, "STUB_SLURM_GPU": "run"})
    assert out.returncode == 0, out.stderr[-4000:]
    assert (tmp_path / "run" / "results" / "tables" / "summary.md").exists()

    subs = submissions(state)
    assert all(s["options"]["-A"] == "my_account" for s in subs)
    by_rule: dict[str, list[dict]] = {}
    for s in subs:
        by_rule.setdefault(rule_of(s), []).append(s)
    assert "fetch_weights" not in by_rule  # MFCC needs none; a local rule anyway
    gpu_runs = [s for s in subs if has_gpu(s)]
    assert gpu_runs and all(s["options"]["-p"] == "gpu" for s in gpu_runs)
    assert all("--gpus=1" in s["args"] for s in gpu_runs)
    # exactly the shallow runs asked for a GPU: their group scripts name the shallow recommender
    assert all("recommender=shallow" in s["script"] or "shallow" in s["script"] for s in gpu_runs)
    cpu = [s for s in subs if not has_gpu(s)]
    assert all(s["options"]["-p"] == "cpu" for s in cpu)
    first = {rule_of(s): s for s in subs}
    assert first["catalogue"]["options"]["--mem"] == "4000"
    assert first["catalogue"]["options"]["-t"] == "60"
    assert first["catalogue"]["options"]["--cpus-per-task"] == "1"
    assert first["generate_demo"]["options"]["--cpus-per-task"] == "2"
    # a run's training then its evaluation, in one submission asking for both times; where
    # Snakemake bundled several runs' components into one submission, for the longest chain
    minutes = {"knn": 20 + 60}
    knn = [s for s in by_rule["run_evaluate_train"] if "knn" in s["script"]]
    assert knn
    for s in knn:
        jobs = re.findall(r"'(train|evaluate):[^']*recommender=(\w+)", s["script"])
        recommenders = {r for _, r in jobs}
        expected = max(minutes.get(r, 60 + 60) for r in recommenders)
        if len(jobs) == 2:
            assert s["options"]["-t"] == str(expected), (jobs, s["options"])
        else:
            assert int(s["options"]["-t"]) >= expected, (jobs, s["options"])


def test_readme_command_submits_the_paper_presets_first_wave(slurm, tmp_path):
    """`snakemake --profile profiles/slurm --configfile presets/paper.yaml`, site file as shipped."""
    env, state = slurm
    root = tmp_path / "onion"
    generate(
        root,
        n_tracks=30,
        n_users=20,
        n_styles=3,
        clip_seconds=1.0,
        sample_rate=22050,
        start_date="2019-02-01",
        months=14,
        seed=1,
    )
    onion_feature_file(root / "id_mfcc_stats.tsv.bz2", ["x"], dim=104)
    cfg = yaml.safe_load((REPO / "presets" / "paper.yaml").read_text())
    cfg["dataset"].update(root=str(root), listening_log="userid_trackid_timestamp.tsv")
    cfg["download"]["files"] = []  # the files are in place: no network here
    path = tmp_path / "paper.yaml"
    path.write_text(yaml.safe_dump(cfg))
    out = run_snakemake(tmp_path / "run", path, {**env, "STUB_SLURM_RUN": "none"}, timeout=600)
    assert out.returncode != 0  # the stub ran nothing, so the run stops after its first wave
    subs = submissions(state)
    assert {rule_of(s) for s in subs} == {"convert_log"}, [rule_of(s) for s in subs]
    first, retry = subs  # retries: 1, with memory and time grown by the attempt
    for s, factor in ((first, 1), (retry, 2)):
        o = s["options"]
        assert (o["-p"], o["-A"]) == ("cpu", "my_account")
        assert (o["--mem"], o["-t"], o["--cpus-per-task"]) == (
            str(4000 * factor),
            str(240 * factor),
            "4",
        )
        assert not has_gpu(s)
    assert "--executor slurm-jobstep" in first["script"] or "slurm-jobstep" in first["script"]


def dry_run_jobs(configfile: Path, workdir: Path, *extra) -> list[dict]:
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "-n"]
    cmd += ["--directory", str(workdir), "--configfile", str(configfile), *extra]
    cmd += ["--config", "site=profiles/slurm/site.yaml"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=REPO)
    assert out.returncode == 0, out.stderr[-3000:]
    jobs = []
    for block in re.split(r"\n(?=\s*(?:local)?rule \w+:)", out.stdout):
        m = re.match(r"(localrule|rule) (\w+):", block.strip())
        if not m:
            continue
        res = re.search(r"resources: (.*)", block)
        wc = re.search(r"wildcards: (.*)", block)
        fields = dict(kv.split("=", 1) for kv in res.group(1).split(", ")) if res else {}
        fields.update(dict(kv.split("=", 1) for kv in wc.group(1).split(", ")) if wc else {})
        jobs.append({"rule": m.group(2), "local": m.group(1) == "localrule", **fields})
    return jobs


def test_every_paper_job_asks_for_what_its_preset_entry_says(tmp_path):
    """The whole paper + corrected DAG: GPUs only where the preset asks, CPU jobs on the CPU partition."""
    root = tmp_path / "onion"
    (root / "audios").mkdir(parents=True)
    for name in ("userid_trackid_timestamp.tsv.bz2", "id_mfcc_stats.tsv.bz2"):
        (root / name).write_bytes(b"")
    (root / "id_information.csv").write_text("id\n")
    cfg = yaml.safe_load((REPO / "presets" / "paper.yaml").read_text())
    cfg["dataset"]["root"] = str(root)
    cfg["download"]["files"] = []
    path = tmp_path / "paper.yaml"
    path.write_text(yaml.safe_dump(cfg))
    jobs = dry_run_jobs(path, tmp_path / "run", str(REPO / "presets" / "corrected.yaml"))
    merged = {
        **cfg["backbones"],
        **yaml.safe_load((REPO / "presets" / "corrected.yaml").read_text())["backbones"],
    }
    assert len(jobs) > 1000
    for job in jobs:
        if job["rule"] in ("all", "fetch_weights"):  # fetch_weights: a local rule
            continue
        if job["rule"] == "extract":
            wants_gpu = merged[job["backbone"]]["resources"].get("gpu", 0) > 0
        elif job["rule"] == "train":
            wants_gpu = cfg["recommenders"][job["recommender"]]["resources"].get("gpu", 0) > 0
        else:
            wants_gpu = False
        assert ("gpu" in job) == wants_gpu, job
        assert job["slurm_partition"] == ("gpu" if wants_gpu else "cpu"), job
        assert job["slurm_account"] == "my_account", job
    extract = {j["backbone"]: j for j in jobs if j["rule"] == "extract"}
    assert extract["jukebox"]["mem_mb"] == "64000" and extract["jukebox"]["gpu"] == "1"
    assert "gpu" not in extract["mfcc_audio"] and "gpu" not in extract["musicnn"]
    assert "mfcc" not in extract  # the study's MFCC row is Onion's precomputed file
    evaluations = [j for j in jobs if j["rule"] == "evaluate"]
    assert evaluations and all("gpu" not in j for j in evaluations)
