"""Both sides of the study's claim on the same vectors: MIR probe scores beside recommendation scores.

The probe results (one row per task, backbone, layer, model and seed) are
summarised per task and backbone: the mean test value of the task's main
metric over seeds with its Student-t interval, for the report's probe model
(``probes.report_model``) on the backbone's own vector. They are joined to
each recommender's frozen-vector row of the results table (the report metric
at its largest K, hot and cold blocks where the split has them), one row per
backbone. Across backbones, each MIR task is then rank-correlated with each
recommendation column: Spearman's rho (interval: Fisher's z with Bonett and
Wright's variance) and Kendall's tau (Fieller's variance), which need at
least four and five backbones; with fewer the row says so. Figures published
under MARBLE's protocol for the same weights (``probes.published``) stand
beside ours, with their source.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from audiorec.reporting.stats import t_interval


def read_results(paths) -> pd.DataFrame:
    frames = [
        pd.read_csv(p, sep="\t", keep_default_na=False, na_values=[""], dtype={"layer": str})
        for p in paths
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def probe_summary(results: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Per task, backbone, layer and model: the main test metric's mean and interval over seeds."""
    rows = []
    keys = ["task", "backbone", "layer", "model"]
    results = results.assign(layer=results["layer"].fillna("").astype(str))
    for key, group in results.groupby(keys, sort=True):
        metric = group["main_metric"].iloc[0]
        mean, low, high = t_interval(group[f"test {metric}"].to_numpy(), confidence)
        rows.append(
            {
                **dict(zip(keys, key, strict=True)),
                "metric": metric,
                "mean": mean,
                "low": low,
                "high": high,
                "seeds": len(group),
                "n_test": int(group["n_test"].iloc[0]),
                "missing": int(group["missing"].iloc[0]),
            }
        )
    return pd.DataFrame(rows)


def joint_table(
    probes: pd.DataFrame, summary: pd.DataFrame, metric: str, model: str
) -> tuple[pd.DataFrame, list[str], list[str]]:
    """One row per backbone: each task's probe score (``<task> <metric>``) and each
    recommender's frozen-vector score per block (``<recommender> <block>``); and the two
    lists of columns."""
    own = probes[(probes["layer"] == "") & (probes["model"] == model)]
    table = own.pivot_table(index="backbone", columns="task", values="mean", aggfunc="first")
    metrics = own.drop_duplicates("task").set_index("task")["metric"]
    table.columns = [f"{t} {metrics[t]}" for t in table.columns]
    frozen = summary[summary["variant"] == "frozen"].copy()
    if "block" not in frozen:
        frozen["block"] = "test"
    parts = []
    for block, rows in frozen.groupby(frozen["block"].astype(str), sort=False):
        used = _block_metric(rows, metric)
        if used is None:
            continue
        label = f" {block}" if used == metric else f" {block} ({used})"
        parts.append(
            rows.assign(column=rows["recommender"] + label, value=rows[used])[
                ["backbone", "column", "value"]
            ]
        )
    long = pd.concat(parts) if parts else pd.DataFrame(columns=["backbone", "column", "value"])
    rec = long.pivot_table(index="backbone", columns="column", values="value", aggfunc="first")
    rec = rec.dropna(axis=1, how="all")
    joint = table.join(rec, how="left").sort_index()
    return joint, list(table.columns), list(rec.columns)


def _block_metric(rows: pd.DataFrame, metric: str) -> str | None:
    """`metric` where the block has it, else the same measure at the block's largest K
    (the cold block is cut at smaller Ks than the hot one)."""
    from audiorec.evaluation.metrics import family, k_of

    if metric in rows and rows[metric].notna().any():
        return metric
    same = [c for c in rows if family(c) == family(metric) and rows[c].notna().any()]
    return max(same, key=k_of) if same else None


def _fisher(r: float, n: int, variance: float, confidence: float) -> tuple[float, float]:
    from scipy import stats

    if not np.isfinite(r) or abs(r) >= 1:
        return (r, r) if np.isfinite(r) else (math.nan, math.nan)
    half = stats.norm.ppf((1 + confidence) / 2) * math.sqrt(variance)
    z = math.atanh(r)
    return math.tanh(z - half), math.tanh(z + half)


