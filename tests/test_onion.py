"""presets/onion.yaml end to end: Music4All-Onion's log and features from a faulty local server."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from audiorec.data.synthetic import generate
from tests.conftest import REPO
from tests.http_server import FaultyServer

pytestmark = pytest.mark.slow
FILES = [
    "userid_trackid_timestamp.tsv.bz2",
    "id_mfcc_stats.tsv.bz2",
    "id_ivec256.tsv.bz2",
    "id_ivec1024.tsv.bz2",
]


@pytest.fixture(scope="module")
def record(tmp_path_factory):
    """A synthetic Onion folder served as Zenodo serves the record, with faults."""
    src = tmp_path_factory.mktemp("zenodo")
    generate(
        src,
        n_tracks=70,
        n_users=50,
        n_styles=4,
        start_date="2019-02-01",
        months=14,
        audio=False,
        log_compression="bz2",
        feature_files=("mfcc_stats", "ivec256", "ivec1024"),
        seed=5,
    )
    with FaultyServer() as server:
        listing = []
        for name in FILES:
            data = (src / name).read_bytes()
            server.files[f"/files/{name}"] = data
            listing.append(
                {"key": name, "size": len(data), "checksum": "md5:" + hashlib.md5(data).hexdigest()}
            )
        server.files["/api/records/1"] = json.dumps({"files": listing}).encode()
        server.faults["/files/userid_trackid_timestamp.tsv.bz2"] = ["drop"]
        server.faults["/files/id_ivec256.tsv.bz2"] = [
            500,
            "no-range",
        ]  # (a wrong file fails at once)
        yield server


def onion_config(tmp_path, server) -> dict:
    cfg = yaml.safe_load((REPO / "presets" / "onion.yaml").read_text())
    cfg["dataset"]["root"] = str(tmp_path / "onion")
    cfg["download"].update(url=f"{server.url}/files/{{name}}", record=f"{server.url}/api/records/1")
    for spec in cfg["recommenders"].values():  # the preset's models, small enough for CI
        spec["device"] = "cpu"
        spec["resources"] = {"threads": 1, "mem_mb": 2000}
        if "max_epochs" in spec.get("params", {}):
            spec["params"].update(max_epochs=2, patience=1)
        if spec["type"] == "shallow":
            spec["params"]["batch_size"] = 2048
        if spec["type"] == "bert4rec":  # few validation items per user in a synthetic month
            spec["params"].update(val_min_items=2, max_len=50)
    for section in ("dataset", "split", "evaluation"):
        cfg[section]["resources"] = {"threads": 1, "mem_mb": 2000}
    return cfg


def run(tmp_path, cfg, *args):
    path = tmp_path / "onion.yaml"
    path.write_text(yaml.safe_dump(cfg))
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--cores",
        "2",
    ]
    cmd += ["--directory", str(tmp_path / "work"), "--configfile", str(path), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900)


def test_onion_preset_downloads_and_runs_end_to_end(record, tmp_path):
    cfg = onion_config(tmp_path, record)
    out = run(tmp_path, cfg)
    assert out.returncode == 0, out.stderr[-4000:]
    for name in FILES:  # every file verified against the record
        assert (tmp_path / "onion" / name).read_bytes() == record.files[f"/files/{name}"]
    log = [r for r in record.requests if r[0].endswith("timestamp.tsv.bz2")]
    assert len(log) == 2 and log[1][1].startswith("bytes=")  # resumed after the drop
    summary = pd.read_csv(tmp_path / "work" / "results" / "onion" / "tables" / "summary.csv")
    runs = set(summary["run"])
    assert {
        "onion_mfcc/knn/frozen",
        "onion_ivec256/knn/frozen",
        "onion_ivec1024/bert4rec/frozen",
        "none/shallow_random/random",
        "none/popularity/none",
    } <= runs
    rows = summary.set_index("run")  # the features carry the styles the users listen by
    assert rows.loc["onion_mfcc/knn/frozen", "NDCG@50"] > rows.loc["none/random/none", "NDCG@50"]

    served = len(record.requests)
    dry = run(tmp_path, cfg, "--dry-run")
    assert "Nothing to be done" in dry.stdout + dry.stderr
    again = run(tmp_path, cfg)
    assert again.returncode == 0 and len(record.requests) == served  # a re-run downloads nothing
