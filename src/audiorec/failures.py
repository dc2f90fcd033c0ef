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
