import copy

import pytest
import yaml

from audiorec.config import ConfigError, load_config, validate_config
from audiorec.planning import parse_sweep, runs, sample_rates, sweep_runs
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
    load_config(REPO / "presets" / "onion.yaml")
    load_config(REPO / "presets" / "journal.yaml")
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
        match=r"significance\.baseline: 'none/als/none' \(the baseline of .*\) is not one of the configured runs",
    ):
        _check(demo)


def test_templated_baseline_must_exist_for_every_row(demo):
    """{backbone}/shallow/shuffled names no run when shuffled is not a configured variant."""
    demo["recommenders"]["shallow"]["baseline"] = "{backbone}/shallow/shuffled"
    with pytest.raises(
        ConfigError,
        match=r"recommenders\.shallow\.baseline: 'musicnn/shallow/shuffled' \(the baseline of "
        r"musicnn/shallow/frozen\) is not one of the configured runs",
    ):
        _check(demo)


def test_content_free_runs_are_filed_under_none(demo):
    """A trained model's random table of its own width reads no backbone: one run, under none/."""
    demo["recommenders"]["shallow"]["params"]["random_dim"] = 32
    demo["recommenders"]["shallow"]["baseline"] = "{backbone}/shallow/random"
    cfg = _check(demo)
    shallow = {r for r in runs(cfg) if r.recommender == "shallow"}
    assert shallow == {("musicnn", "shallow", "frozen", 0), ("none", "shallow", "random", 0)}
    # the template finds the content-free baseline under none/
    from audiorec.planning import baseline_of

    names = {r.name for r in runs(cfg)}
    assert baseline_of("{backbone}/shallow/random", "musicnn/shallow/frozen", names) == (
        "none/shallow/random"
    )


def test_content_free_recommender_refuses_backbones(demo):
    demo["recommenders"]["popularity"]["backbones"] = ["mfcc"]
    with pytest.raises(ConfigError, match=r"recommenders\.popularity\.backbones: .*uses no audio"):
        _check(demo)


def test_unknown_ties_rule_names_its_key(demo):
    demo["split"]["ties"] = "row"
    with pytest.raises(ConfigError, match=r"split\.ties: 'row' is not one of \['item', 'file'\]"):
        _check(demo)


def test_dates_must_be_ordered(demo):
    demo["split"].update(method="global_time", start_date="2020-01-01")
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


def test_training_size_sweep_adds_runs_per_percent(demo):
    demo["sweeps"] = {"training_size": {"percents": [25, 50, 100], "recommenders": ["knn"]}}
    cfg = _check(demo)
    extra = sweep_runs(cfg)
    knn = [r for r in runs(cfg) if r.recommender == "knn"]
    assert len(extra) == 2 * len(knn)  # 100 % is the main run
    assert {s for s, _ in extra} == {"size25", "size50"}
    assert parse_sweep("size25") == ("size", 25) and parse_sweep("layer12") == ("layer", 12)


def test_layer_sweep_needs_every_layer_stored(demo):
    demo["sweeps"] = {"layers": {"backbones": {"musicnn": [0, 1]}}}
    with pytest.raises(ConfigError, match=r"sweeps\.layers\.backbones\.musicnn: .*layer: all"):
        _check(demo)
    demo["sweeps"] = {"layers": {"backbones": {"nope": [0]}}}
    with pytest.raises(ConfigError, match="no backbone 'nope'"):
        _check(demo)
    demo["backbones"]["tiny"] = {"type": "mert", "params": {"layer": "all"}}
    demo["sweeps"] = {"layers": {"backbones": {"tiny": [0, 2]}, "recommenders": ["knn"]}}
    extra = sweep_runs(_check(demo))
    assert {(s, r.backbone, r.recommender) for s, r in extra} == {
        ("layer0", "tiny", "knn"),
        ("layer2", "tiny", "knn"),
    }


def test_swept_recommenders_must_exist(demo):
    demo["sweeps"] = {"training_size": {"percents": [50], "recommenders": ["knnn"]}}
    with pytest.raises(ConfigError, match=r"sweeps\.training_size\.recommenders: 'knnn'"):
        _check(demo)


def test_reported_values_must_name_runs_and_a_computed_metric(demo):
    demo["report"] = {
        "reported": {"source": "x", "metric": "HitRate@50", "values": {"musicnn/knn/frozn": 0.1}}
    }
    with pytest.raises(ConfigError, match="musicnn/knn/frozn is not a configured run"):
        _check(demo)
    demo["report"]["reported"].update(metric="HitRate@20", values={"musicnn/knn/frozen": 0.1})
    with pytest.raises(ConfigError, match="HitRate@20 is not computed"):
        _check(demo)
    paper = load_config(REPO / "presets" / "paper.yaml")
    assert paper["report"]["reported"]["values"]["musicnn/bert4rec/frozen"] == 0.385


def test_bad_yaml_file(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("dataset: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(p)


def test_checking_a_config_imports_no_heavy_library():
    """Planning runs in every cluster job and on the login node: no torch, librosa or transformers."""
    import subprocess
    import sys

    code = f"""
import sys, yaml
sys.path.insert(0, {str(REPO / "src")!r})
from snakemake.utils import update_config
from audiorec.config import validate_config
from audiorec.planning import parse_sweep, runs, sample_rates, sweep_runs
cfg = yaml.safe_load(open({str(REPO / "presets" / "paper.yaml")!r}))
update_config(cfg, yaml.safe_load(open({str(REPO / "presets" / "corrected.yaml")!r})))
validate_config(cfg)
assert runs(cfg) and sample_rates(cfg)
heavy = sorted(m for m in ("torch", "librosa", "transformers", "scipy.stats") if m in sys.modules)
print(",".join(heavy))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"imported while checking a config: {out.stdout}"
