"""Job: score a saved model by full ranking; per-user metrics, top-K lists, a record."""

from __future__ import annotations

import json
import logging
import time

from audiorec import devices, recommenders
from audiorec.data.interactions import index_split, load_split
from audiorec.evaluation.per_user import evaluate, write_per_user, write_recommendations

log = logging.getLogger(__name__)


def run(
    split_paths: dict,
    model_path: str,
    train_info: str,
    run: dict,
    spec: dict,
    evaluation: dict,
    outputs: dict,
) -> dict:
    cls = recommenders.get(spec["type"])
    device = devices.resolve(spec["device"])
    data = index_split(load_split(split_paths))
    model = cls.load(model_path, device)
    part = evaluation["part"]
    started = time.perf_counter()
    per_user, ranking = evaluate(
        model, data, part, evaluation["ks"], evaluation["user_batch"], device
    )
    seconds = time.perf_counter() - started

    with open(train_info) as fh:
        trained = json.load(fh)
    meta = {
        **run,
        "type": spec["type"],
        "part": part,
        "n_items": trained["n_items"],
        "items_without_embedding": trained.get("items_without_embedding", 0),
    }
    write_per_user(per_user, outputs["per_user"], meta)
    write_recommendations(
        outputs["recommendations"], per_user["user_id"], ranking.items, data.items, meta
    )
    summary = {
        **trained,
        "part": part,
        "evaluation_device": device,
        "n_users": len(per_user),
        "unrankable_relevant_pairs": data.unrankable(part),
        "evaluate_seconds": round(seconds, 3),
        "means": {c: float(per_user[c].mean()) for c in per_user.columns if "@" in c},
    }
    with open(outputs["info"], "w") as fh:
        json.dump(summary, fh, indent=2, default=str)
    log.info(
        "%s/%s/%s seed %d: %s (evaluation %.1f s, %d users)",
        run["backbone"],
        run["recommender"],
        run["variant"],
        run["seed"],
        ", ".join(f"{k} {v:.4f}" for k, v in summary["means"].items()),
        seconds,
        len(per_user),
    )
    return summary
