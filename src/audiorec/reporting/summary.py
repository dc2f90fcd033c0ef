"""The result table: one row per (backbone, recommender, variant) and evaluation block.

Seeds are averaged per user first, so a row's interval and its paired tests
are over users, the unit the study's intervals were over; the spread of the
per-seed means is reported beside it. Only the metrics of
``significance.metrics`` are tested (Holm's correction runs over exactly
those); the other measures (MRR, Precision, the popularity and novelty of the
recommendations, catalogue coverage and Gini) are reported with intervals or
seed means but never tested.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from audiorec.evaluation.metrics import family
from audiorec.planning import baseline_of
from audiorec.reporting.stats import holm, paired_tests, t_interval

log = logging.getLogger(__name__)
KEYS = ["backbone", "recommender", "variant"]
TESTED = ("HitRate", "Recall", "NDCG")


def run_key(backbone: str, recommender: str, variant: str) -> str:
    return f"{backbone}/{recommender}/{variant}"


def read_per_user(paths) -> pd.DataFrame:
    """All per-user files in one long frame, identified by their own metadata."""
    frames = []
    for p in paths:
        meta = json.loads((pq.read_schema(p).metadata or {})[b"audiorec"])
        df = pd.read_parquet(p)
        for k in [*KEYS, "seed"]:
            df[k] = meta[k]
        df["items_without_embedding"] = meta.get("items_without_embedding", 0)
        df["n_items"] = meta.get("n_items", 0)
        df["block"] = meta.get("block", meta.get("part", "test"))
        df["scores_cold"] = meta.get("scores_cold", True)
        df["sweep"] = meta.get("sweep")
        frames.append(df)
    if not frames:
        raise ValueError("no per-user result files to aggregate")
    return pd.concat(frames, ignore_index=True)


def read_catalogue(paths) -> pd.DataFrame:
    """Coverage and Gini per (run, seed, block), from the per-user files' metadata."""
    rows = []
    for p in paths:
        meta = json.loads((pq.read_schema(p).metadata or {})[b"audiorec"])
        rows.append(
            {
                **{k: meta[k] for k in [*KEYS, "seed"]},
                "block": meta.get("block", meta.get("part", "test")),
                "sweep": meta.get("sweep"),
                **meta.get("catalogue", {}),
            }
        )
    return pd.DataFrame(rows)


CANNOT_SCORE_COLD = "n/a: cannot score cold items"


def metric_names(df: pd.DataFrame) -> list[str]:
    """Per-user measure columns, "<measure>@K" (not the per-segment ones)."""
    return [c for c in df.columns if family(c) and df[c].notna().any()]


def _fallbacks(g: pd.DataFrame) -> tuple[int, int]:
    """(items without a vector, items) of a run: the model gave those random rows or left them out."""
    if "items_without_embedding" not in g:
        return 0, 0
    return int(g["items_without_embedding"].max()), int(g["n_items"].max())


@dataclass
class Tables:
    summary: pd.DataFrame  # one row per run
    tests: pd.DataFrame  # one row per (run, metric) comparison with its baseline


def _per_user_means(long: pd.DataFrame, metrics: list[str]) -> dict[str, pd.DataFrame]:
    out = {}
    for key, g in long.groupby(KEYS, sort=False):
        out[run_key(*key)] = g.groupby("user_id", sort=True)[metrics].mean()
    return out


def baseline_for(row: dict, default: str, overrides: dict[str, str | None], names) -> str:
    template = overrides.get(row["recommender"]) or default
    return baseline_of(template, row["run"], names)


