"""Job: every per-user file -> result tables, paired tests, breakdowns and figures.

``outputs`` names the files to write (see rules/aggregate.smk); the optional
ones (hot vs cold, training-size and layer curves) are written when the
workflow asks for them, which it does when the split or the sweeps have them.
"""

from __future__ import annotations

import json
import logging

import pandas as pd

from audiorec.reporting import breakdowns, figures, html, summary, tables

log = logging.getLogger(__name__)


def _write(path: str, text: str) -> None:
    with open(path, "w") as fh:
        fh.write(text)


def _write_markdown(outputs: dict, key: str, text: str, title: str) -> None:
    """The Markdown file ``outputs[key]`` and, where asked for, its HTML page (the
    output named ``key`` with ``markdown`` replaced by ``html``)."""
    _write(outputs[key], text)
    page = key.replace("markdown", "html")
    if page in outputs:
        _write(outputs[page], html.from_markdown(text, title))


def run(
    per_user_paths: list[str],
    significance: dict,
    baselines: dict[str, str | None],
    outputs: dict,
    title: str = "Results",
    report: dict | None = None,
    sweep_paths: list[str] | None = None,
    train_records: list[str] | None = None,
    used_layers: dict | None = None,
) -> summary.Tables:
    report = report or {"metric": "HitRate", "activity_quantiles": [0.25, 0.5, 0.75]}
    tested = tuple(significance.get("metrics", summary.TESTED))
    confidence, alpha = significance["confidence"], significance["alpha"]
    reported = report.get("reported")
    long = summary.read_per_user(per_user_paths)
    result = summary.build(
        long,
        baseline=significance["baseline"],
        overrides=baselines,
        confidence=confidence,
        alpha=alpha,
        tested=tested,
        catalogue=summary.read_catalogue(per_user_paths),
    )
    records = _records(train_records or [])
    result = summary.Tables(summary.with_item_change(result.summary, records), result.tests)
    s = summary.with_reported(result.summary, reported)
    s.to_csv(outputs["csv"], index=False)
    result.tests.to_csv(outputs["tests"], index=False)
    text = summary.markdown(result, alpha, confidence, title, tested, reported)
    if "hot_cold" in outputs and "cold" not in summary.blocks_of(result.summary):
        log.warning("no run has a cold-test value: the split has no cold pair")
        text += (
            "\n\n**No cold block**: the split has no cold pair (no user heard a cold item "
            "in the test window; see the split's stats.tsv), so every run's cold test was "
            "empty.\n"
        )
    _write_markdown(outputs, "markdown", text, title)
    _write(
        outputs["latex"], tables.summary_latex(result, alpha, confidence, title, tested, reported)
    )
    _wide_tables(result, report, title, outputs)
    figures.summary_bars(result.summary, tested, outputs["figure"])
    figures.significance_heatmap(result.summary, result.tests, outputs["significance_figure"])

    measure = report["metric"]
    focus = _focus_metrics(long, tested)
    chosen = [m for m in focus if m.startswith(f"{measure}@")]
    activity = breakdowns.by_activity(long, focus, report["activity_quantiles"], confidence)
    _breakdown(
        activity,
        outputs,
        "activity",
        "By user activity",
        "Users grouped by their number of train items, cut at the quantiles "
        f"{report['activity_quantiles']}; in brackets, the users in each group.",
        chosen,
    )
    popularity = breakdowns.by_popularity(long, focus, confidence)
    _breakdown(
        popularity,
        outputs,
        "popularity",
        "By item popularity",
        "Each user's held-out items of the head, middle and tail of the train popularity "
        "ranking counted as relevant on the same ranking; in brackets, the users with such items.",
        chosen,
    )
    if "hot_cold" in outputs:
        hc = breakdowns.hot_vs_cold(result.summary, measure)
        _breakdown(
            hc,
            outputs,
            "hot_cold",
            "Hot vs cold test",
            "Each run's hot and cold block (the cold block ranks the cold items only).",
            None,
            kind="bar",
            facet_groups=True,
        )
    history = figures.training_curves(records, outputs["training_curves"])
    history.to_csv(outputs["training_history"], index=False)

    sweeps = summary.read_per_user(sweep_paths) if sweep_paths else long.iloc[0:0]
    main = long[long["sweep"].isna()] if "sweep" in long else long
    for kind, key in (("size", "training_size"), ("layer", "layers")):
        if key not in outputs:
            continue
        curve = breakdowns.sweep_curve(sweeps, main, kind, focus, confidence, used_layers)
        _breakdown(
            curve,
            outputs,
            key,
            "By training size" if kind == "size" else "By layer",
            "Runs on a seeded share of each user's train pairs (100: the main run)."
            if kind == "size"
            else "Runs on each stored hidden layer of the backbone.",
            chosen,
        )
    log.info(
        "wrote %s (%d rows, %d comparisons)",
        outputs["markdown"],
        len(result.summary),
        len(result.tests),
    )
    return result


