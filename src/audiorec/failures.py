"""The failures table: tracks that were skipped, the stage and the reason.

Every stage that can lose a track appends here instead of stopping, so a
corrupt file costs one row, never a shard of finished work.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

COLUMNS = ["track_id", "stage", "reason"]


def frame(rows: list[dict] | None = None) -> pd.DataFrame:
    return pd.DataFrame(rows or [], columns=COLUMNS).astype(str)


def write(path: str | Path, rows) -> None:
    df = rows if isinstance(rows, pd.DataFrame) else frame(rows)
    df = df[COLUMNS].sort_values(["track_id", "stage"], kind="stable")
    df.to_csv(path, sep="\t", index=False)


def read(path: str | Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)


def concat(paths) -> pd.DataFrame:
    frames = [read(p) for p in paths]
    return pd.concat(frames, ignore_index=True) if frames else frame()


class TooManyFailures(RuntimeError):
    """So many of a job's tracks failed that the problem is the job's, not the tracks'."""


def check_share(failed: list[dict], total: int, max_share: float, job: str) -> None:
    """Fail the job when all its tracks, or more than `max_share` of them, failed."""
    if not total or not failed:
        return
    share = len(failed) / total
    if len(failed) < total and share <= max_share:
        return
    reasons = pd.Series([f["reason"].split(": ", 1)[-1] for f in failed]).value_counts()
    common = "; ".join(f"{n} x {r}" for r, n in reasons.head(3).items())
    raise TooManyFailures(
        f"{job}: {len(failed)} of {total} tracks failed (more than audio.max_failed_share "
        f"{max_share:g}); commonest reasons: {common}"
    )
