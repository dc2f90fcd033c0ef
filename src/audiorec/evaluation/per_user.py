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
from audiorec.evaluation import beyond, segments
from audiorec.evaluation.metrics import from_hits
from audiorec.evaluation.ranking import Ranking, rank, takes_out
from audiorec.progress import Progress

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
    model,
    data: IndexedSplit,
    part: str,
    ks,
    batch_size: int,
    device: str,
    popularity_segments: dict | None = None,
) -> tuple[pd.DataFrame, Ranking, dict[str, float]]:
    """Per-user frame, the ranking and the run's catalogue measures, for the users with
    held-out items in `part`.

    The frame holds the accuracy metrics, each user's train history length
    (``train_items``, for breakdowns by activity) and, except for the cold
    block (whose items nobody heard), the popularity and novelty of the
    recommendations and the metrics per popularity segment
    (``popularity_segments``: head and tail shares, see ``segments``).
    """
    history = data.history("train") if part == "val" else data.history("train", "val")
    users = data.users_of(part)
    empty = np.diff(history.matrix.indptr)[users] == 0
    if empty.any():
        log.warning(
            "%d evaluated users have no history; they get an uninformed ranking", int(empty.sum())
        )
    candidates = candidates_for(data, part)
    if takes_out(model.score):  # one score buffer for every block

        def score(block, out=None):
            return model.score(block, history, out=out)

    else:

        def score(block):
            return model.score(block, history)

    ranking = rank(
        score,
        users,
        exclude=history.matrix,
        relevant=data.matrix(part),
        k=max(ks),
        batch_size=batch_size,
        device=device,
        candidates=candidates,
        progress=Progress(len(users), f"rank {part} users", "users"),
    )
    n_rel = data.n_relevant(part)[users]
    train = data.matrix("train")
    frame = pd.DataFrame(
        {
            "user_id": data.users[users].astype(str),
            "n_relevant": n_rel,
            "train_items": np.diff(train.indptr)[users],
            **from_hits(ranking.hits, n_rel, ks),
        }
    )
    n_candidates = data.n_items if candidates is None else int(candidates.sum())
    catalogue = beyond.catalogue(ranking.items, n_candidates, ks, data.n_items)
    if part != "cold":
        counts = beyond.listeners(train, data.n_items)
        extra = beyond.per_user(ranking.items, counts, max(len(data.users_of("train")), 1), ks)
        seg = popularity_segments or {"head": 0.2, "tail": 0.5}
        f = data.frames[part]
        unrankable = np.bincount(f["uidx"][f["iidx"] < 0], minlength=data.n_users)[users]
        extra |= segments.by_segment(
            ranking.items,
            ranking.hits,
            users,
            data.matrix(part),
            unrankable,
            segments.popularity_segments(counts, seg["head"], seg["tail"]),
            ks,
        )
        frame = pd.concat([frame, pd.DataFrame(extra)], axis=1)
    return frame, ranking, catalogue


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