def correlations(
    table: pd.DataFrame, tasks: list[str], recs: list[str], confidence: float = 0.95
) -> pd.DataFrame:
    """Spearman and Kendall between every probe column and every recommendation column,
    over the backbones that have both."""
    from scipy import stats

    rows = []
    for task in tasks:
        for rec in recs:
            both = table[[task, rec]].dropna()
            n = len(both)
            row = {"probe": task, "recommendation": rec, "backbones": n}
            if n >= 4 and both[task].nunique() > 1 and both[rec].nunique() > 1:
                rho, p_rho = stats.spearmanr(both[task], both[rec])
                var = (1 + rho**2 / 2) / (n - 3)
                lo, hi = _fisher(rho, n, var, confidence)
                row |= {
                    "spearman": rho,
                    "spearman low": lo,
                    "spearman high": hi,
                    "spearman p": p_rho,
                }
                tau, p_tau = stats.kendalltau(both[task], both[rec])
                if n >= 5:
                    lo, hi = _fisher(tau, n, 0.437 / (n - 4), confidence)
                else:
                    lo, hi = math.nan, math.nan
                row |= {"kendall": tau, "kendall low": lo, "kendall high": hi, "kendall p": p_tau}
                row["note"] = ""
            else:
                row["note"] = f"n/a: {n} of the 4 backbones needed have both scores"
            rows.append(row)
    return pd.DataFrame(rows)


def _published(specs: dict, backbones: dict) -> dict:
    """task -> backbone -> its published figure (``ProbeTask.reported_for``) or None."""
    from audiorec import probes

    return {
        task: {b: probes.get(spec["type"]).reported_for(entry) for b, entry in backbones.items()}
        for task, spec in specs.items()
    }


def reported_column(table: pd.DataFrame, specs: dict, backbones: dict) -> pd.DataFrame:
    """``<task> reported``: the published figure (``ProbeTask.REPORTED``) for the weights
    each backbone loads (``backbones``: name -> its ``type`` and ``params``), where the
    task has one; the column is left out when no backbone of the table has one."""
    out = table.copy()
    for task, found in _published(specs, {b: backbones.get(b, {}) for b in out.index}).items():
        if any(found.values()):
            out[f"{task} reported"] = [p.value if p else math.nan for p in found.values()]
    return out


def reported_sources(specs: dict, backbones: dict) -> list[str]:
    """One line per published source the report shows, with the backbones it covers."""
    covered: dict[str, list[str]] = {}
    for found in _published(specs, backbones).values():
        for name, figure in found.items():
            if figure and name not in covered.setdefault(figure.source, []):
                covered[figure.source].append(name)
    return [f"{source}: {', '.join(names)}" for source, names in covered.items()]


def markdown(
    table: pd.DataFrame,
    corr: pd.DataFrame,
    probes: pd.DataFrame,
    title: str,
    sources: list[str] = (),
) -> str:
    def fmt(v):
        return "–" if pd.isna(v) else (f"{v:.4f}" if isinstance(v, float) else str(v))

    lines = [f"# {title}", "", "## Probe scores beside recommendation scores", ""]
    cols = ["backbone", *table.columns]
    lines += ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for backbone, row in table.iterrows():
        lines.append("| " + " | ".join([backbone, *(fmt(v) for v in row)]) + " |")
    if sources:
        lines += ["", "The `reported` columns are published figures for the same weights, under",
                  "their publishers' extraction and probe settings, not ours; they enter no",
                  "correlation. Sources:", ""]  # fmt: skip
        lines += [f"- {line}" for line in sources]
    lines += ["", "## Rank correlations across backbones", ""]
    shown = [c for c in ("probe", "recommendation", "backbones", "spearman", "spearman low",
                         "spearman high", "kendall", "kendall low", "kendall high", "note")
             if c in corr.columns]  # fmt: skip
    lines += ["| " + " | ".join(shown) + " |", "|" + "---|" * len(shown)]
    for _, row in corr.iterrows():
        lines.append("| " + " | ".join(fmt(row.get(c)) for c in shown) + " |")
    lines += ["", "## Every probe (mean over seeds, Student-t interval)", ""]
    cols = ["task", "backbone", "layer", "model", "metric", "mean", "low", "high", "seeds",
            "n_test", "missing"]  # fmt: skip
    lines += ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, row in probes.iterrows():
        lines.append("| " + " | ".join(fmt(row[c]) for c in cols) + " |")
    return "\n".join(lines) + "\n"


