"""Bad input, as a hostile but fair user would give it: every case ends in one clear, early
message or a recorded failure, never in a silently wrong number (issue: no silent wrong results).
"""

from __future__ import annotations

import copy
import json
import logging
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml

from audiorec import backbones
from audiorec.audio.cache import write_shard
from audiorec.audio.decode import AudioError, decode
from audiorec.config import ConfigError, validate_config
from audiorec.data.log_parquet import convert
from audiorec.data.readers import DataError
from audiorec.failures import TooManyFailures
from tests.conftest import REPO

DEMO = yaml.safe_load((REPO / "config.yaml").read_text())


def _config(change) -> dict:
    cfg = copy.deepcopy(DEMO)
    change(cfg)
    return cfg


# -- a stale checkpoint is never resumed ------------------------------------------------------

TRAIN = """
import json, sys
sys.path.insert(0, {src!r})
from audiorec.stages.common import setup_job
from audiorec.stages.train import run
setup_job({log!r})
record = run({split!r}, None, {{"backbone": "none", "recommender": "b", "variant": "random", "seed": 0}},
             {{"type": "bert4rec", "params": {{"random_dim": 8, "max_epochs": 3, "patience": 3,
               "batch_size": 16, "validation": "next_item"}}, "device": "cpu"}},
             {{"model": {model!r}, "info": {info!r}}})
print(json.dumps(record["model"]["epochs"]))
"""


def _write_split(folder, keep: float):
    from tests.test_trained_models import two_style_world

    data, _, _ = two_style_world(n_users=30)
    frames = {}
    for part in ("train", "val", "test"):
        f = data.frames[part]
        frames[part] = pd.DataFrame(
            {
                "user_id": data.users[f["uidx"]].astype(str),
                "track_id": [data.items[i] if i >= 0 else "x" for i in f["iidx"]],
                "timestamp": f["timestamp"],
                "count": 1,
            }
        )
    rng = np.random.default_rng(1)
    train = frames["train"]
    frames["train"] = train[rng.random(len(train)) < keep] if keep < 1 else train
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for part, f in frames.items():
        paths[part] = str(folder / f"{part}.parquet")
        f.to_parquet(paths[part], index=False)
    return paths


