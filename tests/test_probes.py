"""MIR probe tasks, probes, metrics and the MIR-vs-recommendation report.

Every task type passes the same contract on a miniature of its dataset in the
published layout (tests/probe_miniatures.py), through the job that unpacks
and lists its clips; metrics are checked against scikit-learn and mir_eval
called directly; probes must find a planted signal and not find one in noise.
"""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from audiorec import probes
from audiorec.probes.base import KEYS, SPLITS, ProbeDataError, normalise_key
from audiorec.probes.fit import ProbeSettings, probe
from audiorec.probes.metrics import evaluate
from audiorec.stages import probe_clips
from tests import probe_miniatures

FAST = ProbeSettings(
    hidden=32, max_epochs=60, patience=8, grid={"lr": [1e-2], "weight_decay": [0.0]}
)


def _place(task: str, root):
    if task == "demo_tags":
        from audiorec.data.synthetic import generate

        generate(root, n_tracks=120, n_users=20, n_styles=6, audio=False, seed=3)
        return root
    return probe_miniatures.place(task, root)


@pytest.mark.parametrize("task", probes.available())
def test_every_task_lists_its_clips_from_its_published_layout(task, tmp_path):
    cls = probes.get(task)
    assert cls.KIND in ("multilabel", "multiclass", "key", "regression")
    root = _place(task, tmp_path / task)
    for name in cls.inputs():
        assert (root / name).exists(), f"{task}: the miniature lacks {name}"
    out = tmp_path / "clips.parquet"
    probe_clips.run(task, {"type": task}, str(root), str(out))
    clips = pd.read_parquet(out)
    assert set(clips["split"]) == set(SPLITS)
    assert clips["track_id"].is_unique
    instance = cls({}, root)
    vocabulary = instance.vocabulary(clips)
    y = instance.targets(clips, vocabulary)
    assert len(y) == len(clips) and len(vocabulary) > 1
    if cls.COLLECTION == "own":  # every listed clip's audio was unpacked where the row says
        assert all((root / p).exists() or __import__("os").path.exists(p) for p in clips["path"])
    probe_clips.run(task, {"type": task}, str(root), str(out))  # a second run unpacks nothing


def test_gtzan_keeps_a_listed_clip_without_audio_for_the_resample_job_to_record(tmp_path):
    from audiorec.stages import resample

    root = _place("gtzan", tmp_path / "gtzan")
    lines = (root / "test_filtered.txt").read_text() + "jazz/jazz.00099.wav\n"
    (root / "test_filtered.txt").write_text(lines)
    probe_clips.run("gtzan", {"type": "gtzan"}, str(root), str(tmp_path / "clips.parquet"))
    clips = pd.read_parquet(tmp_path / "clips.parquet")
    assert "jazz.00099" in set(clips["track_id"])
    resample.run(str(tmp_path / "clips.parquet"), str(tmp_path / "cache.parquet"),
                 str(tmp_path / "failures.tsv"), 16000, 0, 1)  # fmt: skip
    failures = pd.read_csv(tmp_path / "failures.tsv", sep="\t")
    assert list(failures["track_id"]) == ["jazz.00099"]


def test_bad_labels_are_refused_naming_the_file(tmp_path):
    root = _place("gtzan", tmp_path / "gtzan")
    (root / "valid_filtered.txt").write_text("blues.00001.wav\n")
    with pytest.raises(ProbeDataError, match=r"valid_filtered\.txt, line 1"):
        probe_clips.run("gtzan", {"type": "gtzan"}, str(root), str(tmp_path / "c.parquet"))
    root = _place("magnatagatune", tmp_path / "mtat")
    (root / "top50_tags.txt").write_text("guitar\nbanjo solo\n")
    with pytest.raises(ProbeDataError, match="no column 'banjo solo'"):
        probe_clips.run(
            "magnatagatune", {"type": "magnatagatune"}, str(root), str(tmp_path / "m.parquet")
        )


def test_an_unknown_tag_is_named():
    task = probes.get("demo_tags")({}, ".")
    clips = pd.DataFrame({"tags": ["drums|fast", "drums|kazoo"]})
    with pytest.raises(ProbeDataError, match="tag 'kazoo'"):
        task.targets(clips, task.vocabulary(clips))


def test_mtat_lists_are_read_without_running_code(tmp_path):
    from audiorec.probes.magnatagatune import read_list

    class Boom:
        def __reduce__(self):
            return (print, ("pwned",))

    (tmp_path / "evil.cP").write_bytes(pickle.dumps([Boom()], protocol=2))
    with pytest.raises(ProbeDataError, match="not a pickled list"):
        read_list(tmp_path / "evil.cP")


