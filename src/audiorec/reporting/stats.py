"""Intervals and paired tests over users, with Holm's correction.

Each user is one paired observation: the same users are ranked by every run,
so a run and its baseline are compared user by user (Wilcoxon signed-rank
and paired t-test), and the whole table's p-values are corrected together.
"""

from __future__ import annotations

import numpy as np
from scipy import stats


def t_interval(values: np.ndarray, confidence: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): Student-t interval of the mean, as the study reported."""
    x = np.asarray(values, dtype=np.float64)
    mean = float(x.mean()) if x.size else float("nan")
    if x.size < 2:
        return mean, float("nan"), float("nan")
    half = stats.sem(x) * stats.t.ppf((1 + confidence) / 2, x.size - 1)
    return mean, mean - half, mean + half


def paired_tests(x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Two-sided Wilcoxon signed-rank and paired t-test of x against y."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"paired samples differ in size: {x.shape} vs {y.shape}")
    d = x - y
    out = {"mean_diff": float(d.mean()), "n": int(d.size)}
    if d.size < 2 or np.all(d == 0):
        return {**out, "p_wilcoxon": 1.0, "p_ttest": 1.0}
    out["p_wilcoxon"] = float(
        stats.wilcoxon(d, zero_method="wilcox", alternative="two-sided").pvalue
    )
    if np.std(d) == 0:  # a constant non-zero shift: t is infinite
        out["p_ttest"] = 0.0
    else:
        out["p_ttest"] = float(stats.ttest_rel(x, y).pvalue)
    return out


def holm(pvalues) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values; NaN stays NaN and is not counted."""
    p = np.asarray(pvalues, dtype=np.float64)
    out = np.full_like(p, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    m = ok.size
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    scaled = (m - np.arange(m)) * p[order]
    out[order] = np.minimum(np.maximum.accumulate(scaled), 1.0)
    return out
