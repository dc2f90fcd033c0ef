"""The figures, each written beside the CSV of the data it draws.

Colours are the Okabe–Ito palette (distinguishable with the common colour
vision deficiencies) and every series also differs by marker or hatch, so
the figures read in greyscale print too. Error bars are the tables'
Student-t intervals.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from audiorec.evaluation.metrics import METRICS
from audiorec.reporting.summary import BLOCK_TITLES, blocks_of, measure_columns

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
HATCHES = ["", "//", "..", "xx", "\\\\", "--", "++", "oo"]
LINESTYLES = ["-", "--", ":", "-."]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def style_of(names) -> dict[str, dict]:
    """A style per name, in sorted order: a colour no other name in the figure has."""
    names = sorted(set(names))
    return dict(zip(names, _cycle(len(names)), strict=True))


def save(fig, path: str | Path, data: pd.DataFrame) -> None:
    """The figure as PNG at ``path`` and its data as CSV beside it (same name)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150, bbox_inches="tight")
    data.to_csv(path.with_suffix(".csv"), index=False)
    _plt().close(fig)


def say_empty(path: str | Path, text: str, data: pd.DataFrame) -> None:
    """A one-line figure saying why there is nothing to draw (and its empty data)."""
    fig, ax = _plt().subplots(figsize=(5, 1.2))
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center")
    save(fig, path, data)


def _block_title(block) -> str:
    return BLOCK_TITLES.get(block, "" if block in (None, "test") else str(block)).split(":")[0]


BOUNDED = {"HitRate", "Recall", "NDCG", "MRR", "Precision", "Coverage", "Gini"}


def error_bars(mean, low, high, metric: str) -> np.ndarray:
    """(2, n) distances to the interval's ends, the interval cut to [0, 1] for measures
    that live there (a t interval of a HitRate near 1 can pass 1)."""
    mean, low, high = (np.asarray(a, float) for a in (mean, low, high))
    if metric.split("@")[0].split(":")[-1] in BOUNDED:
        low, high = np.clip(low, 0.0, 1.0), np.clip(high, 0.0, 1.0)
    return np.nan_to_num(np.vstack([mean - low, high - mean])).clip(min=0)


def summary_bars(summary: pd.DataFrame, families, path: str | Path) -> None:
    """Each tested metric at the block's largest K with its interval: one bar per run,
    coloured by backbone, grouped by recommender; a row of panels per block."""
    plt = _plt()
    blocks = blocks_of(summary)
    panels, data = [], []
    for b in blocks:
        s = summary if b is None else summary[summary["block"] == b].dropna(axis=1, how="all")
        cols = measure_columns(s, families)
        kmax = max(int(c.split("@")[1]) for c in cols)
        chosen = [c for c in cols if c.endswith(f"@{kmax}")]
        s = s.sort_values(["recommender", "variant", "backbone"])
        panels.append((b, s, chosen))
        for m in chosen:
            data.append(
                s[["backbone", "recommender", "variant", "run"]].assign(
                    block=b, metric=m, mean=s[m], low=s[f"{m} low"], high=s[f"{m} high"]
                )
            )
    n_cols = max(len(c) for _, _, c in panels)
    n_runs = max(len(s) for _, s, _ in panels)
    fig, axes = plt.subplots(
        len(panels),
        n_cols,
        figsize=(3.2 * n_cols + 2.5, 0.8 + 0.28 * n_runs * len(panels)),
        squeeze=False,
    )
    styles = style_of(summary["backbone"])
    for row, (b, s, chosen) in enumerate(panels):
        y = np.arange(len(s))
        for col in range(n_cols):
            ax = axes[row][col]
            if col >= len(chosen):
                ax.axis("off")
                continue
            m = chosen[col]
            err = error_bars(s[m], s[f"{m} low"], s[f"{m} high"], m)
            for yi, (_, r), e in zip(y, s.iterrows(), err.T, strict=True):
                st = styles[r["backbone"]]
                ax.barh(
                    yi,
                    r[m],
                    xerr=[[e[0]], [e[1]]],
                    color=st["color"],
                    hatch=st["hatch"],
                    edgecolor="black",
                    linewidth=0.4,
                    capsize=2,
                )
            ax.set_title(f"{m}" + (f" — {_block_title(b)}" if _block_title(b) else ""), fontsize=9)
            labels = [
                f"{r['recommender']}/{r['variant']} · {r['backbone']}" for _, r in s.iterrows()
            ]
            ax.set_yticks(y, labels if col == 0 else [""] * len(y), fontsize=7)
            ax.invert_yaxis()
            ax.grid(axis="x", alpha=0.3)
    handles = [
        plt.Rectangle((0, 0), 1, 1, facecolor=st["color"], hatch=st["hatch"], edgecolor="black")
        for st in styles.values()
    ]
    fig.legend(handles, list(styles), title="backbone", loc="upper left", bbox_to_anchor=(1, 1))
    fig.tight_layout()
    save(fig, path, pd.concat(data, ignore_index=True))


