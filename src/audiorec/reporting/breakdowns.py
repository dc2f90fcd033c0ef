"""Where the gains are: metrics by user activity, by item popularity, hot vs cold,
and against training size and layer.

Every table is long, one row per (block, run, group): the mean over users
with its Student-t interval, seeds averaged per user first as in the main
table. Groups:

- activity: users cut by their train history length at the quantiles of
  ``report.activity_quantiles`` (over the block's evaluated users);
- popularity: the user's held-out items of the head, middle or tail of the
  train popularity ranking (``evaluation.popularity_segments``);
- hot_cold: each run's hot and cold block side by side;
- sweeps: the share of train pairs (``size<percent>``) or the hidden layer
  (``layer<n>``) a run was trained with.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from audiorec.evaluation.metrics import family, k_of
from audiorec.evaluation.segments import SEGMENTS
from audiorec.planning import parse_sweep
from audiorec.reporting.stats import t_interval
from audiorec.reporting.summary import KEYS, run_key

COLUMNS = [*KEYS, "run", "block", "group", "order", "metric", "users", "mean", "low", "high"]


def _rows(per_user: pd.DataFrame, key, block, metric, groups, confidence) -> list[dict]:
    """One row per group: ``groups`` maps each group name (in order) to a user mask."""
    out = []
    for order, (name, mask) in enumerate(groups):
        values = per_user.loc[mask, metric].dropna().to_numpy()
        if not len(values):
            continue
        mean, low, high = t_interval(values, confidence)
        out.append(
            {
                **dict(zip(KEYS, key, strict=True)),
                "run": run_key(*key),
                "block": block,
                "group": name,
                "order": order,
                "metric": metric,
                "users": len(values),
                "mean": mean,
                "low": low,
                "high": high,
            }
        )
    return out


def _per_user(g: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    return g.groupby("user_id", sort=True)[columns].mean()


def activity_groups(train_items: pd.Series, quantiles) -> list[tuple[str, np.ndarray]]:
    """(label, mask) per activity group, cut at the quantiles of ``train_items``."""
    x = train_items.to_numpy()
    edges = np.unique(np.quantile(x, sorted(quantiles))) if len(x) else np.array([])
    bounds = [-np.inf, *edges, np.inf]
    groups = []
    for lo, hi in itertools.pairwise(bounds):
        mask = (x > lo) & (x <= hi)
        if not mask.any():
            continue
        a, b = int(x[mask].min()), int(x[mask].max())
        groups.append((f"{a}–{b} items" if a != b else f"{a} items", mask))
    return groups


def by_activity(long: pd.DataFrame, metrics, quantiles, confidence: float) -> pd.DataFrame:
    rows = []
    for block, gb in long.groupby("block", sort=False):
        cols = [m for m in metrics if m in gb and gb[m].notna().any()]
        for key, g in gb.groupby(KEYS, sort=True):
            pu = _per_user(g, [*cols, "train_items"])
            groups = activity_groups(pu["train_items"], quantiles)
            for m in cols:
                rows += _rows(pu, key, block, m, groups, confidence)
    return pd.DataFrame(rows, columns=COLUMNS)


def by_popularity(long: pd.DataFrame, metrics, confidence: float) -> pd.DataFrame:
    rows = []
    for block, gb in long.groupby("block", sort=False):
        for key, g in gb.groupby(KEYS, sort=True):
            for m in metrics:
                cols = [f"{s}:{m}" for s in SEGMENTS if f"{s}:{m}" in g]
                if not cols or g[cols].isna().all().all():
                    continue
                pu = _per_user(g, cols)
                for order, s in enumerate(SEGMENTS):
                    col = f"{s}:{m}"
                    if col not in pu:
                        continue
                    part = pu[[col]].rename(columns={col: m})
                    for r in _rows(
                        part, key, block, m, [(s, np.ones(len(part), bool))], confidence
                    ):
                        rows.append({**r, "order": order})
    return pd.DataFrame(rows, columns=COLUMNS)


def hot_vs_cold(summary: pd.DataFrame, measure: str) -> pd.DataFrame:
    """Each run's hot and cold value of ``measure`` at the largest K both blocks have
    (else each block's largest K), with the K named in the metric column."""
    if "block" not in summary or not {"hot", "cold"} <= set(summary["block"]):
        return pd.DataFrame(columns=COLUMNS)

    def ks(block):
        cols = summary.loc[summary["block"] == block].dropna(axis=1, how="all").columns
        return {k_of(c) for c in cols if family(c) == measure}

    found = {block: ks(block) for block in ("hot", "cold")}
    if not all(found.values()):  # a block without a value (no cold pair in the split)
        return pd.DataFrame(columns=COLUMNS)
    common = found["hot"] & found["cold"]
    rows = []
    for order, block in enumerate(("hot", "cold")):
        k = max(common) if common else max(found[block])
        m = f"{measure}@{k}"
        for _, r in summary[summary["block"] == block].iterrows():
            rows.append(
                {
                    **{c: r[c] for c in KEYS},
                    "run": r["run"],
                    "block": "test",  # one table and one panel, the blocks as its groups
                    "group": block,
                    "order": order,
                    "metric": m,
                    "users": r["users"],
                    "mean": r[m],
                    "low": r.get(f"{m} low", np.nan),
                    "high": r.get(f"{m} high", np.nan),
                }
            )
    return pd.DataFrame(rows, columns=COLUMNS)


def sweep_curve(
    sweeps: pd.DataFrame,
    main: pd.DataFrame,
    kind: str,
    metrics,
    confidence: float,
    used_layers: dict | None = None,
) -> pd.DataFrame:
    """Metric per sweep value (``kind``: size or layer) and run; for sizes, the main
    run is the 100 % point. For layers, ``used_layers`` (backbone -> its ``use_layer``,
    the layer the main runs use) fills the column ``use_layer``."""
    frames = []
    if len(sweeps):
        parsed = sweeps["sweep"].map(parse_sweep)
        chosen = sweeps[parsed.map(lambda p: p[0] == kind)]
        frames.append(chosen.assign(value=chosen["sweep"].map(lambda s: parse_sweep(s)[1])))
    if not frames or frames[0].empty:
        return pd.DataFrame(columns=[*COLUMNS, "value"])
    if kind == "size":
        swept = set(map(tuple, frames[0][KEYS].drop_duplicates().to_numpy()))
        keep = main[[tuple(k) in swept for k in main[KEYS].to_numpy()]]
        frames.append(keep.assign(value=100))
    long = pd.concat(frames, ignore_index=True)
    rows = []
    for block, gb in long.groupby("block", sort=False):
        cols = [m for m in metrics if m in gb and gb[m].notna().any()]
        for key, g in gb.groupby(KEYS, sort=True):
            for value, gv in g.groupby("value", sort=True):
                pu = _per_user(gv, cols)
                for m in cols:
                    group = [(str(value), np.ones(len(pu), bool))]
                    for r in _rows(pu, key, block, m, group, confidence):
                        rows.append({**r, "order": int(value), "value": int(value)})
    table = pd.DataFrame(rows, columns=[*COLUMNS, "value"])
    if kind == "layer":
        used = used_layers or {}
        table["use_layer"] = table["backbone"].map(
            lambda b: used.get(b) if used.get(b) is not None else "last"
        )
    return table


def markdown(table: pd.DataFrame, title: str, note: str, group_name: str) -> str:
    """A wide Markdown view: one row per (block, run), one column per group."""
    if table.empty:
        return f"# {title}\n\n{note}\n\nNothing to show for this configuration.\n"
    out = [f"# {title}", "", note, ""]
    for (block, metric), g in table.groupby(["block", "metric"], sort=False):
        groups = g.sort_values("order")["group"].drop_duplicates().tolist()
        out += [f"## {metric}" + (f", {block} block" if block not in (None, "test") else ""), ""]
        chosen = "use_layer" in g  # a layer sweep: the layer the main runs use, per run
        header = ["run", *(["use_layer"] if chosen else []), *[f"{group_name} {x}" for x in groups]]
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "|".join("---" for _ in header) + "|")
        for run, gr in g.groupby("run", sort=True):
            cells = []
            for x in groups:
                hit = gr[gr["group"] == x]
                if hit.empty:
                    cells.append("–")
                    continue
                r = hit.iloc[0]
                half = (r["high"] - r["low"]) / 2
                text = f"{r['mean']:.4f}" + ("" if pd.isna(half) else f" ± {half:.4f}")
                cells.append(f"{text} ({int(r['users'])})")
            used = [str(gr["use_layer"].iloc[0])] if chosen else []
            out.append("| " + " | ".join([run, *used, *cells]) + " |")
        out.append("")
    return "\n".join(out)
