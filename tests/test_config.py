import copy

import pytest
import yaml

from audiorec.config import ConfigError, load_config, runs, sample_rates, validate_config
from tests.conftest import REPO


@pytest.fixture
def demo():
    with open(REPO / "config.yaml") as fh:
        return yaml.safe_load(fh)


def _check(cfg):
    return validate_config(copy.deepcopy(cfg))


def test_shipped_configs_are_valid(demo):
    cfg = _check(demo)
    assert cfg["evaluation"]["ks"] == [10, 50]
    assert cfg["backbones"]["mfcc"]["params"]["statistics"] == "mean_cov"  # default filled
    load_config(REPO / "presets" / "paper.yaml")
    from snakemake.utils import update_config

    merged = yaml.safe_load(
        (REPO / "presets" / "paper.yaml").read_text()
    )  # corrected.yaml is an overlay
    update_config(merged, yaml.safe_load((REPO / "presets" / "corrected.yaml").read_text()))
    cfg = validate_config(merged)
    assert {"musicnn_mean", "musicfm_msd", "music2vec_16k"} <= set(cfg["backbones"])


def test_unknown_key_is_named_with_its_path(demo):
    demo["backbones"]["mfcc"]["params"]["n_mfc"] = 12
    with pytest.raises(ConfigError, match=r"backbones\.mfcc\.params\.n_mfc .*allowed: .*n_mfcc"):
        _check(demo)


def test_unknown_top_level_key(demo):
    demo["evalution"] = {}
    with pytest.raises(ConfigError, match="unknown config key evalution"):
        _check(demo)


def test_wrong_type_is_named(demo):
    demo["evaluation"]["ks"] = [50, "ten"]
    with pytest.raises(ConfigError, match=r"evaluation\.ks\.1: 'ten' is not of type 'integer'"):
        _check(demo)


def test_unknown_backbone_type(demo):
    demo["backbones"]["mfcc"]["type"] = "wav2vec9"
    with pytest.raises(
        ConfigError,
        match=r"backbones\.mfcc\.type: unknown backbone type 'wav2vec9' \(available: .*mfcc",
    ):
        _check(demo)


def test_unsupported_variant(demo):
    demo["recommenders"]["knn"]["variants"] = ["finetune"]
    with pytest.raises(
        ConfigError, match=r"recommenders\.knn\.variants: finetune not supported by knn"
    ):
        _check(demo)


def test_baseline_must_be_a_configured_run(demo):
    demo["significance"] = {"baseline": "none/als/none"}
    with pytest.raises(
        ConfigError,
        match=r"significance\.baseline: 'none/als/none' is not one of the configured runs",
    ):
        _check(demo)


def test_unknown_ties_rule_names_its_key(demo):
    demo["split"]["ties"] = "row"
    with pytest.raises(ConfigError, match=r"split\.ties: 'row' is not one of \['item', 'file'\]"):
        _check(demo)


def test_dates_must_be_ordered(demo):
    demo["split"]["start_date"] = "2020-01-01"
    with pytest.raises(ConfigError, match=r"split\.start_date: must be before split\.test_date"):
        _check(demo)


def test_recommender_backbones_must_exist(demo):
    demo["recommenders"]["knn"]["backbones"] = ["mert"]
    with pytest.raises(ConfigError, match=r"recommenders\.knn\.backbones: mert not in backbones"):
        _check(demo)


def test_runs_and_rates(demo):
    cfg = _check(demo)
    assert ("mfcc", "knn", "shuffled", 0) in runs(cfg)
    assert ("none", "random", "none", 2) in runs(cfg)
    assert sample_rates(cfg) == [16000]  # the demo runs MusiCNN and MFCC on one cache


def test_bad_yaml_file(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("dataset: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(p)
