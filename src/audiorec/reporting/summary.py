"""The result table: one row per (backbone, recommender, variant).

Seeds are averaged per user first, so a row's interval and its paired tests
are over users, the unit the study's intervals were over; the spread of the
per-seed means is reported beside it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from audiorec.planning import baseline_of
from audiorec.reporting.stats import holm, paired_tests, t_interval

log = logging.getLogger(__name__)
KEYS = ["backbone", "recommender", "variant"]


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
        frames.append(df)
    if not frames:
        raise ValueError("no per-user result files to aggregate")
    return pd.concat(frames, ignore_index=True)


def metric_names(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if "@" in c]


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
) -> Tables:
    """One row per run and evaluation block (test, or hot and cold); tests within a block,
    Holm-corrected per block."""
    if "block" not in long:
        long = long.assign(block="test")
    parts = [
        _build_block(g.dropna(axis=1, how="all"), baseline, overrides, confidence, alpha)
        for _, g in long.groupby("block", sort=False)
    ]
    blocks = list(long["block"].drop_duplicates())
    summary = pd.concat(
        [t.summary.assign(block=b) for b, t in zip(blocks, parts, strict=True)], ignore_index=True
    )
    tests = pd.concat(
        [t.tests.assign(block=b) for b, t in zip(blocks, parts, strict=True)], ignore_index=True
    )
    return Tables(summary=summary, tests=tests)


def _build_block(
    long: pd.DataFrame,
    baseline: str,
    overrides: dict[str, str | None] | None,
    confidence: float,
    alpha: float,
) -> Tables:
    metrics = metric_names(long)
    users = _per_user_means(long, metrics)
    rows, tests = [], []
    for key, g in long.groupby(KEYS, sort=True):
        row = dict(zip(KEYS, key, strict=True))
        name = run_key(*key)
        per_user = users[name]
        row.update(run=name, users=len(per_user), seeds=g["seed"].nunique())
        row["items_without_vector"], row["items"] = _fallbacks(g)
        seed_means = g.groupby("seed")[metrics].mean()
        for m in metrics:
            mean, low, high = t_interval(per_user[m].to_numpy(), confidence)
            row.update({m: mean, f"{m} low": low, f"{m} high": high})
            row[f"{m} seed sd"] = (
                float(seed_means[m].std(ddof=1)) if len(seed_means) > 1 else np.nan
            )
        base = baseline_for(row, baseline, overrides or {}, users)
        row["baseline"] = base
        if base != name and base in users:
            ref = users[base]
            common = per_user.index.intersection(ref.index)
            if len(common) < len(per_user) or len(common) < len(ref):
                log.warning(
                    "%s vs %s: comparing on the %d users both ranked", name, base, len(common)
                )
            for m in metrics:
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
    for m in metrics:
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


def markdown(tables: Tables, alpha: float, confidence: float, title: str = "Results") -> str:
    """The summary and test tables, one section per evaluation block where there are several."""
    blocks = (
        list(tables.summary["block"].drop_duplicates()) if "block" in tables.summary else [None]
    )
    if len(blocks) == 1:
        return _markdown(tables, alpha, confidence, title)
    out = [f"# {title}", ""]
    for b in blocks:
        sub = Tables(
            summary=tables.summary[tables.summary["block"] == b].dropna(axis=1, how="all"),
            tests=tables.tests[tables.tests["block"] == b],
        )
        text = _markdown(sub, alpha, confidence, BLOCK_TITLES.get(b, b))
        out.append(text.replace("# ", "## ", 1).replace("\n## Paired", "\n### Paired"))
    return "\n".join(out)


def _markdown(tables: Tables, alpha: float, confidence: float, title: str) -> str:
    s = tables.summary
    metrics = [c for c in s.columns if "@" in c and " " not in c]
    header = ["backbone", "recommender", "variant", "users", "seeds", *metrics]
    rows = []
    for _, r in s.sort_values(["recommender", "backbone", "variant"]).iterrows():
        cells = [r["backbone"], r["recommender"], r["variant"], str(r["users"]), str(r["seeds"])]
        for m in metrics:
            half = (r[f"{m} high"] - r[f"{m} low"]) / 2
            p = r[f"{m} p wilcoxon holm"]
            mark = ""
            if not np.isnan(p) and p < alpha:
                mark = " ▲" if r[m] > s.loc[s["run"] == r["baseline"], m].iloc[0] else " ▼"
            cells.append(
                f"{r[m]:.4f} ± {half:.4f}{mark}" if not np.isnan(half) else f"{r[m]:.4f}{mark}"
            )
        rows.append(cells)
    out = [
        f"# {title}",
        "",
        f"Mean over users ± half-width of the {confidence:.0%} Student-t interval. "
        f"▲/▼: better/worse than the row's baseline, Wilcoxon signed-rank test over users, "
        f"Holm-corrected across the table, p < {alpha}.",
        "",
        _table(header, rows),
        "",
        *_fallback_note(s),
        "## Paired tests against the baseline",
        "",
        "Δ is the mean per-user difference (run − baseline). p-values are two-sided and Holm-corrected "
        "across every comparison in this table, separately for each test.",
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


def figure(tables: Tables, path: str, k: int | None = None) -> None:
    """Bars with the t-interval, one panel per metric, at the largest K (the first block's)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = tables.summary
    if "block" in s:
        s = s[s["block"] == s["block"].iloc[0]].dropna(axis=1, how="all")
    s = s.sort_values(["recommender", "backbone", "variant"])
    metrics = [c for c in s.columns if "@" in c and " " not in c]
    ks = sorted({int(m.split("@")[1]) for m in metrics})
    k = k or ks[-1]
    chosen = [m for m in metrics if m.endswith(f"@{k}")]
    fig, axes = plt.subplots(
        1, len(chosen), figsize=(4 + 2.2 * len(chosen), 0.5 + 0.35 * len(s)), squeeze=False
    )
    labels = s["run"].tolist()
    y = np.arange(len(s))
    for ax, m in zip(axes[0], chosen, strict=True):
        err = np.vstack([s[m] - s[f"{m} low"], s[f"{m} high"] - s[m]])
        ax.barh(y, s[m], xerr=np.nan_to_num(err), color="tab:blue", alpha=0.8, capsize=2)
        ax.set_title(m)
        ax.set_yticks(y, labels if ax is axes[0][0] else [""] * len(y), fontsize=8)
        ax.invert_yaxis()
        ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
