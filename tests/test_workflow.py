"""The whole Snakemake workflow on a tiny synthetic dataset, and what each change re-runs.

The workflow's files are copied to a temporary folder first, so that the
re-run tests can edit code there (and put it back) without touching the
checkout.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import REPO

pytestmark = pytest.mark.slow
TINY = REPO / "tests" / "configs" / "tiny.yaml"
WORKFLOW_FILES = (
    "Snakefile",
    "config.yaml",
    "rules",
    "workflow",
    "src",
    "profiles",
    "envs",
    "report",
)


def copy_workflow(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in WORKFLOW_FILES:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dest / name)
    return dest


def snakemake(workdir, configfile, *args, snakefile=REPO / "Snakefile", profile=None, env=None):
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(snakefile)]
    cmd += ["--directory", str(workdir), "--configfile", str(configfile), "--cores", "2"]
    if profile:
        cmd += ["--profile", str(profile)]
    environ = {**os.environ, **(env or {})}
    return subprocess.run(
        cmd + list(args), capture_output=True, text=True, timeout=900, env=environ
    )


def scheduled(output: str) -> set[tuple[str, str, str]]:
    """(rule, backbone or '', recommender or '') of every job a dry run lists."""
    jobs = set()
    for block in re.split(r"\n(?=\s*(?:local)?rule \w+:)", output):
        m = re.match(r"(?:local)?rule (\w+):", block.strip())
        if m:
            b = re.search(r"wildcards:.*?backbone=([\w-]+)", block)
            r = re.search(r"wildcards:.*?recommender=([\w-]+)", block)
            jobs.add((m.group(1), b.group(1) if b else "", r.group(1) if r else ""))
    return jobs


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return copy_workflow(tmp_path_factory.mktemp("workflow") / "repo")


@pytest.fixture(scope="module")
def finished(tree):
    work = tree.parent / "run"
    record = {"AUDIOREC_RECORD_IMPORTS": str(work / "imports")}
    done = snakemake(work, TINY, snakefile=tree / "Snakefile", env=record)
    assert done.returncode == 0, done.stderr[-4000:]
    return work


def dry_run(tree, work, config=TINY) -> set[tuple[str, str, str]]:
    out = snakemake(work, config, "--dry-run", snakefile=tree / "Snakefile")
    assert out.returncode == 0, out.stderr[-3000:]
    return scheduled(out.stdout)


@contextlib.contextmanager
def edited(path: Path, change):
    """The file with `change(text)` applied, restored afterwards (mtime included)."""
    original, stat = path.read_text(), path.stat()
    path.write_text(change(original))
    try:
        yield
    finally:
        path.write_text(original)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def edited_config(tmp_path, change) -> Path:
    cfg = copy.deepcopy(yaml.safe_load(TINY.read_text()))
    change(cfg)
    path = tmp_path / "edited.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def rules_of(jobs) -> set[str]:
    return {j[0] for j in jobs}


ALL_RUNS = {
    ("mfcc_a", "knn"),
    ("mfcc_b", "knn"),
    ("mfcc_a", "shallow"),
    ("none", "shallow"),
    ("none", "popularity"),
    ("none", "random"),
    ("none", "elsa"),
}


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
        "none/shallow/random",
        "none/elsa/none",
    }
    assert summary.set_index("run").loc["none/random/none", "seeds"] == 2
    joint = pd.read_csv(tables / "mir_vs_rec.csv").set_index("backbone")
    assert (
        set(joint.index) == {"mfcc_a", "mfcc_b"}
        and joint["demo_tags ROC-AUC"].between(0.5, 1).all()
    )
    assert (
        summary.set_index("run").loc["none/elsa/none"].filter(regex=r"^HitRate@\d+$").notna().all()
    )
    assert (finished / "results" / "figures" / "summary.png").stat().st_size > 1000
    tests = pd.read_csv(tables / "tests.csv")
    assert set(tests["baseline"]) == {"none/random/none", "none/shallow/random"}
    run = finished / "results" / "runs" / "mfcc_a" / "shallow" / "frozen" / "seed0"
    assert (run / "checkpoint.pt").exists() and (run / "model.pt").exists()
    info = json.loads((run / "info.json").read_text())
    assert info["model"]["epochs"] >= 1 and info["model"]["history"][0]["val_loss"] > 0
    assert info["means"]["HitRate@10"] >= 0 and info["part"] == "test"
    assert tests["p_wilcoxon_holm"].between(0, 1).all()
    fails = pd.read_csv(finished / "results" / "embeddings" / "mfcc_a.failures.tsv", sep="\t")
    truth = pd.read_csv(finished / "data" / "demo" / "synthetic_truth.tsv", sep="\t")
    assert set(fails["track_id"]) == set(truth.loc[truth["broken"], "track_id"])
    stats = pd.read_csv(finished / "results" / "split" / "stats.tsv", sep="\t").set_index("part")
    assert stats.loc["test", "users"] > 0 and stats.loc["val", "users"] > 0


def test_workflow_writes_publication_tables_breakdowns_and_figures(finished):
    tables, figs = finished / "results" / "tables", finished / "results" / "figures"
    tex = (tables / "summary.tex").read_text()
    assert r"\toprule" in tex and r"\textbf{" in tex and "mfcc\\_a & knn & frozen" in tex
    wide = (tables / "wide.md").read_text()
    assert "| mfcc_a |" in wide and "knn (frozen)" in wide and "| no content |" in wide
    assert "<table>" in (tables / "summary.html").read_text()
    activity = pd.read_csv(tables / "activity.csv")
    assert activity.groupby("run")["group"].nunique().min() >= 2
    popularity = pd.read_csv(tables / "popularity.csv")
    assert {"head", "tail"} <= set(popularity["group"])
    summary = pd.read_csv(tables / "summary.csv").set_index("run")
    assert (
        summary.loc["none/random/none", "Coverage@50"]
        > summary.loc["none/popularity/none", "Coverage@50"]
    )
    history = pd.read_csv(tables / "training_history.csv")
    assert set(history["run"]) == {"mfcc_a/shallow/frozen", "none/shallow/random", "none/elsa/none"}
    for name in ("summary", "significance", "activity", "popularity"):
        assert (figs / f"{name}.png").stat().st_size > 5000, name
        assert len(pd.read_csv(figs / f"{name}.csv")), name
    assert sorted(p.name for p in (figs / "training").glob("*.png")) == [
        "mfcc_a__shallow__frozen.png",
        "none__elsa__none.png",
        "none__shallow__random.png",
    ]
    assert not (tables / "hot_cold.csv").exists()  # a global-time split has no cold block


def test_report_archive_holds_the_tables_and_every_figure(tree, finished):
    import zipfile

    out = snakemake(finished, TINY, "--report", "report.zip", snakefile=tree / "Snakefile")
    assert out.returncode == 0, out.stderr[-3000:]
    names = zipfile.ZipFile(finished / "report.zip").namelist()
    files = {n.rsplit("/", 1)[-1] for n in names}  # the archive files each under a hash
    wanted = {
        *("summary.html", "summary.csv", "tests.csv", "summary.tex", "wide.html", "wide.tex"),
        *("activity.html", "popularity.html"),
        *("summary.png", "significance.png", "activity.png", "popularity.png"),
        *("mfcc_a__shallow__frozen.png", "none__shallow__random.png"),
    }
    assert wanted <= files, wanted - files
    page = next(n for n in names if n.endswith("report.html"))
    assert "audiorec" in zipfile.ZipFile(finished / "report.zip").read(page).decode()


def test_a_training_size_sweep_adds_only_its_own_jobs(tree, finished, tmp_path):
    def change(c):
        c["sweeps"] = {"training_size": {"percents": [50, 100], "recommenders": ["knn"]}}

    jobs = dry_run(tree, finished, edited_config(tmp_path, change))
    assert jobs == {
        *{
            (rule, b, "knn")
            for rule in ("train_sweep", "evaluate_sweep")
            for b in ("mfcc_a", "mfcc_b")
        },
        ("aggregate", "", ""),
        ("probe_report", "", ""),
        ("all", "", ""),
    }, jobs


def test_a_layer_sweep_trains_once_per_layer_from_the_same_vectors(tree, finished, tmp_path):
    def change(c):
        c["backbones"]["deep"] = {"type": "mert", "params": {"layer": "all"}}
        c["recommenders"]["knn"]["backbones"] = ["mfcc_a", "mfcc_b", "deep"]
        c["sweeps"] = {"layers": {"backbones": {"deep": [0, 2]}, "recommenders": ["knn"]}}

    out = snakemake(
        finished, edited_config(tmp_path, change), "--dry-run", "-p", snakefile=tree / "Snakefile"
    )
    assert out.returncode == 0, out.stderr[-3000:]
    sweeps = re.findall(
        r"results/sweeps/(layer\d+)/runs/(\w+)/knn/(\w+)/seed0/model\.pt", out.stdout
    )
    assert set(sweeps) == {
        (layer, "deep", v) for layer in ("layer0", "layer2") for v in ("frozen", "shuffled")
    }
    assert "results/embeddings/deep.parquet" in out.stdout  # one extraction serves every layer
    report = out.stdout[out.stdout.index("rule probe_report:") :]
    report = report[: report.index("\n\n")]
    assert "results/tables/layers.csv" in report  # the probe curve beside the layer sweep's


def test_report_settings_rerun_only_the_aggregation(tree, finished, tmp_path):
    jobs = dry_run(
        tree,
        finished,
        edited_config(tmp_path, lambda c: c.setdefault("report", {}).update(metric="NDCG")),
    )  # (the probe report shows the report metric too)
    assert jobs == {("aggregate", "", ""), ("probe_report", "", ""), ("all", "", "")}, jobs


def test_nothing_to_do_when_nothing_changed(tree, finished):
    assert dry_run(tree, finished) == set()


def test_editing_one_backbone_reruns_only_its_jobs(tree, finished, tmp_path):
    """Content-free runs (none/shallow/random, popularity, random) do not depend on any backbone."""
    path = edited_config(tmp_path, lambda c: c["backbones"]["mfcc_b"]["params"].update(n_mfcc=12))
    jobs = dry_run(tree, finished, path)
    assert jobs == {
        ("extract", "mfcc_b", ""),
        ("merge_embeddings", "mfcc_b", ""),
        ("train", "mfcc_b", "knn"),
        ("evaluate", "mfcc_b", "knn"),
        ("probe", "mfcc_b", ""),  # the MIR side of the same vectors
        ("aggregate", "", ""),
        ("probe_report", "", ""),
        ("all", "", ""),
    }, jobs
    path = edited_config(tmp_path, lambda c: c["backbones"]["mfcc_a"]["params"].update(n_mfcc=12))
    jobs = dry_run(tree, finished, path)
    assert {(b, r) for rule, b, r in jobs if rule == "train"} == {
        ("mfcc_a", "knn"),
        ("mfcc_a", "shallow"),
    }, jobs


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda c: c["evaluation"].update(ks=[5, 10, 50]), id="adding a K"),
        pytest.param(lambda c: c["evaluation"].update(user_batch=7), id="user_batch"),
        pytest.param(
            lambda c: c["evaluation"].update(popularity_segments={"head": 0.1}),
            id="popularity segments",
        ),
    ],
)
def test_evaluation_settings_rerun_evaluations_only(tree, finished, tmp_path, change):
    jobs = dry_run(tree, finished, edited_config(tmp_path, change))
    assert rules_of(jobs) == {"evaluate", "aggregate", "probe_report", "all"}, jobs
    assert {(b, r) for rule, b, r in jobs if rule == "evaluate"} == ALL_RUNS


def test_resources_and_workers_rerun_nothing(tree, finished, tmp_path):
    def change(c):
        c["backbones"]["mfcc_a"]["resources"] = {"threads": 2, "mem_mb": 9000, "gpu": 0}
        c["backbones"]["mfcc_a"]["workers"] = 2
        c["recommenders"]["knn"]["resources"] = {"threads": 2, "runtime": 999}

    assert dry_run(tree, finished, edited_config(tmp_path, change)) == set()


def append_code(text: str) -> str:
    return text + "\n_EDITED = 1\n"


def append_comment(text: str) -> str:
    return text + "\n# a comment, and a docstring-free blank line\n"


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        pytest.param(
            "audiorec/evaluation/metrics.py",
            {("evaluate", *run) for run in ALL_RUNS},
            id="evaluation/metrics.py",
        ),
        pytest.param(
            "audiorec/recommenders/knn.py",
            {(rule, b, "knn") for rule in ("train", "evaluate") for b in ("mfcc_a", "mfcc_b")},
            id="recommenders/knn.py",
        ),
        pytest.param(
            "audiorec/recommenders/shallow.py",
            {(rule, b, "shallow") for rule in ("train", "evaluate") for b in ("mfcc_a", "none")},
            id="recommenders/shallow.py",
        ),
        pytest.param(
            "audiorec/backbones/base.py",
            {("extract", b, "") for b in ("mfcc_a", "mfcc_b")}
            | {("merge_embeddings", b, "") for b in ("mfcc_a", "mfcc_b")}
            | {("probe", b, "") for b in ("mfcc_a", "mfcc_b")}
            | {(rule, b, r) for rule in ("train", "evaluate") for b, r in ALL_RUNS if b != "none"},
            id="backbones/base.py",
        ),
        pytest.param("audiorec/backbones/wav2vec2_family.py", set(), id="wav2vec2_family.py"),
        pytest.param("audiorec/backbones/mert.py", set(), id="backbones/mert.py"),
    ],
)
def test_editing_code_reruns_the_jobs_that_import_it(tree, finished, module, expected):
    path = tree / "src" / module
    with edited(path, append_code):
        jobs = dry_run(tree, finished)
    downstream = {("aggregate", "", ""), ("probe_report", "", ""), ("all", "", "")}
    assert jobs == (expected | downstream if expected else set()), jobs


def test_probe_settings_rerun_the_probes_only(tree, finished, tmp_path):
    """The MIR side is its own: probe settings re-run probes and their report, a probe
    task's module also its clip table."""
    jobs = dry_run(tree, finished, edited_config(tmp_path, lambda c: c["probes"].update(seeds=[0])))
    assert jobs == {("probe", b, "") for b in ("mfcc_a", "mfcc_b")} | {
        ("probe_report", "", ""),
        ("all", "", ""),
    }, jobs
    with edited(tree / "src" / "audiorec" / "probes" / "demo_tags.py", append_code):
        jobs = dry_run(tree, finished)
    assert rules_of(jobs) == {"probe_clips", "probe", "probe_report", "all"}, jobs


