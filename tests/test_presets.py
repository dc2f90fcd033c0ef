"""Every preset runs to its report on a miniature of its data (tests/miniature.py).

Each test runs the README's command, ``snakemake --profile profiles/local
--configfile <preset>`` and then ``--report``, with the preset pointed at a
miniature Music4All-Onion folder and a local weights cache holding a tiny
random-weight checkpoint of every backbone in its published format, offline.
``paper`` and ``paper + corrected`` share one results folder, so the second
run also shows that layering a preset re-runs nothing of the first. The
journal preset needs MuQ's and MULE's own venvs: ``make test-envs`` builds
them and then runs it; elsewhere it is skipped, saying so.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests import miniature
from tests.conftest import REPO
from tests.http_server import FaultyServer

pytestmark = pytest.mark.slow

PAPER_BACKBONES = ["mfcc", "musicnn", "mert", "music2vec", "musicfm", "encodecmae", "jukebox"]


@pytest.fixture(scope="module")
def mini(tmp_path_factory):
    """(root, the generated dataset, the weights cache, the record's download settings)."""
    root = tmp_path_factory.mktemp("miniature")
    source = miniature.onion_folder(root / "onion")
    with FaultyServer() as server:
        yield root, source, miniature.weights_cache(root), miniature.record(server, source)


def snakemake(configfile: Path, workdir: Path, cache: Path, *args: str):
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile")]
    command += ["--profile", str(REPO / "profiles" / "local"), "--cores", "2"]
    command += ["--directory", str(workdir), "--configfile", str(configfile), *args]
    return subprocess.run(
        command, capture_output=True, text=True, env=miniature.snakemake_env(cache), timeout=3000
    )


def run_to_report(configfile: Path, workdir: Path, cache: Path, results: Path) -> pd.DataFrame:
    done = snakemake(configfile, workdir, cache)
    assert done.returncode == 0, done.stderr[-5000:]
    report = snakemake(configfile, workdir, cache, "--report", str(results / "report.html"))
    assert report.returncode == 0, report.stderr[-3000:]
    assert (results / "report.html").stat().st_size > 10_000
    for table in ("summary.md", "summary.csv", "summary.tex", "tests.csv"):
        assert (results / "tables" / table).exists(), table
    for figure in ("summary.png", "significance.png"):
        assert (results / "figures" / figure).stat().st_size > 1000, figure
    return pd.read_csv(results / "tables" / "summary.csv")


def planned_rules(config: Path, work: Path, cache: Path) -> dict[str, int]:
    """The dry run's job count per rule."""
    planned = snakemake(config, work, cache, "--dry-run", "--quiet", "rules")
    assert planned.returncode == 0, planned.stderr[-3000:]
    rows = [line.split() for line in planned.stdout.splitlines()]
    return {r[0]: int(r[1]) for r in rows if len(r) == 2 and r[1].isdigit()}


def test_paper_then_paper_with_corrected(mini, tmp_path):
    root, source, cache, download = mini
    data = miniature.dataset_root(source, tmp_path / "data")
    results = tmp_path / "results" / "paper"
    work = tmp_path / "work"
    paper = miniature.preset_config(["paper"], root, data, results, download)
    summary = run_to_report(paper, work, cache, results)
    for name in PAPER_BACKBONES:
        embeddings = results / "embeddings" / f"{name}.parquet"
        assert embeddings.exists(), name
        assert pd.read_parquet(embeddings).shape[0] > 100, name
    assert set(PAPER_BACKBONES) <= set(summary["backbone"])

    both = miniature.preset_config(["paper", "corrected"], root, data, results, download)
    planned = snakemake(both, work, cache, "--dry-run", "--quiet", "rules")
    assert planned.returncode == 0, planned.stderr[-3000:]
    corrected = ["mfcc_audio", "musicnn_mean", "music2vec_16k", "musicfm_msd", "mert_layers"]
    for line in planned.stdout.splitlines():  # none of the paper's own runs again
        for name in PAPER_BACKBONES:
            assert f"/{name}/" not in line, line
    summary = run_to_report(both, work, cache, results)
    assert set(corrected) <= set(summary["backbone"])


def test_onion_preset(mini, tmp_path):
    root, source, cache, download = mini
    data = miniature.dataset_root(source, tmp_path / "data", audio=False)
    results = tmp_path / "results"
    config = miniature.preset_config(["onion"], root, data, results, download)
    summary = run_to_report(config, tmp_path / "work", cache, results)
    assert {"onion_mfcc", "onion_ivec256", "onion_ivec1024"} <= set(summary["backbone"])
    assert {"ease", "ials"} <= set(summary["recommender"])
    for name in miniature.PUBLIC:  # fetched from the record and checked against it
        assert (data / name).read_bytes() == (source / name).read_bytes()
    for name in miniature.PUBLIC:  # the record's own API answer is what the files are checked by
        log = (results / "logs" / "download" / f"{name}.log").read_text()
        assert "size and MD5 verified" in log and "NOT verified" not in log, name


@pytest.mark.parametrize(
    ("scale", "files"),
    [
        ("50m", ["yambda.yaml"]),
        ("500m", ["yambda.yaml", "yambda_500m.yaml"]),
        ("5b", ["yambda.yaml", "yambda_5b.yaml"]),
    ],
    ids=["50m", "500m", "5b"],
)
def test_yambda_preset_from_an_empty_folder(tmp_path, scale, files):
    """Yambda in miniature, served as the hub serves it, under the preset's own scale
    (50M: presets/yambda.yaml; 500M and 5B: their overlays on it): the plan starts with the
    downloads, the run ends in a report with content and learnt-table rows, hot and cold
    blocks, and Yambda's published figure beside ours where it was published for that
    scale (50M only)."""
    source = miniature.yambda_folder(tmp_path / "hub", scale)
    data, results, work = tmp_path / "data", tmp_path / "results", tmp_path / "work"
    presets = [Path(name).stem for name in files]
    with FaultyServer() as server:
        download = miniature.hub(server, source, scale)
        config = miniature.preset_config(presets, tmp_path, data, results, download)
        counts = planned_rules(config, work, tmp_path)
        assert counts["record"] == 1 and counts["download_file"] == 2, counts
        summary = run_to_report(config, work, tmp_path, results)
    for name in miniature.yambda_files(scale):
        assert (data / name).read_bytes() == (source / name).read_bytes()
        log = (results / "logs" / "download" / f"{name}.log").read_text()
        assert "size and SHA-256 verified" in log, name
    runs = set(zip(summary["backbone"], summary["recommender"], summary["variant"], strict=True))
    assert {("yambda_cnn", "knn", "frozen"), ("yambda_cnn", "hybrid", "frozen")} <= runs
    assert {("none", "bert4rec_random", "random"), ("none", "ials", "none")} <= runs
    assert set(summary["block"]) == {"hot", "cold"}
    hot = summary[summary["block"] == "hot"].set_index(["backbone", "recommender", "variant"])
    assert hot["NDCG@100"].notna().all()
    table = (results / "tables" / "summary.md").read_text()
    published = "NDCG@100 reported" in table and "Ploshkin" in table
    assert published == (scale == "50m")  # the 50M figure, never beside another scale's rows
    lost = pd.read_csv(results / "embeddings" / "yambda_cnn.failures.tsv", sep="\t")
    assert len(lost) and lost["reason"].str.startswith("no vector in").all()  # 5 % have none


@pytest.mark.parametrize("scale", ["500m", "5b"])
def test_yambda_scale_overlays_plan_their_own_files_from_an_empty_folder(tmp_path, scale):
    """presets/yambda_<scale>.yaml on yambda.yaml: the plan starts with the hub listing and
    the downloads of that scale's files, and plans every study run of the 50M preset."""
    download = {"url": "http://127.0.0.1:9/{name}", "record": "http://127.0.0.1:9/tree"}
    data = tmp_path / "data"
    big = miniature.preset_config(
        ["yambda", f"yambda_{scale}"], tmp_path, data, tmp_path / "results", download
    )
    counts = planned_rules(big, tmp_path / "work", tmp_path)
    assert counts["record"] == 1 and counts["download_file"] == 2, counts
    files = snakemake(big, tmp_path / "work", tmp_path, "--dry-run", "-p").stdout
    assert f"flat/{scale}/listens.parquet" in files and "flat/50m/" not in files
    small = miniature.preset_config(["yambda"], tmp_path, data, tmp_path / "r50", download)
    base = planned_rules(small, tmp_path / "work50", tmp_path)
    assert (counts["train"], counts["evaluate"]) == (base["train"], base["evaluate"])


def test_journal_preset_with_elsa(mini, tmp_path):
    from audiorec import software

    for env in ("muq", "mule"):
        if not software.python_path(env).exists():
            pytest.skip(
                f"the journal's {env} backbone runs in .envs/{env}: make test-envs runs this"
            )
    root, source, _, download = mini
    cache = miniature.weights_cache(root, own_envs=True)
    data = miniature.dataset_root(source, tmp_path / "data")
    results = tmp_path / "results"
    config = miniature.preset_config(["journal"], root, data, results, download)
    summary = run_to_report(config, tmp_path / "work", cache, results)
    elsa = summary[summary["recommender"] == "elsa"]
    assert len(elsa) and elsa["HitRate@50"].notna().all()
    text = (results / "tables" / "summary.md").read_text()
    assert "## Cold test" in text or "**No cold block**" in text  # shown, or said why not


def test_mir_overlay_from_an_empty_folder(tmp_path):
    """presets/mir.yaml on the demo: every probe dataset in miniature, in its published
    layout, fetched from loopback (EmoMusic, shared on request, placed by hand); the plan
    starts with the downloads; the report has each task beside the recommenders."""
    import hashlib

    import yaml

    from tests import probe_miniatures

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config = miniature._merge(config, yaml.safe_load((REPO / "presets" / "mir.yaml").read_text()))
    config["results_dir"] = str(tmp_path / "results")
    config["dataset"]["root"] = str(tmp_path / "data")
    config["demo"].update(n_tracks=120, n_users=80, clip_seconds=4.0, n_styles=4)
    config["recommenders"] = {k: config["recommenders"][k] for k in ("knn", "popularity", "random")}
    config["probes"].update(seeds=[0], grid={"lr": [0.01], "weight_decay": [0.0]}, max_epochs=30)
    config["probes"]["tasks"].pop("demo_tags", None)
    with FaultyServer() as server:
        for task, spec in config["probes"]["tasks"].items():
            spec["root"] = str(tmp_path / "probes" / task)
            spec["n_shards"] = 1
            if task == "emomusic":
                probe_miniatures.place(task, Path(spec["root"]))
                continue
            for name, data in probe_miniatures.ARCHIVED[task](Path(spec["root"])).items():
                server.files[f"/{task}/{name}"] = data
                md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
                spec.setdefault("remotes", {})[name] = {
                    "url": f"{server.url}/{task}/{name}",
                    "md5": md5,
                    "size": len(data),
                }
        path = tmp_path / "mir.yaml"
        path.write_text(yaml.safe_dump(config))
        counts = planned_rules(path, tmp_path / "work", tmp_path)
        assert counts["probe_download_gtzan"] == 4 and counts["probe_download_giantsteps_key"] == 2
        assert counts["probe_download_magnatagatune"] == 8 and counts["probe"] == 4 * 2
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        run_to_report(path, tmp_path / "work", tmp_path, tmp_path / "results")
    tables = tmp_path / "results" / "tables"
    joint = pd.read_csv(tables / "mir_vs_rec.csv").set_index("backbone")
    assert set(joint.index) == {"mfcc", "musicnn"}
    for column in ("gtzan accuracy", "magnatagatune ROC-AUC", "giantsteps_key weighted_score",
                   "emomusic R2", "knn hot"):  # fmt: skip
        assert joint[column].notna().all(), column
    log = tmp_path / "results" / "logs" / "probes" / "gtzan" / "download" / "genres.tar.gz.log"
    assert "size and MD5 verified" in log.read_text()
    assert (tmp_path / "results" / "figures" / "mir_vs_rec.png").stat().st_size > 5000


def test_demo_training_size_overlay_plans_three_shares_of_its_models(tmp_path):
    """presets/demo_training_size.yaml (make demo-training-size) on config.yaml: each main
    run of KNN, the shallow net and popularity gets a 10, 25 and 50 % run."""
    import yaml

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config = miniature._merge(
        config, yaml.safe_load((REPO / "presets" / "demo_training_size.yaml").read_text())
    )
    config["results_dir"] = str(tmp_path / "results")
    config["dataset"]["root"] = str(tmp_path / "data")
    path = tmp_path / "demo_training_size.yaml"
    path.write_text(yaml.safe_dump(config))
    counts = planned_rules(path, tmp_path / "work", tmp_path)
    main = snakemake(path, tmp_path / "work", tmp_path, "--dry-run", "-p").stdout
    runs = set(
        re.findall(r"results/runs/(\w+)/(knn|shallow|popularity)/(\w+)/seed\d+/model\.pt", main)
    )
    assert runs and counts["train_sweep"] == counts["evaluate_sweep"] == 3 * len(runs), counts


def test_demo_preset(tmp_path):
    """config.yaml, the demo, with its generator's dataset shrunk."""
    import yaml

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["results_dir"] = str(tmp_path / "results")
    config["dataset"]["root"] = str(tmp_path / "data")
    config["demo"].update(n_tracks=200, n_users=120, clip_seconds=2.0, n_styles=4)
    for entry in config["recommenders"].values():
        if "max_epochs" in entry.get("params", {}):
            entry["params"]["max_epochs"] = 2
    path = tmp_path / "demo.yaml"
    path.write_text(yaml.safe_dump(config))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    summary = run_to_report(path, tmp_path / "work", tmp_path, tmp_path / "results")
    assert {"musicnn", "mfcc"} <= set(summary["backbone"])