def build(
    long: pd.DataFrame,
    baseline: str,
    overrides: dict[str, str | None] | None = None,
    confidence: float = 0.95,
    alpha: float = 0.05,
    tested=TESTED,
    catalogue: pd.DataFrame | None = None,
) -> Tables:
    """One row per run and evaluation block (test, or hot and cold); tests within a block,
    Holm-corrected per block over the ``tested`` metrics at every K. ``catalogue``
    (``read_catalogue``): coverage and Gini, averaged over seeds, join the rows."""
    if "block" not in long:
        long = long.assign(block="test")
    parts = [
        _build_block(g.dropna(axis=1, how="all"), baseline, overrides, confidence, alpha, tested)
        for _, g in long.groupby("block", sort=False)
    ]
    blocks = list(long["block"].drop_duplicates())
    summary = pd.concat(
        [t.summary.assign(block=b) for b, t in zip(blocks, parts, strict=True)], ignore_index=True
    )
    tests = pd.concat(
        [t.tests.assign(block=b) for b, t in zip(blocks, parts, strict=True)], ignore_index=True
    )
    if catalogue is not None and len(catalogue):
        measures = [c for c in catalogue.columns if family(c)]
        means = catalogue.groupby([*KEYS, "block"], as_index=False)[measures].mean()
        summary = summary.merge(means, on=[*KEYS, "block"], how="left")
    return Tables(summary=summary, tests=tests)


def _build_block(
    long: pd.DataFrame,
    baseline: str,
    overrides: dict[str, str | None] | None,
    confidence: float,
    alpha: float,
    tested=TESTED,
) -> Tables:
    metrics = metric_names(long)
    compared = [m for m in metrics if family(m) in tested]
    users = _per_user_means(long, metrics)
    unable = set()  # runs whose cold scores carry no information: no figures, no tests
    if "scores_cold" in long:
        for key, g in long.groupby(KEYS, sort=True):
            if not g["scores_cold"].all():
                unable.add(run_key(*key))
    rows, tests = [], []
    for key, g in long.groupby(KEYS, sort=True):
        row = dict(zip(KEYS, key, strict=True))
        name = run_key(*key)
        per_user = users[name]
        row.update(run=name, users=len(per_user), seeds=g["seed"].nunique())
        row["items_without_vector"], row["items"] = _fallbacks(g)
        if name in unable:
            row.update({m: np.nan for m in metrics}, note=CANNOT_SCORE_COLD, baseline=None)
            rows.append(row)
            continue
        seed_means = g.groupby("seed")[metrics].mean()
        for m in metrics:
            mean, low, high = t_interval(per_user[m].to_numpy(), confidence)
            row.update({m: mean, f"{m} low": low, f"{m} high": high})
            row[f"{m} seed sd"] = (
                float(seed_means[m].std(ddof=1)) if len(seed_means) > 1 else np.nan
            )
        base = baseline_for(row, baseline, overrides or {}, users)
        row["baseline"] = base
        if base in unable:
            log.warning("%s: its baseline %s cannot score cold items; no tests", name, base)
        elif base != name and base in users:
            ref = users[base]
            common = per_user.index.intersection(ref.index)
            if len(common) < len(per_user) or len(common) < len(ref):
                log.warning(
                    "%s vs %s: comparing on the %d users both ranked", name, base, len(common)
                )
            for m in compared:
                t = paired_tests(per_user.loc[common, m].to_numpy(), ref.loc[common, m].to_numpy())
                tests.append({"run": name, "baseline": base, "metric": m, **t})
        elif base != name:
            log.warning("%s: baseline %s was not run; no tests for this row", name, base)
        rows.append(row)

    summary = pd.DataFrame(rows)
    tests = pd.DataFrame(
        tests, columns=["run", "baseline", "metric", "mean_diff", "n", "p_wilcoxon", "p_ttest"]
    )
    for test in ("wilcoxon", "ttest"):
        tests[f"p_{test}_holm"] = holm(tests[f"p_{test}"].to_numpy())
    tests["significant"] = tests["p_wilcoxon_holm"] < alpha
    for m in compared:
        sub = tests[tests["metric"] == m].set_index("run")
        summary[f"{m} p wilcoxon holm"] = summary["run"].map(sub["p_wilcoxon_holm"])
        summary[f"{m} p ttest holm"] = summary["run"].map(sub["p_ttest_holm"])
    return Tables(summary=summary, tests=tests)


def _fmt_p(p: float) -> str:
    if np.isnan(p):
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


BLOCK_TITLES = {
    "hot": "Hot test: tracks heard in train (every item but the cold ones ranked)",
    "cold": "Cold test: tracks nobody heard in train (the cold items ranked)",
}


def blocks_of(summary: pd.DataFrame) -> list:
    return list(summary["block"].drop_duplicates()) if "block" in summary else [None]