@pytest.mark.parametrize(
    "text, key",
    [
        ("C# minor", "Db minor"),
        ("f#:min", "Gb minor"),
        ("Eb major\t2", "Eb major"),
        ("B major", "B major"),
    ],
)
def test_keys_are_normalised(text, key):
    assert normalise_key(text, "x") == key


@pytest.mark.parametrize("text", ["H major", "C dorian", "-", ""])
def test_what_is_not_a_key_is_refused(text):
    with pytest.raises(ProbeDataError, match="is not a key"):
        normalise_key(text, "f.key")


def test_metrics_are_sklearns_and_mir_evals():
    import mir_eval
    from sklearn.metrics import average_precision_score, r2_score, roc_auc_score

    rng = np.random.default_rng(0)
    y = (rng.random((50, 4)) < 0.4).astype(float)
    s = rng.random((50, 4))
    got = evaluate("multilabel", y, s, list("abcd"))
    assert got["ROC-AUC"] == pytest.approx(roc_auc_score(y, s, average="macro"))
    assert got["PR-AUC"] == pytest.approx(average_precision_score(y, s, average="macro"))
    truth = np.array([0, 5, 12, 21])  # C major, F major (C a fifth above), C minor, A minor
    scores = np.eye(24)[[0, 0, 0, 0]]  # always C major
    got = evaluate("key", truth, scores, list(KEYS))
    expected = np.mean([mir_eval.key.weighted_score(KEYS[t], "C major") for t in truth])
    assert (
        got["weighted_score"] == pytest.approx(expected) == pytest.approx((1 + 0.5 + 0.2 + 0.3) / 4)
    )
    yr, pr = rng.random((30, 2)), rng.random((30, 2))
    assert evaluate("regression", yr, pr, ["a", "v"])["R2"] == pytest.approx(r2_score(yr, pr))