def _focus_metrics(long: pd.DataFrame, tested) -> list[str]:
    """The tested metrics at the largest K of each block (breakdowns stay readable)."""
    cols = summary.metric_names(long)
    out = []
    for _, g in long.groupby("block", sort=False):
        present = [c for c in cols if g[c].notna().any() and c.split("@")[0] in tested]
        kmax = max(int(c.split("@")[1]) for c in present)
        out += [c for c in present if c.endswith(f"@{kmax}") and c not in out]
    return out


AXES = {  # key: (column prefix in the Markdown table, the figure's x label)
    "activity": ("users with", "train history length"),
    "popularity": ("items in the", "popularity segment of the held-out items"),
    "hot_cold": ("block", "test block"),
    "training_size": ("% of train pairs:", "% of each user's train pairs"),
    "layers": ("layer", "hidden layer"),
}


DIFFERENT_CANDIDATES = (
    "The hot block ranks every item but the cold ones, the cold block the cold items only: "
    "each has its own axis; compare runs within a panel, not the panels."
)


def _breakdown(table, outputs, key, title, note, chosen, kind="line", facet_groups=False) -> None:
    """The table as CSV and Markdown and its figure; `facet_groups` gives each group its own
    panel and axis (groups that rank different candidate sets)."""
    prefix, xlabel = AXES[key]
    table.to_csv(outputs[key], index=False)
    _write_markdown(
        outputs, f"{key}_markdown", breakdowns.markdown(table, title, note, prefix), title
    )
    shown = table if chosen is None else table[table["metric"].isin(chosen)]
    if facet_groups:
        shown = shown.assign(block=shown["group"])
    figures.grouped(
        shown,
        outputs[f"{key}_figure"],
        xlabel,
        title,
        kind=kind,
        note=DIFFERENT_CANDIDATES if facet_groups else None,
    )


def _wide_tables(result: summary.Tables, report: dict, title: str, outputs: dict) -> None:
    md, tex = [f"# {title}: the study's layout", ""], [f"% {title}: generated by audiorec", ""]
    reported = report.get("reported")
    for block in summary.blocks_of(result.summary):
        sub = summary.block_rows(result, block).summary
        metric = tables.chosen_metric(sub, report["metric"])
        wide = tables.wide(sub, metric, reported)
        name = summary.BLOCK_TITLES.get(block, "") if block not in (None, "test") else ""
        heading = name.split(":")[0] if name else "Test"
        md.append(tables.wide_markdown(wide, metric, heading))
        tex.append(tables.wide_latex(wide, metric, f"{title}, {heading.lower()}", block))
    if reported:
        md.append(f"Reported: {reported['source']}, as published; never tested.\n")
    _write_markdown(outputs, "wide_markdown", "\n".join(md), f"{title}: the study's layout")
    _write(outputs["wide_latex"], "\n".join(tex))


def _records(paths: list[str]) -> list[dict]:
    out = []
    for p in paths:
        with open(p) as fh:
            out.append(json.load(fh))
    return out