def _split_column(column: str) -> tuple[str, str]:
    """("knn", "cold (HitRate@20)") of the joint table's "knn cold (HitRate@20)"."""
    recommender, _, block = column.partition(" ")
    return recommender, block


def figure(table: pd.DataFrame, tasks: list[str], recs: list[str], path: str | Path) -> None:
    """A panel per probe task (columns) and evaluation block (rows: the hot and the cold
    test rank different candidates, so they get their own axes): each backbone's probe
    score (x) against each recommender's score (y), a colour per recommender, the
    backbone's name beside its point."""
    from matplotlib.ticker import MaxNLocator

    from audiorec.reporting.figures import _plt, save, style_of

    plt = _plt()
    blocks = list(dict.fromkeys(_split_column(r)[1] for r in recs)) or [""]
    models = list(dict.fromkeys(_split_column(r)[0] for r in recs))
    n, m = max(len(tasks), 1), len(blocks)
    fig, axes = plt.subplots(m, n, figsize=(4.2 * n, 3.4 * m), squeeze=False)
    styles = style_of(models)
    for row, block in enumerate(blocks):
        for ax, task in zip(axes[row], tasks, strict=False):
            for rec in [r for r in recs if _split_column(r)[1] == block]:
                both = table[[task, rec]].dropna()
                model = _split_column(rec)[0]
                s = styles[model]
                ax.scatter(both[task], both[rec], color=s["color"], marker=s["marker"], label=model)
                for backbone, (x, y) in both.iterrows():
                    ax.annotate(
                        backbone, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points"
                    )
            ax.set_xlabel(task)
            ax.set_ylabel(f"{block or 'test'} (frozen vectors)")
            ax.xaxis.set_major_locator(MaxNLocator(4))
            ax.ticklabel_format(axis="both", style="plain", useOffset=False)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    save(fig, path, table.reset_index())


def _layer_key(label: str) -> float:
    """Sort and place layers by index; "last" after every numbered layer."""
    return float(label) if str(label).lstrip("-").isdigit() else math.inf


def layer_figure(
    probes: pd.DataFrame, layers: pd.DataFrame | None, model: str, metric: str, path
) -> None:
    """The per-layer probe curve of each task (the `model` probe, mean and interval over
    seeds, a line per backbone) beside the layer sweep's recommendation curve of each
    evaluation block (`metric`, a line per run), on the same layer axis."""
    from matplotlib.ticker import MaxNLocator

    from audiorec.reporting.figures import _plt, save, say_empty, style_of

    plt = _plt()
    swept = probes[(probes["layer"] != "") & (probes["model"] == model)]
    rec = layers[layers["metric"] == metric] if layers is not None and len(layers) else None
    panels = [("probe", t) for t in swept["task"].drop_duplicates()]
    panels += [("rec", b) for b in (rec["block"].drop_duplicates() if rec is not None else [])]
    if swept.empty:
        say_empty(path, "Probes by layer: no backbone with layer: all", swept)
        return
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4), squeeze=False)
    names = sorted(set(swept["backbone"]) | (set(rec["run"]) if rec is not None else set()))
    styles = style_of(names)
    for ax, (kind, name) in zip(axes[0], panels, strict=True):
        if kind == "probe":
            part, key, label = swept[swept["task"] == name], "backbone", "layer"
            ax.set_title(f"{name}: {part['metric'].iloc[0]} ({model} probe)", fontsize=9)
        else:
            part, key, label = rec[rec["block"] == name], "run", "group"
            ax.set_title(f"{name} test: {metric}", fontsize=9)
        for who, g in part.groupby(key, sort=True):
            g = g.assign(x=g[label].map(_layer_key)).sort_values("x")
            numbered = g[np.isfinite(g["x"])]
            s = styles[who]
            ax.plot(numbered["x"], numbered["mean"], color=s["color"], marker=s["marker"],
                    label=who, markersize=4)  # fmt: skip
            bounded = kind == "rec" or part["metric"].iloc[0] != "R2"  # R² can be below 0
            low, high = (0, 1) if bounded else (None, None)
            ax.fill_between(numbered["x"], numbered["low"].clip(low, high),
                            numbered["high"].clip(low, high), color=s["color"], alpha=0.15)  # fmt: skip
        ax.set_xlabel("layer")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    out = swept.assign(side="probe")
    if rec is not None:
        out = pd.concat([out, rec.assign(side="recommendation")], ignore_index=True)
    save(fig, path, out)