def _data(kind, signal: bool, n=300, d=16, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(np.float32)
    w = rng.standard_normal((d, 3))
    z = x @ w if signal else rng.standard_normal((n, 3))
    if kind == "multiclass":
        y = z.argmax(axis=1)
    elif kind == "multilabel":
        y = (z > 0).astype(np.float32)
    else:
        y = z.astype(np.float32)
    parts = np.array(["train"] * 180 + ["valid"] * 60 + ["test"] * 60)
    return {s: x[parts == s] for s in SPLITS}, {s: y[parts == s] for s in SPLITS}


@pytest.mark.parametrize(
    "kind, metric, found, chance",
    [("multiclass", "accuracy", 0.8, 0.55), ("multilabel", "ROC-AUC", 0.9, 0.65),
     ("regression", "R2", 0.8, 0.1)],
)  # fmt: skip
@pytest.mark.parametrize("model", ["linear", "mlp"])
def test_probes_find_a_planted_signal_and_nothing_in_noise(kind, metric, found, chance, model):
    vocabulary = ["a", "b", "c"]
    x, y = _data(kind, True)
    assert probe(kind, model, x, y, vocabulary, 0, FAST)["test"][metric] > found
    x, y = _data(kind, False)
    assert probe(kind, model, x, y, vocabulary, 0, FAST)["test"][metric] < chance


def test_the_validation_split_chooses_the_hyperparameters():
    x, y = _data("multiclass", True)
    settings = ProbeSettings(hidden=8, max_epochs=30, patience=5,
                             grid={"lr": [1e-6, 1e-2], "weight_decay": [0.0]})  # fmt: skip
    result = probe("multiclass", "linear", x, y, ["a", "b", "c"], 0, settings)
    assert result["params"]["lr"] == 1e-2  # 1e-6 cannot learn in 30 epochs


def test_correlations_need_enough_backbones_and_follow_the_ranks():
    from audiorec.reporting.mir import correlations

    table = pd.DataFrame(
        {"tags ROC-AUC": [0.6, 0.7, 0.8, 0.9, 0.95], "knn hot": [0.1, 0.2, 0.3, 0.4, 0.5],
         "shallow hot": [0.5, 0.4, 0.3, 0.2, 0.1]},
        index=list("abcde"),
    )  # fmt: skip
    corr = correlations(table, ["tags ROC-AUC"], ["knn hot", "shallow hot"]).set_index(
        "recommendation"
    )
    assert corr.loc["knn hot", "spearman"] == pytest.approx(1.0)
    assert corr.loc["shallow hot", "kendall"] == pytest.approx(-1.0)
    few = correlations(table.iloc[:3], ["tags ROC-AUC"], ["knn hot"])
    assert few["note"].iloc[0].startswith("n/a: 3 of the 4 backbones")
    assert "spearman" not in few or few["spearman"].isna().all()


def test_the_probe_job_probes_every_layer_and_counts_clips_without_vectors(tmp_path):
    from audiorec.embeddings.store import write_embeddings
    from audiorec.stages import probe as probe_stage

    root = _place("demo_tags", tmp_path / "demo")
    probe_clips.run("demo_tags", {"type": "demo_tags"}, str(root), str(tmp_path / "clips.parquet"))
    clips = pd.read_parquet(tmp_path / "clips.parquet")
    truth = pd.read_csv(root / "synthetic_truth.tsv", sep="\t", dtype={"track_id": str})
    style = truth.set_index("track_id")["style"].reindex(clips["track_id"]).to_numpy()
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((6, 8))
    layers = np.stack([centres[style] + s * rng.standard_normal((len(style), 8))
                       for s in (3.0, 0.1)], axis=1).astype(np.float32)  # fmt: skip
    keep = np.arange(len(clips)) != 5  # one clip has no vector
    write_embeddings(tmp_path / "emb.parquet", clips["track_id"].to_numpy()[keep],
                     layers[keep, 1], {"backbone": "toy"}, layers[keep])  # fmt: skip
    out = tmp_path / "probe.tsv"
    probe_stage.run("demo_tags", {"type": "demo_tags"}, "toy", str(tmp_path / "clips.parquet"),
                    str(tmp_path / "emb.parquet"), str(out), ["linear"], [0, 1],
                    {"hidden": 16, "max_epochs": 40, "patience": 5, "batch_size": 64}, str(root))  # fmt: skip
    rows = pd.read_csv(out, sep="\t", keep_default_na=False)
    assert sorted(set(rows["layer"].astype(str))) == ["", "0", "1"]
    assert (rows["missing"] == 1).all() and len(rows) == 3 * 2
    by_layer = rows.groupby(rows["layer"].astype(str))["test ROC-AUC"].mean()
    assert by_layer["1"] > by_layer["0"] and by_layer["1"] > 0.9  # the clean layer wins


def test_the_joint_table_has_hot_and_cold_each_at_its_own_k():
    from audiorec.reporting.mir import joint_table

    probes = pd.DataFrame(
        {"backbone": ["a", "b"], "task": "tags", "metric": "ROC-AUC", "layer": "",
         "model": "linear", "mean": [0.7, 0.9]}
    )  # fmt: skip
    summary = pd.DataFrame(
        {"backbone": ["a", "b", "a", "b", "none"], "recommender": "knn",
         "variant": ["frozen"] * 4 + ["none"], "block": ["hot", "hot", "cold", "cold", "hot"],
         "HitRate@50": [0.3, 0.4, np.nan, np.nan, 0.1],
         "HitRate@20": [np.nan, np.nan, 0.5, 0.6, np.nan]}
    )  # fmt: skip
    table, tasks, recs = joint_table(probes, summary, "HitRate@50", "linear")
    assert tasks == ["tags ROC-AUC"]
    assert recs == ["knn cold (HitRate@20)", "knn hot"]
    assert table.loc["b", "knn cold (HitRate@20)"] == 0.6 and table.loc["a", "knn hot"] == 0.3


def test_the_layer_figure_puts_probe_and_recommendation_curves_on_one_axis(tmp_path):
    from audiorec.reporting.mir import layer_figure

    probes = pd.DataFrame(
        [{"task": "tags", "backbone": "mert", "layer": str(k), "model": "linear",
          "metric": "ROC-AUC", "mean": 0.6 + 0.02 * k, "low": 0.55, "high": 0.7}
         for k in range(4)]
        + [{"task": "tags", "backbone": "mert", "layer": "", "model": "linear",
            "metric": "ROC-AUC", "mean": 0.66, "low": 0.6, "high": 0.7}]
    )  # fmt: skip
    layers = pd.DataFrame(
        [{"run": "mert/knn/frozen", "block": "hot", "group": str(k), "metric": "HitRate@50",
          "mean": 0.2 + 0.01 * k, "low": 0.1, "high": 0.3} for k in range(4)]
    )  # fmt: skip
    path = tmp_path / "mir_layers.png"
    layer_figure(probes, layers, "linear", "HitRate@50", path)
    data = pd.read_csv(path.with_suffix(".csv"))
    assert path.stat().st_size > 5000
    assert data.groupby("side").size().to_dict() == {"probe": 4, "recommendation": 4}
    layer_figure(probes[probes["layer"] == ""], None, "linear", "HitRate@50", tmp_path / "no.png")
    assert (tmp_path / "no.png").exists()  # says there is no layer sweep


@pytest.mark.parametrize("task", probes.available())
def test_published_figures_name_weights_a_backbone_can_load(task):
    """Each figure's backbone type exists, its weight keys are that type's WEIGHT_PARAMS
    with values its schema accepts, and the value is on our metric's scale."""
    from audiorec import backbones
    from audiorec.schema import validate_against

    for figure in probes.get(task).REPORTED:
        cls = backbones.get(figure.backbone)
        assert {k for k, _ in figure.weights} <= set(cls.WEIGHT_PARAMS)
        validate_against(dict(figure.weights), cls.params_schema())
        assert 0 < figure.value < 1 and figure.source


def _spec(kind, **params):
    from audiorec import backbones
    from audiorec.schema import validate_against

    return {"type": kind, "params": validate_against(params, backbones.get(kind).params_schema())}


def test_published_figures_stand_only_beside_the_weights_they_were_measured_on():
    from audiorec.reporting import mir

    specs = {
        "mert": _spec("mert", checkpoint="m-a-p/MERT-v1-330M"),
        "mert95": _spec("mert", checkpoint="m-a-p/MERT-v1-95M"),
        "musicfm_fma": _spec("musicfm", variant="fma"),
        "musicfm_msd": _spec("musicfm", variant="msd"),
        "mfcc": {"type": "mfcc", "params": {}},
    }
    gtzan = probes.get("gtzan")
    assert gtzan.reported_for(specs["mert"]).value == pytest.approx(0.786)
    assert gtzan.reported_for(specs["musicfm_msd"]).value == pytest.approx(0.838)
    assert gtzan.reported_for(specs["mert95"]) is None
    assert gtzan.reported_for(specs["musicfm_fma"]) is None
    assert probes.get("emomusic").reported_for(specs["mert"]).value == pytest.approx(0.6795)

    table = pd.DataFrame({"genre accuracy": [0.7, 0.6, 0.8, 0.5, 0.4],
                          "knn hot": [0.1, 0.2, 0.3, 0.4, 0.5]}, index=list(specs))  # fmt: skip
    tasks = {"genre": {"type": "gtzan"}, "tags": {"type": "demo_tags"}}
    shown = mir.reported_column(table, tasks, specs)
    assert "tags reported" not in shown  # the demo task has no published figure
    assert shown["genre reported"].round(3).to_dict() == pytest.approx(
        {"mert": 0.786, "mert95": np.nan, "musicfm_fma": np.nan, "musicfm_msd": 0.838,
         "mfcc": np.nan}, nan_ok=True
    )  # fmt: skip
    corr = mir.correlations(shown, ["genre accuracy"], ["knn hot"])
    assert list(corr["probe"]) == ["genre accuracy"]  # published figures are never correlated
    sources = mir.reported_sources(tasks, specs)
    assert len(sources) == 2 and any("musicfm_msd" in s and "MuQ" in s for s in sources)
    text = mir.markdown(shown, corr, pd.DataFrame(columns=[
        "task", "backbone", "layer", "model", "metric", "mean", "low", "high", "seeds",
        "n_test", "missing"]), "T", sources)  # fmt: skip
    assert "genre reported" in text and "arXiv:2501.01108" in text


def test_the_presets_backbones_meet_their_published_figures_as_the_rule_passes_them():
    """What rules/probes.smk passes (planning.weights_spec of each preset entry) finds the
    figures for the journal's MERT-v1-330M and MusicFM-MSD, and none for the paper's
    MusicFM, which loads the FMA checkpoint."""
    from pathlib import Path

    from audiorec.config import load_config
    from audiorec.planning import weights_spec

    presets = Path(__file__).resolve().parents[1] / "presets"
    gtzan = probes.get("gtzan")

    def found(preset):
        cfg = load_config(presets / preset)
        return {name: gtzan.reported_for(weights_spec(spec)) is not None
                for name, spec in cfg["backbones"].items()}  # fmt: skip

    journal, paper = found("journal.yaml"), found("paper.yaml")
    assert journal["mert"] and journal["musicfm"] and not journal["muq"]
    assert paper["mert"] and not paper["musicfm"] and not paper["musicnn"]
