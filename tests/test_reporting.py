"""Beyond-accuracy measures, popularity segments, training-size subsamples, progress lines,
and the publication tables, breakdowns and figures built from per-user results."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from audiorec.data.interactions import index_split
from audiorec.data.subsample import subsample_train
from audiorec.evaluation import beyond, segments
from audiorec.progress import Progress, duration
from audiorec.reporting import breakdowns, figures, html, summary, tables
from audiorec.splits.base import Split

# -- beyond-accuracy measures, by hand ------------------------------------------


def test_popularity_and_novelty_by_hand():
    counts = np.array([4, 2, 1, 0])  # listeners per item among 4 train users
    ranked = np.array([[0, 1], [2, 3], [1, -1]])
    out = beyond.per_user(ranked, counts, n_users=4, ks=[1, 2])
    assert out["Popularity@1"].tolist() == pytest.approx([1.0, 0.25, 0.5])
    assert out["Popularity@2"].tolist() == pytest.approx([0.75, 0.125, 0.5])  # -1: end of list
    assert out["Novelty@1"].tolist() == pytest.approx([0.0, 2.0, 1.0])  # log2(4 / listeners)
    # item 3 nobody heard: left out of novelty, not infinite
    assert out["Novelty@2"].tolist() == pytest.approx([0.5, 2.0, 1.0])


def test_coverage_and_gini_by_hand():
    ranked = np.array([[0, 1], [0, 2], [0, 1]])
    out = beyond.catalogue(ranked, n_candidates=4, ks=[1, 2], n_items=4)
    assert out["Coverage@1"] == pytest.approx(0.25)
    assert out["Coverage@2"] == pytest.approx(0.75)
    # @1: counts (0, 0, 0, 3) -> the most unequal spread over 4 items: (n - 1) / n
    assert out["Gini@1"] == pytest.approx(0.75)
    # @2: counts sorted (0, 1, 2, 3): sum((2i - n - 1) x_i) / (n sum x) = 10 / 24
    assert out["Gini@2"] == pytest.approx(10 / 24)


def test_gini_of_equal_counts_is_zero():
    assert beyond.gini(np.array([5, 5, 5])) == 0.0
    assert beyond.gini(np.array([])) == 0.0


# -- popularity segments ---------------------------------------------------------


def test_segments_split_items_by_listener_rank():
    counts = np.array([10, 0, 5, 1, 7, 2, 3, 4, 9, 8, 6])  # item 1 unheard
    seg = segments.popularity_segments(counts, head=0.2, tail=0.5)
    heard = np.flatnonzero(counts)
    assert sorted(np.flatnonzero(seg == 0)) == [0, 8]  # the 2 most heard of 10
    assert sorted(np.flatnonzero(seg == 1)) == [4, 9, 10]
    assert seg[1] == 2 and (seg[heard] == 2).sum() == 5


def test_segment_metrics_count_only_that_segments_items():
    # item segments: 0 head, 1 mid, 2 tail; user 0 holds out items 0 (head) and 2 (tail)
    seg = np.array([0, 1, 2, 2])
    relevant = sp.csr_matrix(np.array([[1, 0, 1, 0], [0, 1, 0, 0]], np.float32))
    ranked = np.array([[2, 1], [0, 3]])
    hits = np.array([[True, False], [False, False]])
    out = segments.by_segment(ranked, hits, np.array([0, 1]), relevant, np.zeros(2, int), seg, [2])
    assert out["tail:HitRate@2"][0] == 1.0 and out["head:HitRate@2"][0] == 0.0
    assert np.isnan(out["mid:HitRate@2"][0])  # user 0 holds out no mid item
    assert out["mid:HitRate@2"][1] == 0.0 and np.isnan(out["tail:Recall@2"][1])


# -- training-size subsamples ----------------------------------------------------


def _split(n_users=5, per_user=8):
    rows = [
        {
            "user_id": f"u{u}",
            "track_id": f"t{(u + i) % 12}",
            "timestamp": pd.Timestamp(2020, 1, 1 + i),
        }
        for u in range(n_users)
        for i in range(per_user)
    ]
    train = pd.DataFrame(rows)
    held = pd.DataFrame(
        {"user_id": ["u0"], "track_id": ["t3"], "timestamp": [pd.Timestamp(2020, 3, 1)]}
    )
    return index_split(Split(train, held.iloc[0:0], held))


def test_subsample_keeps_a_share_of_every_user_and_the_catalogue():
    data = _split()
    part = subsample_train(data, 0.25, seed=3)
    kept = part.frames["train"].groupby("uidx").size()
    assert kept.tolist() == [2] * 5  # ceil(0.25 x 8) each
    assert part.items.equals(data.items) and part.n_users == data.n_users
    again = subsample_train(data, 0.25, seed=3)
    assert part.frames["train"].equals(again.frames["train"])
    other = subsample_train(data, 0.25, seed=4)
    assert not part.frames["train"].equals(other.frames["train"])
    assert subsample_train(data, 0.01, seed=0).frames["train"].groupby("uidx").size().min() == 1
    assert part.frames["test"] is data.frames["test"]


def test_subsample_refuses_a_share_outside_0_1():
    with pytest.raises(ValueError, match="share"):
        subsample_train(_split(), 0, seed=0)


# -- progress lines --------------------------------------------------------------


def test_progress_logs_throughput_and_eta_once_per_interval(caplog):
    now = [0.0]
    p = Progress(100, "embed", "tracks", every=10, clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="audiorec.progress"):
        for _ in range(50):
            now[0] += 0.5
            p.advance()
        p.finish()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3  # at 10 s and 20 s, then the closing line
    assert lines[0] == "embed: 20/100 tracks (20%), 2.00 tracks/s, ETA 40 s"
    assert lines[-1] == "embed: 50 tracks in 25 s (2.00 tracks/s)"
    assert duration(3725) == "1 h 02 min" and duration(65) == "1 min 05 s"


# -- tables, breakdowns and figures from per-user results --------------------------


@pytest.fixture
def long(rng):
    """Per-user results of four runs: content KNN on two backbones, the random
    baseline, and a trained model with its own baseline; hot and cold blocks."""
    frames = []
    users = [f"u{i}" for i in range(60)]
    train_items = rng.integers(1, 80, len(users))
    level = {
        ("a", "knn", "frozen"): 0.6,
        ("b", "knn", "frozen"): 0.3,
        ("none", "random", "none"): 0.1,
    }
    for (b, r, v), p in level.items():
        for block in ("hot", "cold"):
            for seed in (0, 1):
                hit = (rng.random(len(users)) < p).astype(float)
                frames.append(
                    pd.DataFrame(
                        {
                            "user_id": users,
                            "train_items": train_items,
                            "HitRate@10": hit,
                            "Recall@10": hit * 0.5,
                            "NDCG@10": hit * 0.3,
                            "MRR@10": hit * 0.2,
                            "head:HitRate@10": hit,
                            "tail:HitRate@10": hit * (rng.random(len(users)) < 0.5),
                            "backbone": b,
                            "recommender": r,
                            "variant": v,
                            "seed": seed,
                            "block": block,
                            "sweep": None,
                        }
                    )
                )
    return pd.concat(frames, ignore_index=True)


@pytest.fixture
def result(long):
    return summary.build(long, baseline="none/random/none", overrides={})


REPORTED = {"source": "A & B 2024", "metric": "HitRate@10", "values": {"a/knn/frozen": 0.5}}


def test_latex_table_is_booktabs_with_bold_best_and_arrows(result):
    text = tables.summary_latex(result, 0.05, 0.95, "Results_1 & co", reported=REPORTED)
    assert text.count(r"\begin{table}") == 2  # hot and cold
    assert r"\toprule" in text and r"\bottomrule" in text and r"\midrule" in text
    assert r"Results\_1 \& co" in text  # escaped
    row = next(line for line in text.splitlines() if line.startswith("a & knn"))
    assert r"\textbf{" in row and r"$^{\uparrow}$" in row and "0.500" in row
    other = next(line for line in text.splitlines() if line.startswith("b & knn"))
    assert r"\textbf{" not in other
    random_row = next(line for line in text.splitlines() if line.startswith("none & random"))
    assert r"\textbf{" not in random_row  # alone in its recommender: nothing to be best among
    assert "HitRate@10 (reported)" in text and "not tested" in text


def test_wide_table_has_backbones_as_rows_and_reported_beside(result):
    hot = summary.block_rows(result, "hot").summary
    wide = tables.wide(hot, "HitRate@10", REPORTED)
    assert list(wide.index) == ["a", "b", "none"]
    assert list(wide.columns) == ["knn (frozen)", "knn (frozen) reported", "random (none)"]
    assert wide.loc["a", "knn (frozen) reported"] == 0.5
    assert np.isnan(wide.loc["b", "knn (frozen) reported"])
    md = tables.wide_markdown(wide, "HitRate@10", "Hot test")
    assert "| no content |" in md and "0.500" in md
    tex = tables.wide_latex(wide, "HitRate@10", "Hot", "hot")
    assert r"\textbf{" in tex and r"knn (frozen) reported" in tex


def test_reported_values_never_enter_the_tests(result):
    assert not any("reported" in m for m in result.tests["metric"])
    md = summary.markdown(result, 0.05, 0.95, "R", reported=REPORTED)
    assert "HitRate@10 reported" in md and "never tested" in md


def test_reported_values_sit_only_beside_the_block_they_were_published_for(result):
    shown = summary.with_reported(result.summary, REPORTED).set_index(["run", "block"])
    assert shown.loc[("a/knn/frozen", "hot"), "HitRate@10 reported"] == 0.5
    assert np.isnan(shown.loc[("a/knn/frozen", "cold"), "HitRate@10 reported"])
    cold = summary.block_rows(result, "cold")
    assert (
        "reported"
        not in summary.markdown(cold, 0.05, 0.95, "R", reported=REPORTED)
        .split("## Paired tests")[0]
        .split("| backbone")[1]
        .split("\n")[0]
    )


def test_a_model_that_cannot_score_cold_items_is_shown_so(long):
    """Popularity gives every cold item the same score: no figures, no test in the cold block."""
    pop = long[(long["recommender"] == "random")].assign(recommender="popularity")
    pop = pop.assign(scores_cold=pop["block"] != "cold")
    both = pd.concat([long.assign(scores_cold=True), pop], ignore_index=True)
    result = summary.build(both, baseline="none/random/none", overrides={})
    rows = result.summary.set_index(["run", "block"])
    assert rows.loc[("none/popularity/none", "cold"), "note"] == summary.CANNOT_SCORE_COLD
    assert np.isnan(rows.loc[("none/popularity/none", "cold"), "HitRate@10"])
    assert rows.loc[("none/popularity/none", "hot"), "HitRate@10"] >= 0
    tested = result.tests[result.tests["run"] == "none/popularity/none"]
    assert set(tested["block"]) == {"hot"}
    md = summary.markdown(summary.block_rows(result, "cold"), 0.05, 0.95, "R")
    line = next(x for x in md.splitlines() if x.startswith("| none | popularity"))
    assert summary.CANNOT_SCORE_COLD in line and "▲" not in line and "▼" not in line
    tex = tables.summary_latex(result, 0.05, 0.95, "R")
    assert "n/a: cannot score cold items" in tex
    # against such a baseline nothing is tested in the cold block (nor marked)
    against = summary.build(
        both, baseline="none/random/none", overrides={"knn": "none/popularity/none"}
    )
    knn = against.tests[against.tests["run"].str.contains("/knn/")]
    assert set(knn["block"]) == {"hot"}


def test_which_models_can_score_cold_items():
    from audiorec import recommenders

    can = lambda kind, variant="frozen": recommenders.get(kind).scores_cold(variant, {})  # noqa: E731
    assert not can("popularity", "none") and not can("elsa", "none")
    assert not can("shallow", "random") and not can("bert4rec", "random")  # a learnt table
    assert can("knn") and can("knn", "shuffled") and can("shallow") and can("bert4rec", "finetune")
    assert can("random", "none") and can("hybrid", "random") and can("bimodal", "shuffled")


def test_untested_measures_are_reported_but_not_tested(result):
    assert set(result.tests["metric"].str.split("@").str[0]) == {"HitRate", "Recall", "NDCG"}
    assert "MRR@10" in result.summary and "MRR@10 low" in result.summary
    md = summary.markdown(result, 0.05, 0.95, "R")
    assert "Other measures (not tested)" in md


def test_breakdowns_by_activity_popularity_and_block(long, result):
    act = breakdowns.by_activity(long, ["HitRate@10"], [0.5], 0.95)
    runs = act[act["block"] == "hot"].groupby("run")
    assert runs["group"].nunique().tolist() == [2, 2, 2]  # two halves
    assert (runs["users"].sum() == 60).all()
    pop = breakdowns.by_popularity(long, ["HitRate@10"], 0.95)
    assert set(pop["group"]) == {"head", "tail"}  # no user had a mid item
    hc = breakdowns.hot_vs_cold(result.summary, "HitRate")
    assert set(hc["group"]) == {"hot", "cold"} and (hc["metric"] == "HitRate@10").all()
    assert "| run | block hot | block cold |" in breakdowns.markdown(hc, "T", "n", "block")
    md = breakdowns.markdown(act, "By user activity", "note", "users with")
    assert "users with" in md and "± " in md


def test_sweep_curve_puts_the_main_run_at_100(long):
    main = long[long["block"] == "hot"]
    sweep = main[main["recommender"] == "knn"].assign(sweep="size25")
    curve = breakdowns.sweep_curve(sweep, main, "size", ["HitRate@10"], 0.95)
    assert sorted(curve["value"].unique()) == [25, 100]
    assert set(curve["run"]) == {"a/knn/frozen", "b/knn/frozen"}  # random was not swept
    assert breakdowns.sweep_curve(sweep, main, "layer", ["HitRate@10"], 0.95).empty
    layers = pd.concat([sweep.assign(sweep="layer3"), sweep.assign(sweep="layer7")])
    curve = breakdowns.sweep_curve(layers, main, "layer", ["HitRate@10"], 0.95, {"a": 7})
    assert sorted(curve["value"].unique()) == [3, 7]  # no main-run point: its layer is its own
    md = breakdowns.markdown(curve, "By layer", "n", "layer")
    assert "| run | use_layer | layer 3 | layer 7 |" in md
    assert "| a/knn/frozen | 7 |" in md and "| b/knn/frozen | last |" in md


def test_wide_latex_fits_the_page_and_bolds_only_among_several(result):
    hot = summary.block_rows(result, "hot").summary
    many = pd.concat([hot.assign(recommender=f"model{i}") for i in range(8)], ignore_index=True)
    tex = tables.wide_latex(tables.wide(many, "HitRate@10"), "HitRate@10", "T", "hot")
    assert r"\begin{table*}" in tex and r"\resizebox{\textwidth}{!}" in tex
    one = hot[hot["backbone"] == "a"]
    tex = tables.wide_latex(tables.wide(one, "HitRate@10"), "HitRate@10", "T", "hot")
    assert r"\textbf" not in tex and r"\begin{table}" in tex


def test_figures_write_png_and_csv(tmp_path, long, result):
    figures.summary_bars(result.summary, summary.TESTED, tmp_path / "s.png")
    figures.significance_heatmap(result.summary, result.tests, tmp_path / "p.png")
    act = breakdowns.by_activity(long, ["HitRate@10"], [0.5], 0.95)
    figures.grouped(act, tmp_path / "a.png", "history", "By activity")
    for name in ("s", "p", "a"):
        assert (tmp_path / f"{name}.png").stat().st_size > 5000
        assert len(pd.read_csv(tmp_path / f"{name}.csv")) > 0
    records = [
        {
            "backbone": "a",
            "recommender": "bert4rec",
            "variant": "frozen",
            "seed": 0,
            "model": {
                "best_epoch": 1,
                "history": [
                    {"epoch": e, "train_loss": 1 / (e + 1), "val_loss": 1.2 / (e + 1)}
                    for e in range(3)
                ],
            },
        },
        {"backbone": "a", "recommender": "knn", "variant": "frozen", "seed": 0, "model": {}},
    ]
    history = figures.training_curves(records, tmp_path / "training")
    assert len(history) == 3
    assert sorted(p.name for p in (tmp_path / "training").iterdir()) == [
        "a__bert4rec__frozen.csv",
        "a__bert4rec__frozen.png",
    ]


def test_markdown_tables_become_html_pages():
    page = html.from_markdown("# T\n\nsome <text>\n\n| a | b |\n|---|---|\n| 1 | 2 |\n- x\n", "T")
    assert "<h1>T</h1>" in page and "&lt;text&gt;" in page
    assert "<th>a</th>" in page and "<td>2</td>" in page and "<li>x</li>" in page


# -- figures at the study's size ------------------------------------------------------


@pytest.fixture(scope="module")
def paper_size():
    """Per-user results shaped like the paper preset's grid: 7 backbones x 6 models, their
    content-free baselines, hot and cold blocks (the journal's layout), 40 users."""
    rng = np.random.default_rng(3)
    users = [f"u{i}" for i in range(40)]
    runs = [
        (b, r, v)
        for b in ("mfcc", "musicnn", "mert", "music2vec", "musicfm", "encodecmae", "jukebox")
        for r, v in (
            ("knn", "frozen"),
            ("knn", "shuffled"),
            ("shallow", "frozen"),
            ("shallow_code", "finetune"),
            ("bert4rec", "frozen"),
            ("bert4rec_code", "finetune"),
        )
    ] + [
        ("none", "shallow_random", "random"),
        ("none", "bert4rec_random", "random"),
        ("none", "popularity", "none"),
        ("none", "random", "none"),
    ]
    frames = []
    for b, r, v in runs:
        for block, ks in (("hot", (50,)), ("cold", (20, 50))):
            hit = (rng.random(len(users)) < rng.uniform(0.05, 0.97)).astype(float)
            cols = {
                f"{m}@{k}": hit * f
                for k in ks
                for m, f in (("HitRate", 1), ("Recall", 0.4), ("NDCG", 0.3))
            }
            frames.append(
                pd.DataFrame(
                    {
                        "user_id": users,
                        "train_items": 10,
                        **cols,
                        "backbone": b,
                        "recommender": r,
                        "variant": v,
                        "seed": 0,
                        "block": block,
                        "sweep": None,
                        "scores_cold": block == "hot" or r != "popularity",
                    }
                )
            )
    long = pd.concat(frames, ignore_index=True)
    return long, summary.build(long, baseline="none/random/none", overrides={})


def _rendered(monkeypatch, draw) -> list:
    """Draw with figures.save capturing the figure; returns its visible text boxes."""
    captured = {}
    monkeypatch.setattr(figures, "save", lambda fig, path, data: captured.setdefault("fig", fig))
    draw()
    fig = captured["fig"]
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    texts = list(fig.texts)
    for legend in fig.legends:
        texts += [*legend.get_texts(), legend.get_title()]
    for ax in fig.axes:
        texts += [ax.title, ax.xaxis.label, ax.yaxis.label, *ax.texts]
        for axis, (low, high) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
            low, high = min(low, high), max(low, high)
            pad = 1e-9 * max(1.0, abs(high - low))
            texts += [
                t.label1 for t in axis.get_major_ticks() if low - pad <= t.get_loc() <= high + pad
            ]
    texts = [t for t in texts if t.get_visible() and t.get_text().strip()]
    return fig, [(t.get_text(), t.get_window_extent(renderer)) for t in texts]


def _overlaps(boxes) -> list:
    out = []
    for i, (a, ba) in enumerate(boxes):
        for b, bb in boxes[i + 1 :]:
            if (
                ba.overlaps(bb)
                and (ba.intersection(ba, bb).width * ba.intersection(ba, bb).height) > 1
            ):
                out.append((a, b))
    return out


def test_paper_size_figures_have_no_overlapping_text_and_a_colour_per_run(paper_size, monkeypatch):
    long, result = paper_size
    runs = result.summary["run"].nunique()
    assert runs == 46
    draws = {
        "significance": lambda: figures.significance_heatmap(result.summary, result.tests, "x.png"),
        "summary": lambda: figures.summary_bars(result.summary, summary.TESTED, "x.png"),
        "hot_cold": lambda: figures.grouped(
            breakdowns.hot_vs_cold(result.summary, "HitRate").assign(block=lambda t: t["group"]),
            "x.png",
            "test block",
            "Hot vs cold",
            kind="bar",
            note="different candidate sets",
        ),
        "popularity": lambda: figures.grouped(
            breakdowns.by_popularity(
                long.assign(**{"head:HitRate@50": long["HitRate@50"]}), ["HitRate@50"], 0.95
            ),
            "x.png",
            "segment",
            "By popularity",
            kind="line",
        ),
    }
    for name, draw in draws.items():
        fig, boxes = _rendered(monkeypatch, draw)
        assert not _overlaps(boxes), (name, _overlaps(boxes)[:5])
        if name in ("hot_cold", "popularity"):
            colours = {}
            for ax in fig.axes:
                for line in ax.get_lines():
                    if line.get_label().count("/") == 2:
                        colours.setdefault(line.get_label(), set()).add(line.get_color())
                for patch in ax.patches:
                    if patch.get_label().count("/") == 2:
                        colours.setdefault(patch.get_label(), set()).add(patch.get_facecolor())
            assert all(len(c) == 1 for c in colours.values()), name  # one colour per run
            flat = [next(iter(c)) for c in colours.values()]
            assert len(set(map(str, flat))) == len(flat), name  # and no two runs share one
        import matplotlib.pyplot as plt

        plt.close(fig)


def test_intervals_are_cut_to_the_measures_range():
    err = figures.error_bars([0.98, 0.5], [0.9, 0.4], [1.06, 0.6], "HitRate@50")
    assert err[1, 0] == pytest.approx(0.02) and err[1, 1] == pytest.approx(0.1)
    assert figures.error_bars([5.0], [4.0], [6.0], "Novelty@50")[1, 0] == pytest.approx(1.0)


def test_hot_vs_cold_without_cold_values_is_empty_not_an_error(result):
    """A split without cold pairs leaves every run's cold block empty (or absent)."""
    s = result.summary
    assert not breakdowns.hot_vs_cold(s, "HitRate").empty
    assert breakdowns.hot_vs_cold(s[s["block"] == "hot"], "HitRate").empty
    blank = s.copy()
    blank.loc[blank["block"] == "cold", [c for c in s if c.startswith("HitRate@")]] = np.nan
    assert breakdowns.hot_vs_cold(blank, "HitRate").empty
