"""Full-ranking evaluation of a fitted recommender: per-user metrics and top-K lists.

When scoring the test users, their history is train plus validation pairs:
under the global time split validation and test users are disjoint, so this
changes nothing there, and under leave-last-out it is the usual protocol
(the validation item is part of the history when the test item is predicted).
"""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from audiorec.data.interactions import IndexedSplit
from audiorec.evaluation.metrics import from_hits
from audiorec.evaluation.ranking import Ranking, rank

log = logging.getLogger(__name__)


def candidates_for(data: IndexedSplit, part: str) -> np.ndarray | None:
    """Items a part ranks: the cold part its cold items only, the others every item but
    those (as the journal's code ranks); None when the split has no cold part."""
    cold = data.cold_items
    if not len(cold):
        return None
    mask = np.zeros(data.n_items, bool)
    mask[cold] = True
    return mask if part == "cold" else ~mask


def evaluate(
    model, data: IndexedSplit, part: str, ks, batch_size: int, device: str
) -> tuple[pd.DataFrame, Ranking]:
    """Per-user metrics frame and the ranking, for the users with held-out items in `part`."""
    history = data.history("train") if part == "val" else data.history("train", "val")
    users = data.users_of(part)
    empty = np.diff(history.matrix.indptr)[users] == 0
    if empty.any():
        log.warning(
            "%d evaluated users have no history; they get an uninformed ranking", int(empty.sum())
        )
    ranking = rank(
        lambda block: model.score(block, history),
        users,
        exclude=history.matrix,
        relevant=data.matrix(part),
        k=max(ks),
        batch_size=batch_size,
        device=device,
        candidates=candidates_for(data, part),
    )
    n_rel = data.n_relevant(part)[users]
    metrics = from_hits(ranking.hits, n_rel, ks)
    frame = pd.DataFrame({"user_id": data.users[users].astype(str), "n_relevant": n_rel, **metrics})
    return frame, ranking


def write_per_user(df: pd.DataFrame, path: str, meta: dict) -> None:
    """One row per user; the run's identity in the file's metadata (key ``audiorec``)."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), b"audiorec": json.dumps(meta, default=str)}
    )
    pq.write_table(table, path)


def write_recommendations(
    path: str, user_ids, ranked: np.ndarray, items: pd.Index, meta: dict
) -> None:
    """One row per user: the ranked track ids (a list column)."""
    valid = ranked >= 0
    offsets = np.concatenate([[0], np.cumsum(valid.sum(axis=1))]).astype(np.int32)
    values = pa.array(items.to_numpy().astype(str)[ranked[valid]], pa.string())
    table = pa.table(
        {
            "user_id": pa.array(list(user_ids), pa.string()),
            "items": pa.ListArray.from_arrays(offsets, values),
        }
    )
    pq.write_table(
        table.replace_schema_metadata({b"audiorec": json.dumps(meta, default=str)}), path
    )
