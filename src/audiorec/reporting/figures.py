"""The figures, each written beside the CSV of the data it draws.

Colours are the Okabe–Ito palette (distinguishable with the common colour
vision deficiencies) and every series also differs by marker or hatch, so
the figures read in greyscale print too. Error bars are the tables'
Student-t intervals.
"""

from __future__ import annotations

import itertools
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
    """A fixed colour, marker and hatch per name, in sorted order."""
    out = {}
    for i, n in enumerate(sorted(set(names))):
        out[n] = {
            "color": OKABE_ITO[i % len(OKABE_ITO)],
            "marker": MARKERS[i % len(MARKERS)],
            "hatch": HATCHES[(i // len(OKABE_ITO)) % len(HATCHES)],
        }
    return out


def save(fig, path: str | Path, data: pd.DataFrame) -> None:
    """The figure as PNG at ``path`` and its data as CSV beside it (same name)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150, bbox_inches="tight")
    data.to_csv(path.with_suffix(".csv"), index=False)
    _plt().close(fig)


def _block_title(block) -> str:
    return BLOCK_TITLES.get(block, "" if block in (None, "test") else str(block)).split(":")[0]


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
            err = np.nan_to_num(np.vstack([s[m] - s[f"{m} low"], s[f"{m} high"] - s[m]]))
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
        fig, ax = plt.subplots(figsize=(5, 1.2))
        ax.axis("off")
        ax.text(0.5, 0.5, "no comparisons: no configured baseline was run", ha="center")
        save(fig, path, tests)
        return
    base_mean = []
    for _, t in tests.iterrows():
        rows = summary[(summary["run"] == t["baseline"]) & (summary["block"] == t["block"])]
        base_mean.append(rows[t["metric"]].iloc[0] if len(rows) else np.nan)
    t = tests.assign(baseline_mean=base_mean)
    with np.errstate(divide="ignore", invalid="ignore"):
        t["relative_change"] = t["mean_diff"] / t["baseline_mean"]
    blocks = list(t["block"].drop_duplicates())
    n_rows = t.groupby("block")["run"].nunique().max()
    n_cols = t.groupby("block")["metric"].nunique().max()
    fig, axes = plt.subplots(
        1,
        len(blocks),
        figsize=(len(blocks) * (1.0 * n_cols + 3.5), 0.9 + 0.32 * n_rows),
        squeeze=False,
    )
    limit = np.nanmax(np.abs(t["relative_change"].replace([np.inf, -np.inf], np.nan))) or 1.0
    image = None
    for ax, b in zip(axes[0], blocks, strict=True):
        tb = t[t["block"] == b]
        grid = tb.pivot(index="run", columns="metric", values="relative_change")
        pv = tb.pivot(index="run", columns="metric", values="p_wilcoxon_holm")
        metrics = sorted(grid.columns, key=_metric_order)
        grid, pv = grid[metrics], pv[metrics]
        image = ax.imshow(grid.to_numpy(float), cmap="PuOr", vmin=-limit, vmax=limit, aspect="auto")
        for (i, j), p in np.ndenumerate(pv.to_numpy(float)):
            stars = "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else ""
            ax.text(j, i, f"{p:.2g}{stars}", ha="center", va="center", fontsize=6.5)
        ax.set_xticks(range(len(metrics)), metrics, rotation=45, ha="right", fontsize=7)
        ax.set_yticks(range(len(grid)), grid.index, fontsize=7)
        ax.set_title(_block_title(b) or "test", fontsize=9)
    cbar = fig.colorbar(image, ax=axes[0].tolist(), shrink=0.8)
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
    table: pd.DataFrame, path: str | Path, xlabel: str, title: str, kind: str = "line"
) -> None:
    """A breakdown or sweep table (``breakdowns.COLUMNS``) as one panel per (block, metric):
    groups on the x axis in their order, one series per run with its interval."""
    plt = _plt()
    if table.empty:
        fig, ax = plt.subplots(figsize=(5, 1.2))
        ax.axis("off")
        ax.text(0.5, 0.5, f"{title}: nothing to show for this configuration", ha="center")
        save(fig, path, table)
        return
    panels = list(table.groupby(["block", "metric"], sort=False))
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels) + 2.5, 3.8), squeeze=False)
    runs = sorted(table["run"].unique())
    styles = dict(zip(runs, _cycle(len(runs)), strict=True))
    for ax, ((block, metric), g) in zip(axes[0], panels, strict=True):
        groups = g.sort_values("order")[["order", "group"]].drop_duplicates("group")
        xs = {grp: i for i, grp in enumerate(groups["group"])}
        width = 0.8 / max(len(runs), 1)
        for j, run in enumerate(runs):
            gr = g[g["run"] == run].sort_values("order")
            if gr.empty:
                continue
            x = np.array([xs[v] for v in gr["group"]], float)
            err = np.nan_to_num(np.vstack([gr["mean"] - gr["low"], gr["high"] - gr["mean"]]))
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
    fig.tight_layout()
    save(fig, path, table)


def _cycle(n: int) -> list[dict]:
    """n distinct (colour, marker, line style, hatch) combinations."""
    combos = itertools.product(LINESTYLES, range(len(OKABE_ITO)))
    out = []
    for i, (ls, c) in zip(range(n), combos, strict=False):
        out.append(
            {
                "color": OKABE_ITO[c],
                "marker": MARKERS[i % len(MARKERS)],
                "linestyle": ls,
                "hatch": HATCHES[LINESTYLES.index(ls) % len(HATCHES)],
            }
        )
    return out