def test_a_touched_wrapper_reruns_nothing_an_edited_one_its_jobs(tree, finished):
    script = tree / "workflow" / "scripts" / "train.py"
    os.utime(script)
    assert dry_run(tree, finished) == set()
    with edited(script, append_code):
        jobs = dry_run(tree, finished)
    assert rules_of(jobs) == {"train", "evaluate", "aggregate", "probe_report", "all"}
    assert {(b, r) for rule, b, r in jobs if rule == "train"} == ALL_RUNS


@pytest.mark.parametrize(
    "path", ["src/audiorec/evaluation/metrics.py", "envs/core.yaml", "envs/train.yaml"]
)
def test_comments_rerun_nothing(tree, finished, path):
    with edited(tree / path, append_comment):
        assert dry_run(tree, finished) == set()


def test_bad_config_is_refused_before_any_job(tmp_path):
    cfg = yaml.safe_load(TINY.read_text())
    cfg["backbones"]["mfcc_a"]["params"]["hop"] = 256
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(cfg))
    out = snakemake(tmp_path, path)
    assert out.returncode != 0
    assert "backbones.mfcc_a.params.hop" in out.stdout + out.stderr
    assert not (tmp_path / "results").exists() and not (tmp_path / "data").exists()


ENV_OF_RULE = {
    "generate_demo": "core",
    "convert_log": "core",
    "catalogue": "core",
    "resample": "core",
    "split": "core",
    "merge_embeddings": "core",
    "aggregate": "core",
    "train": "train",
    "evaluate": "train",
    "probe_clips": "core",
    "probe": "train",
    "probe_report": "core",
}


