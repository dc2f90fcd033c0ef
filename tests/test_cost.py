"""The cost command: every stage of the presets priced from a measured unit."""

from __future__ import annotations

import math

import pytest
import yaml

from audiorec import cost
from audiorec.config import validate_config
from tests.conftest import REPO


def _config(*names):
    from snakemake.utils import update_config

    cfg: dict = {}
    for name in names:
        update_config(cfg, yaml.safe_load((REPO / "presets" / f"{name}.yaml").read_text()))
    return validate_config(cfg)


@pytest.mark.parametrize(
    "presets",
    [
        ("paper",),
        ("paper", "corrected"),
        ("journal",),
        ("onion",),
        ("yambda",),
        ("yambda", "yambda_500m"),
        ("yambda", "yambda_5b"),
    ],
)
def test_every_stage_of_a_preset_has_a_measured_cost(presets):
    cfg = _config(*presets)
    lines = cost.estimate(cfg)
    stages = {"data", "train", "evaluate"}
    if cfg["dataset"]["audio_dir"]:
        stages |= {"audio", "extract"}
    assert {line.stage for line in lines} == stages
    trained = {line.what for line in lines if line.stage == "train"}
    from audiorec import planning

    assert trained == {run.name for run in planning.runs(cfg)}  # every run has its unit
    for line in lines:
        assert not math.isnan(line.cpu_hours) and line.cpu_hours >= 0, line
        assert line.source and line.source != "not measured", line
    jukebox = next(line for line in lines if line.what == "jukebox") if "paper" in presets else None
    if jukebox:  # 56,512 clips at 146 s each
        assert jukebox.cpu_hours == pytest.approx(56512 * 145.9 / 3600, rel=1e-6)
        assert jukebox.gpu_basis == "CPU-derived"


def test_the_command_prints_the_table(capsys):
    assert cost.main(["--configfile", str(REPO / "presets" / "paper.yaml")]) == 0
    out = capsys.readouterr().out
    assert "| extract | 6 backbones |" in out and "CPU-derived" in out and "Per-unit costs" in out


def test_yambda_costs_grow_with_its_scale():
    """The same runs on Yambda's three scales: every per-pair, per-user and per-item cost
    grows with the scale's counts."""
    by_scale = {}
    for extra in ((), ("yambda_500m",), ("yambda_5b",)):
        lines = cost.estimate(_config("yambda", *extra))
        by_scale[extra] = {(x.stage, x.what): x.cpu_hours for x in lines}
    small, mid, large = by_scale.values()
    assert small.keys() == mid.keys() == large.keys()
    for key in small:
        if key[1].startswith("none/random") or key[1].endswith("/random/none"):
            continue  # nothing to fit
        assert small[key] < mid[key] < large[key], key
    events = cost.DATASETS["yambda/50m"]["events"]
    assert small[("data", "convert the log, split")] == pytest.approx(
        events
        / 1e6
        * cost.units()["stages"]["convert_and_split_yambda"]["seconds_per_m_events"]
        / 3600
    )


def test_gpu_measured_units_are_priced_at_their_own_catalogue_width():
    table = cost.units()
    lines = {(line.stage, line.what): line for line in cost.estimate(_config("paper"))}
    musicfm = lines[("extract", "musicfm")]
    assert musicfm.gpu_basis == "GPU-measured"
    assert musicfm.gpu_hours == pytest.approx(56512 * 0.0502 / 3600)
    jukebox = lines[("extract", "jukebox")]
    assert jukebox.gpu_basis == "CPU-derived" and jukebox.gpu_hours == jukebox.cpu_hours
    # BERT4Rec's GPU unit was timed at Onion's width: no catalogue factor on top of it
    run = next(v for (s, w), v in lines.items() if s == "train" and w == "musicnn/bert4rec/frozen")
    unit = table["recommenders"]["bert4rec"]
    epochs = run.units
    users = cost.dataset_size(_config("paper"))["train_users"]
    assert run.gpu_basis == "GPU-measured"
    assert run.gpu_hours * 3600 == pytest.approx(unit["gpu_seconds_per"] * users * epochs, rel=0.01)
