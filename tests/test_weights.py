"""Weights are fetched once by their own job; extraction jobs only read them, and fail early."""

from __future__ import annotations

import json

import numpy as np
import pytest

from audiorec import backbones
from audiorec.audio.cache import write_shard
from audiorec.backbones.hub import WeightsNotFound
from audiorec.stages import fetch_weights
from audiorec.stages.extract import run as extract_run
from tests.tiny_backbones import music2vec_folder


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return music2vec_folder(tmp_path_factory.mktemp("m2v"))


def test_fetch_job_writes_a_manifest_of_local_weights(tiny, tmp_path):
    out = tmp_path / "w.json"
    fetch_weights.run("m2v", {"type": "music2vec", "params": {"checkpoint": str(tiny)}}, str(out))
    files = {f["path"].rsplit("/", 1)[-1] for f in json.loads(out.read_text())["files"]}
    assert {"config.json", "pytorch_model.bin"} <= files


def test_only_the_fetch_job_may_download_from_the_hub(monkeypatch):
    import huggingface_hub

    asked = []

    def snapshot_download(repo, revision=None, allow_patterns=None, local_files_only=False):
        asked.append(local_files_only)
        raise huggingface_hub.errors.LocalEntryNotFoundError("not cached")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    bb = backbones.get("music2vec")({"checkpoint": "m-a-p/music2vec-v1"})
    with pytest.raises(WeightsNotFound, match="fetch_weights job, or `huggingface-cli download"):
        bb.ready()
    with pytest.raises(WeightsNotFound, match="the download failed"):
        backbones.get("music2vec").fetch_weights({"checkpoint": "m-a-p/music2vec-v1"})
    assert asked == [True, False]


def test_a_mistyped_local_path_is_named(tmp_path):
    wrong = tmp_path / "music2vec-v1-typo"
    with pytest.raises(WeightsNotFound, match=f"checkpoint {wrong} does not exist"):
        backbones.get("music2vec")({"checkpoint": str(wrong)}).ready()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"layer": 99}, "layer 99 does not exist"),
        ({"checkpoint": "/nowhere/music2vec"}, "checkpoint /nowhere/music2vec does not exist"),
    ],
)
def test_a_job_level_error_fails_the_extraction_before_any_track(tiny, tmp_path, params, message):
    write_shard(tmp_path / "c.parquet", 16000, [("a", np.zeros(32000, np.float32))])
    (tmp_path / "c.tsv").write_text("track_id\tstage\treason\n")
    spec = {"type": "music2vec", "params": {"checkpoint": str(tiny), **params}}
    with pytest.raises((ValueError, WeightsNotFound), match=message):
        extract_run(
            [str(tmp_path / "c.parquet")],
            [str(tmp_path / "c.tsv")],
            "m2v",
            {**spec, "batch_size": 2, "device": "cpu"},
            str(tmp_path / "o.parquet"),
            str(tmp_path / "o.tsv"),
        )
    assert not (tmp_path / "o.parquet").exists()