def test_each_env_file_lists_what_its_jobs_import(finished):
    """Every job of the tiny run recorded its imports (workflow/scripts/_src.py)."""
    from tests.envs import missing

    records = sorted((finished / "imports").glob("*.txt"))
    rules = {p.name.split("-")[0] for p in records}
    assert rules == {*ENV_OF_RULE, "extract"}, rules
    for record in records:
        rule, kind = record.name.split("-")[:2]
        modules = record.read_text().split()
        env = ENV_OF_RULE.get(rule) or kind
        assert not missing(modules, REPO / "envs" / f"{env}.yaml"), (record.name, env)
        if rule == "extract":  # MFCC: no torch at all
            assert "torch" not in modules, record.name
    assert not any(
        "torch" in p.read_text().split()
        for p in records
        if p.name.startswith(
            ("resample", "split", "catalogue", "merge", "aggregate", "convert_log")
        )
    )


def test_one_fetch_job_per_checkpoint_however_many_entries_load_it(tmp_path):
    """paper + corrected: mert and mert_layers load MERT-v1-330M, musicnn and musicnn_mean
    MSD_musicnn; changing a layer re-fetches nothing."""
    from snakemake.utils import update_config

    from audiorec.config import validate_config
    from audiorec.planning import weights_jobs, weights_key

    cfg = yaml.safe_load((REPO / "presets" / "paper.yaml").read_text())
    update_config(cfg, yaml.safe_load((REPO / "presets" / "corrected.yaml").read_text()))
    cfg = validate_config(cfg)
    jobs = weights_jobs(cfg)
    b = cfg["backbones"]
    assert weights_key(b["mert"]) == weights_key(b["mert_layers"])
    assert weights_key(b["musicnn"]) == weights_key(b["musicnn_mean"])
    assert weights_key(b["musicfm"]) != weights_key(b["musicfm_msd"])  # fma vs msd files
    loading = [n for n in b if n not in ("mfcc", "mfcc_audio")]
    assert len(jobs) == len({weights_key(b[n]) for n in loading}) < len(loading)
    other = copy.deepcopy(b["mert"])
    other["params"]["layer"] = 3
    assert weights_key(other) == weights_key(b["mert"])