def test_a_checkpoint_from_other_training_data_is_not_resumed(tmp_path):
    """Two real processes, one checkpoint path: the second has 30 % of train pairs removed."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    outputs = {"model": str(run_dir / "model.pt"), "info": str(run_dir / "train.json")}
    for name, keep in (("a", 1.0), ("b", 0.7)):
        code = TRAIN.format(
            src=str(REPO / "src"),
            log=str(tmp_path / f"{name}.log"),
            split=_write_split(tmp_path / name, keep),
            **outputs,
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr[-2000:]
    second = (tmp_path / "b.log").read_text()
    assert "was written by another run (train data differ); starting afresh" in second
    assert "resuming" not in second
    assert json.loads((run_dir / "train.json").read_text())["model"]["epochs"] == 3


# -- impossible settings are refused before any job --------------------------------------------


@pytest.mark.parametrize("value", [0, -5])
def test_max_seconds_must_be_positive(value):
    cfg = _config(lambda c: c["audio"].update(max_seconds=value))
    with pytest.raises(ConfigError, match=r"audio\.max_seconds: .* is less than or equal to .*0"):
        validate_config(cfg)


def test_a_baseline_naming_an_unconfigured_variant_is_refused():
    cfg = _config(
        lambda c: c["recommenders"]["shallow"].update(baseline="{backbone}/shallow/shuffled")
    )
    with pytest.raises(
        ConfigError, match=r"musicnn/shallow/shuffled.*not one of the configured runs"
    ):
        validate_config(cfg)


# -- errors that concern the whole job fail it once, at its start -----------------------------


def _cache(tmp_path, rate, tracks):
    write_shard(tmp_path / "c.parquet", rate, tracks)
    (tmp_path / "c.tsv").write_text("track_id\tstage\treason\n")
    return [str(tmp_path / "c.parquet")], [str(tmp_path / "c.tsv")]


def test_a_layer_that_does_not_exist_fails_the_extraction_before_any_track(tmp_path):
    from audiorec.stages.extract import run
    from tests.tiny_backbones import music2vec_folder

    cache, fails = _cache(tmp_path, 16000, [("a", np.zeros(32000, np.float32))])
    spec = {
        "type": "music2vec",
        "params": {"checkpoint": str(music2vec_folder(tmp_path / "m")), "layer": 99},
        "batch_size": 2,
        "device": "cpu",
    }
    with pytest.raises(ValueError, match="layer 99 does not exist"):
        run(cache, fails, "m2v", spec, str(tmp_path / "o.parquet"), str(tmp_path / "o.tsv"))
    assert not (tmp_path / "o.parquet").exists()


def test_an_extraction_where_every_track_failed_fails_naming_the_reason(tmp_path):
    from audiorec.stages.extract import run

    cache, fails = _cache(tmp_path, 16000, [(t, np.zeros(100, np.float32)) for t in "abc"])
    spec = {"type": "mfcc", "params": {"sample_rate": 16000}, "batch_size": 2, "device": "cpu"}
    with pytest.raises(TooManyFailures, match=r"3 of 3 tracks failed.*3 x .*statistics need 2"):
        run(cache, fails, "mfcc", spec, str(tmp_path / "o.parquet"), str(tmp_path / "o.tsv"))
    assert not (tmp_path / "o.parquet").exists()


def test_a_resample_job_where_too_many_tracks_failed_fails(tmp_path):
    from audiorec.stages.resample import run

    paths = []
    for t in "abcd":
        paths.append(tmp_path / f"{t}.mp3")
        paths[-1].write_bytes(np.random.default_rng(0).bytes(500) if t != "d" else b"")
    pd.DataFrame({"track_id": list("abcd"), "path": list(map(str, paths))}).to_parquet(
        tmp_path / "cat.parquet"
    )
    with pytest.raises(TooManyFailures, match=r"4 of 4 tracks failed.*3 x cannot decode"):
        run(
            str(tmp_path / "cat.parquet"),
            str(tmp_path / "s.parquet"),
            str(tmp_path / "s.tsv"),
            16000,
            0,
            1,
        )
    sf.write(paths[0], np.zeros(16000, np.float32), 16000, format="WAV")
    run(
        str(tmp_path / "cat.parquet"),
        str(tmp_path / "s.parquet"),
        str(tmp_path / "s.tsv"),
        16000,
        0,
        1,
    )  # 3 of 4 failed: the default share (all) lets it through, recorded
    assert len(pd.read_csv(tmp_path / "s.tsv", sep="\t")) == 3
    with pytest.raises(TooManyFailures):
        run(
            str(tmp_path / "cat.parquet"),
            str(tmp_path / "s.parquet"),
            str(tmp_path / "s.tsv"),
            16000,
            0,
            1,
            max_failed_share=0.5,
        )


def test_a_model_on_fallback_rows_only_is_refused(tmp_path):
    from audiorec.embeddings.store import write_embeddings
    from audiorec.stages.train import run

    split = _write_split(tmp_path / "s", 1.0)
    write_embeddings(tmp_path / "e.parquet", ["nobody"], np.ones((1, 4), np.float32), {})
    with pytest.raises(ValueError, match=r"none of the \d+ train items has a vector"):
        run(
            split,
            str(tmp_path / "e.parquet"),
            {"backbone": "b", "recommender": "knn", "variant": "frozen", "seed": 0},
            {"type": "knn", "params": {}, "device": "cpu"},
            {"model": str(tmp_path / "m.pt"), "info": str(tmp_path / "i.json")},
        )


def test_extraction_never_reaches_for_the_network(monkeypatch):
    import huggingface_hub

    asked = []

    def snapshot_download(repo, revision=None, allow_patterns=None, local_files_only=False):
        asked.append(local_files_only)
        raise huggingface_hub.errors.LocalEntryNotFoundError("not cached")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with pytest.raises(Exception, match="fetch_weights job"):
        backbones.get("mert")({"checkpoint": "m-a-p/MERT-v1-95M"}).ready()
    assert asked == [True]  # one look in the cache, no connection


# -- audio -------------------------------------------------------------------------------------


@pytest.mark.parametrize("content", [b"\x00garbage" * 300, b"ID3\x04\x00\x00\x00\x00\x00\x00"])
def test_undecodable_files_say_so(tmp_path, content):
    path = tmp_path / "x.mp3"
    path.write_bytes(content)
    with pytest.raises(AudioError, match="cannot decode: not in a format libsndfile reads") as err:
        decode(path, 16000)
    assert "does not exist" not in str(err.value)


def test_float_wav_beyond_full_scale_is_scaled_with_a_warning(tmp_path, caplog):
    y = np.sin(np.linspace(0, 200, 16000)).astype(np.float32) * 3.0
    sf.write(tmp_path / "loud.wav", y, 16000, subtype="FLOAT")
    with caplog.at_level(logging.WARNING):
        out = decode(tmp_path / "loud.wav", 16000)
    assert "beyond full scale; scaled down to peak 1" in caplog.text
    np.testing.assert_allclose(out, y / np.abs(y).max(), atol=1e-6)  # a sine, not a square wave


def test_a_long_file_is_read_in_blocks_and_capped(tmp_path):
    rate = 8000
    y = np.random.default_rng(0).uniform(-0.5, 0.5, rate * 700).astype(np.float32)
    sf.write(tmp_path / "long.flac", y, rate)
    out = decode(tmp_path / "long.flac", 16000, max_seconds=600)  # the schema's default cap
    assert len(out) == 600 * 16000
    import soxr

    whole = soxr.resample(y[: 600 * rate], rate, 16000, quality="HQ")
    np.testing.assert_allclose(out, whole, atol=1e-4)  # blocks give one call's samples


# -- the listening log -------------------------------------------------------------------------

HEADER = "user_id\ttrack_id\ttimestamp\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            HEADER + "u\tt\t2019-03-01T10:00:00Z\nv\tt\t2019-03-01T10:00:00+05:00\n",
            r"lines 2-3: timestamps mix time zones .*one zone, e\.g\. UTC",
        ),
        (HEADER + "u\tt\t2019-03-01 10:00:00\nv\tt\n", r"line 3: cannot read as a tab-separated"),
        (HEADER, "has no events"),
        ("", r"is empty \(0 bytes\)"),
        (HEADER + "u\tt\tyesterday\n", r"line 2: cannot parse timestamp 'yesterday'"),
    ],
)
def test_log_problems_name_the_file_and_line(tmp_path, text, message):
    path = tmp_path / "log.tsv"
    path.write_text(text)
    with pytest.raises(DataError, match=message) as err:
        convert(path, tmp_path / "log.parquet")
    assert str(path) in str(err.value)
    assert not (tmp_path / "log.parquet").exists()


# -- the code that runs is the checkout's ------------------------------------------------------


def test_jobs_import_this_checkouts_audiorec_even_behind_another_install(tmp_path):
    other = tmp_path / "other" / "audiorec"
    other.mkdir(parents=True)
    (other / "__init__.py").write_text("raise ImportError('the wrong checkout')\n")
    code = (
        f"import sys; sys.path.insert(0, {str(other.parent)!r}); "
        f"sys.path.append({str(REPO / 'src')!r}); "  # as Snakemake's preamble appends it
        f"sys.path.insert(0, {str(REPO / 'workflow' / 'scripts')!r}); "
        "import _src, audiorec; print(audiorec.__file__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(other.parent)},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().startswith(str(REPO / "src"))