def block_rows(tables: Tables, block) -> Tables:
    """The rows and tests of one evaluation block, columns it lacks dropped."""
    if block is None:
        return tables
    return Tables(
        summary=tables.summary[tables.summary["block"] == block].dropna(axis=1, how="all"),
        tests=tables.tests[tables.tests["block"] == block],
    )


def measure_columns(summary: pd.DataFrame, families) -> list[str]:
    """The value columns "<measure>@K" of the given measures, in measure then K order."""
    cols = [c for c in summary.columns if family(c) in families]
    return sorted(cols, key=lambda c: (list(families).index(family(c)), int(c.split("@")[1])))


def direction(row: pd.Series, summary: pd.DataFrame, metric: str, alpha: float) -> int:
    """+1 / -1 when the row is significantly better / worse than its baseline, else 0."""
    p = row.get(f"{metric} p wilcoxon holm", np.nan)
    if pd.isna(p) or p >= alpha:
        return 0
    base = summary.loc[summary["run"] == row["baseline"], metric]
    if base.empty or pd.isna(base.iloc[0]):
        return 0
    return 1 if row[metric] > base.iloc[0] else -1


ITEM_CHANGE = "item table change"


def with_item_change(summary: pd.DataFrame, records: list[dict]) -> pd.DataFrame:
    """The column ITEM_CHANGE: how far training moved each run's item vectors (mean
    relative change, averaged over seeds; 0 for a frozen table), from the train records."""
    rows = [
        {**{k: r[k] for k in KEYS}, ITEM_CHANGE: r["item_table_change"]}
        for r in records
        if r.get("item_table_change") is not None
    ]
    if not rows:
        return summary
    change = pd.DataFrame(rows).groupby(KEYS, as_index=False)[ITEM_CHANGE].mean()
    return summary.merge(change, on=KEYS, how="left")


def with_reported(summary: pd.DataFrame, reported: dict | None) -> pd.DataFrame:
    """Adds the column "<metric> reported" (published values; NaN for other rows)."""
    if not reported:
        return summary
    col = f"{reported['metric']} reported"
    values = summary["run"].map(reported["values"]).astype(float)
    if "block" in summary:  # published for the test (the hot one), never for a cold block
        blocks = reported.get("blocks", ["test", "hot"])
        values = values.where(summary["block"].isin(blocks))
    return summary.assign(**{col: values})


def markdown(
    tables: Tables,
    alpha: float,
    confidence: float,
    title: str = "Results",
    tested=TESTED,
    reported: dict | None = None,
) -> str:
    """The summary and test tables, one section per evaluation block where there are several."""
    blocks = blocks_of(tables.summary)
    if len(blocks) == 1:
        return _markdown(block_rows(tables, blocks[0]), alpha, confidence, title, tested, reported)
    out = [f"# {title}", ""]
    for b in blocks:
        text = _markdown(
            block_rows(tables, b), alpha, confidence, BLOCK_TITLES.get(b, b), tested, reported
        )
        out.append(
            text.replace("# ", "## ", 1)
            .replace("\n## Paired", "\n### Paired")
            .replace("\n## Other", "\n### Other")
        )
    return "\n".join(out)


def note_of(r: pd.Series) -> str | None:
    """The row's reason for having no figures (a model that cannot score cold items)."""
    note = r.get("note")
    return note if isinstance(note, str) and note else None


def _cell(r: pd.Series, m: str, mark: str = "") -> str:
    low, high = r.get(f"{m} low", np.nan), r.get(f"{m} high", np.nan)
    if pd.isna(r[m]):
        return note_of(r) or "–"
    if pd.isna(low) or pd.isna(high):
        return f"{r[m]:.4f}{mark}"
    return f"{r[m]:.4f} ± {(high - low) / 2:.4f}{mark}"