def significance_heatmap(summary: pd.DataFrame, tests: pd.DataFrame, path: str | Path) -> None:
    """Every tested configuration against its baseline: colour is the relative change of
    the mean (run − baseline) / baseline, the text the Holm-corrected Wilcoxon p."""
    plt = _plt()
    if tests.empty:
        say_empty(path, "no comparisons: no configured baseline was run", tests)
        return
    base_mean = []
    for _, t in tests.iterrows():
        rows = summary[(summary["run"] == t["baseline"]) & (summary["block"] == t["block"])]
        base_mean.append(rows[t["metric"]].iloc[0] if len(rows) else np.nan)
    t = tests.assign(baseline_mean=base_mean)
    with np.errstate(divide="ignore", invalid="ignore"):
        t["relative_change"] = t["mean_diff"] / t["baseline_mean"]
    blocks = list(t["block"].drop_duplicates())
    n_cols = t.groupby("block")["metric"].nunique().max()
    heights = [t.loc[t["block"] == b, "run"].nunique() for b in blocks]
    label_inches = 0.065 * max(len(r) for r in t["run"]) + 0.3
    fig, axes = plt.subplots(
        len(blocks),  # one block under another: each panel's run names sit beside it alone
        1,
        figsize=(label_inches + 0.75 * n_cols + 1.6, 0.9 * len(blocks) + 0.3 * sum(heights)),
        squeeze=False,
        gridspec_kw={"height_ratios": heights},
    )
    limit = np.nanmax(np.abs(t["relative_change"].replace([np.inf, -np.inf], np.nan))) or 1.0
    cmap = plt.get_cmap("PuOr")
    image = None
    for ax, b in zip(axes[:, 0], blocks, strict=True):
        tb = t[t["block"] == b]
        grid = tb.pivot(index="run", columns="metric", values="relative_change")
        pv = tb.pivot(index="run", columns="metric", values="p_wilcoxon_holm")
        metrics = sorted(grid.columns, key=_metric_order)
        grid, pv = grid[metrics], pv[metrics]
        values = grid.to_numpy(float)
        image = ax.imshow(values, cmap=cmap, vmin=-limit, vmax=limit, aspect="auto")
        for (i, j), p in np.ndenumerate(pv.to_numpy(float)):
            if np.isnan(p):
                continue
            stars = "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else ""
            r, g, bl, _ = cmap(0.5 + 0.5 * np.nan_to_num(values[i, j]) / limit)
            dark = 0.299 * r + 0.587 * g + 0.114 * bl < 0.5  # white text on dark cells
            ax.text(
                j,
                i,
                f"{p:.2g}{stars}",
                ha="center",
                va="center",
                fontsize=6,
                color="white" if dark else "black",
            )
        ax.set_xticks(range(len(metrics)), metrics, rotation=45, ha="right", fontsize=7)
        ax.set_yticks(range(len(grid)), grid.index, fontsize=7)
        ax.set_title(_block_title(b) or "test", fontsize=9)
    fig.tight_layout()
    cbar = fig.colorbar(image, ax=axes[:, 0].tolist(), shrink=0.8, pad=0.02)
    cbar.set_label("(run − baseline) / baseline")
    save(fig, path, t)


def _metric_order(column: str) -> tuple[int, int]:
    name, _, k = column.partition("@")
    return (METRICS.index(name) if name in METRICS else len(METRICS), int(k))


