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


@pytest.mark.parametrize("presets", [("paper",), ("paper", "corrected"), ("journal",)])
def test_every_stage_of_a_preset_has_a_measured_cost(presets):
    lines = cost.estimate(_config(*presets))
    assert {line.stage for line in lines} == {"data", "audio", "extract", "train", "evaluate"}
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