def _markdown(tables: Tables, alpha: float, confidence: float, title: str, tested, reported) -> str:
    s = with_reported(tables.summary, reported)
    metrics = measure_columns(s, tested)
    shown = [c for c in s.columns if c.endswith(" reported") and s[c].notna().any()]
    moved = ITEM_CHANGE in s and s[ITEM_CHANGE].notna().any()
    header = ["backbone", "recommender", "variant", "users", "seeds", *metrics, *shown]
    header += ["item vectors moved"] if moved else []
    rows = []
    ordered = s.sort_values(["recommender", "backbone", "variant"])
    for _, r in ordered.iterrows():
        cells = [r["backbone"], r["recommender"], r["variant"], str(r["users"]), str(r["seeds"])]
        for i, m in enumerate(metrics):
            d = direction(r, s, m, alpha)
            cells.append("–" if i and note_of(r) else _cell(r, m, {1: " ▲", -1: " ▼", 0: ""}[d]))
        cells += ["–" if pd.isna(r[c]) else f"{r[c]:.3f}" for c in shown]
        if moved:
            cells.append("–" if pd.isna(r[ITEM_CHANGE]) else f"{100 * r[ITEM_CHANGE]:.1f} %")
        rows.append(cells)
    out = [
        f"# {title}",
        "",
        f"Mean over users ± half-width of the {confidence:.0%} Student-t interval. "
        f"▲/▼: better/worse than the row's baseline, Wilcoxon signed-rank test over users, "
        f"Holm-corrected over every comparison of this table (this evaluation block), p < {alpha}.",
    ]
    if shown:
        out.append(f"Reported: {reported['source']}, as published; beside the rows, never tested.")
    if moved:
        out.append(
            "Item vectors moved: mean over items of |after − before| / |before| of the item table "
            "that training started from (0 % for a frozen table; a fine-tuned one that stays near "
            "0 % was hardly fine-tuned)."
        )
    out += ["", _table(header, rows), "", *_fallback_note(s), *_other_measures(ordered, tested)]
    out += [
        "## Paired tests against the baseline",
        "",
        "Δ is the mean per-user difference (run − baseline). p-values are two-sided and Holm-corrected "
        "over every comparison of this evaluation block (each block is corrected on its own), "
        "separately for each test.",
        "",
    ]
    t = tables.tests
    if t.empty:
        out.append("No comparisons: no configured baseline was run.")
    else:
        trows = [
            [
                r["run"],
                r["baseline"],
                r["metric"],
                f"{r['mean_diff']:+.4f}",
                _fmt_p(r["p_wilcoxon_holm"]),
                _fmt_p(r["p_ttest_holm"]),
            ]
            for _, r in t.iterrows()
        ]
        out.append(
            _table(
                ["run", "baseline", "metric", "Δ", "p Wilcoxon (Holm)", "p t-test (Holm)"], trows
            )
        )
    return "\n".join(out) + "\n"


OTHER = ("MRR", "Precision", "Popularity", "Novelty", "Coverage", "Gini")


def _other_measures(s: pd.DataFrame, tested) -> list[str]:
    """The untested measures at the largest K: accuracy beyond the table, and how popular,
    novel and varied the recommendations are."""
    families = [f for f in OTHER if f not in tested]
    cols = measure_columns(s, families)
    if not cols:
        return []
    k = max(int(c.split("@")[1]) for c in cols)
    cols = [c for c in cols if c.endswith(f"@{k}")]
    rows = [[r["run"], *[_cell(r, c) for c in cols]] for _, r in s.iterrows()]
    return [
        "## Other measures (not tested)",
        "",
        "Popularity: mean share of train users who heard a recommended item; Novelty: mean "
        "log2(train users / listeners) of the recommended items; Coverage: share of the "
        "candidate items recommended to anyone; Gini: inequality of how often items are "
        "recommended (0 equal, 1 one item everywhere). Coverage and Gini are means over seeds.",
        "",
        _table(["run", *cols], rows),
        "",
    ]


def _fallback_note(s: pd.DataFrame) -> list[str]:
    """A line per run whose item table lacked vectors (failed extractions), else nothing."""
    if "items_without_vector" not in s or not (s["items_without_vector"] > 0).any():
        return []
    lines = [
        "Items without a vector (their audio failed; KNN never recommends them, trained "
        "models start them from random rows):",
        "",
    ]
    for _, r in s[s["items_without_vector"] > 0].sort_values("run").iterrows():
        lines.append(f"- {r['run']}: {r['items_without_vector']} of {r['items']} items")
    return [*lines, ""]