def training_curves(records: list[dict], folder: str | Path) -> pd.DataFrame:
    """A figure per trained run (training and validation loss per epoch, one line per seed,
    best epoch marked) in ``folder``; returns every epoch of every run as one frame."""
    plt = _plt()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for r in records:
        for h in (r.get("model") or {}).get("history") or []:
            rows.append(
                {
                    "backbone": r["backbone"],
                    "recommender": r["recommender"],
                    "variant": r["variant"],
                    "seed": r["seed"],
                    "best_epoch": r["model"].get("best_epoch"),
                    **h,
                }
            )
    history = pd.DataFrame(rows)
    if history.empty:
        return history
    history["run"] = history["backbone"] + "/" + history["recommender"] + "/" + history["variant"]
    for run, g in history.groupby("run", sort=True):
        fig, ax = plt.subplots(figsize=(5, 3.2))
        for i, (_seed, gs) in enumerate(g.groupby("seed")):
            style = LINESTYLES[i % len(LINESTYLES)]
            ax.plot(gs["epoch"], gs["train_loss"], style, color=OKABE_ITO[0], marker="o", ms=3)
            ax.plot(gs["epoch"], gs["val_loss"], style, color=OKABE_ITO[1], marker="s", ms=3)
            best = gs["best_epoch"].iloc[0]
            if best is not None and best >= 0:
                ax.axvline(best, color="grey", linestyle=style, linewidth=0.8)
        ax.plot([], [], color=OKABE_ITO[0], marker="o", label="train loss")
        ax.plot([], [], color=OKABE_ITO[1], marker="s", label="validation loss")
        ax.plot([], [], color="grey", linewidth=0.8, label="best epoch")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.set_title(
            f"{run} (seeds: {', '.join(map(str, sorted(g['seed'].unique())))})", fontsize=9
        )
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
        save(fig, folder / f"{run.replace('/', '__')}.png", g)
    return history


def grouped(
    table: pd.DataFrame,
    path: str | Path,
    xlabel: str,
    title: str,
    kind: str = "line",
    note: str | None = None,
) -> None:
    """A breakdown or sweep table (``breakdowns.COLUMNS``) as one panel per (block, metric):
    groups on the x axis in their order, one series per run with its interval; `note`
    printed under the panels."""
    plt = _plt()
    if table.empty:
        say_empty(path, f"{title}: nothing to show for this configuration", table)
        return
    panels = list(table.groupby(["block", "metric"], sort=False))
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels) + 2.5, 3.8), squeeze=False)
    runs = sorted(table["run"].unique())
    styles = style_of(runs)
    for ax, ((block, metric), g) in zip(axes[0], panels, strict=True):
        groups = g.sort_values("order")[["order", "group"]].drop_duplicates("group")
        xs = {grp: i for i, grp in enumerate(groups["group"])}
        width = 0.8 / max(len(runs), 1)
        for j, run in enumerate(runs):
            gr = g[g["run"] == run].sort_values("order")
            if gr.empty:
                continue
            x = np.array([xs[v] for v in gr["group"]], float)
            err = error_bars(gr["mean"], gr["low"], gr["high"], metric)
            st = styles[run]
            if kind == "bar":
                ax.bar(
                    x - 0.4 + width * (j + 0.5),
                    gr["mean"],
                    width,
                    yerr=err,
                    color=st["color"],
                    hatch=st["hatch"],
                    edgecolor="black",
                    linewidth=0.4,
                    capsize=2,
                    label=run,
                )
            else:
                ax.errorbar(
                    x,
                    gr["mean"],
                    yerr=err,
                    color=st["color"],
                    marker=st["marker"],
                    linestyle=st["linestyle"],
                    capsize=2,
                    ms=4,
                    label=run,
                )
        ax.set_xticks(range(len(xs)), list(xs), fontsize=7, rotation=20)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(metric)
        where = _block_title(block)
        ax.set_title(title + (f" — {where}" if where else ""), fontsize=9)
        ax.grid(alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper left", bbox_to_anchor=(1, 1), fontsize=7)
    if note:
        fig.text(0.01, 0.005, note, fontsize=7, ha="left", va="bottom", wrap=True)
    fig.tight_layout(rect=(0, 0.06 if note else 0, 1, 1))
    save(fig, path, table)


def colours(n: int) -> list:
    """n colours, none repeated: Okabe-Ito's seven (colour-blind safe) up to seven runs,
    else evenly spaced along a perceptually ordered map."""
    if n <= len(OKABE_ITO):
        return OKABE_ITO[:n]
    import matplotlib

    cmap = matplotlib.colormaps["turbo"]
    return [matplotlib.colors.to_hex(cmap(0.05 + 0.9 * i / (n - 1))) for i in range(n)]


def _cycle(n: int) -> list[dict]:
    """n runs' styles: a colour of their own each, and marker, line style and hatch cycling
    so that neighbouring colours also differ in shape."""
    return [
        {
            "color": colour,
            "marker": MARKERS[i % len(MARKERS)],
            "linestyle": LINESTYLES[i % len(LINESTYLES)],
            "hatch": HATCHES[i % len(HATCHES)],
        }
        for i, colour in enumerate(colours(n))
    ]
