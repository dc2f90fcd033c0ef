"""Job: score a saved model by full ranking; per-user metrics, top-K lists, a record.

With a hot/cold split the model is scored twice: on the (hot) test pairs,
ranking every item but the cold ones, and on the cold pairs, ranking the
cold items only (at ``evaluation.cold_ks``); the user's known items are
removed from both rankings.
"""

from __future__ import annotations

import json
import logging
import time

from audiorec import devices, recommenders
from audiorec.data.interactions import index_split, load_split
from audiorec.data.subsample import subsample_train
from audiorec.evaluation.metrics import family
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
    training_share: dict | None = None,
) -> dict:
    """Score the saved model on each evaluation block; ``training_share`` as the
    training job had it (the users' history is then that share of train)."""
    cls = recommenders.get(spec["type"])
    device = devices.resolve(spec["device"])
    data = index_split(load_split(split_paths))
    if training_share:
        data = subsample_train(data, training_share["share"], training_share["seed"])
    model = cls.load(model_path, device)
    with open(train_info) as fh:
        trained = json.load(fh)
    blocks = [(evaluation["part"], evaluation["ks"], "")]
    if "cold" in data.frames:
        blocks.append(("cold", evaluation.get("cold_ks", [20]), "_cold"))
    summary = {**trained, "evaluation_device": device, "blocks": {}}
    for part, ks, suffix in blocks:
        started = time.perf_counter()
        per_user, ranking, catalogue = evaluate(
            model,
            data,
            part,
            ks,
            evaluation["user_batch"],
            device,
            evaluation.get("popularity_segments"),
        )
        seconds = time.perf_counter() - started
        meta = {
            **run,
            "type": spec["type"],
            "part": part,
            "block": "cold" if part == "cold" else "hot" if len(data.cold_items) else part,
            "scores_cold": part != "cold" or cls.scores_cold(run["variant"], model.params),
            "n_items": trained["n_items"],
            "items_without_embedding": trained.get("items_without_embedding", 0),
            "catalogue": catalogue,
        }
        write_per_user(per_user, outputs[f"per_user{suffix}"], meta)
        write_recommendations(
            outputs[f"recommendations{suffix}"],
            per_user["user_id"],
            ranking.items,
            data.items,
            meta,
        )
        means = {c: float(per_user[c].mean()) for c in per_user.columns if family(c)}
        summary["blocks"][meta["block"]] = {
            "part": part,
            "n_users": len(per_user),
            "unrankable_relevant_pairs": data.unrankable(part),
            "evaluate_seconds": round(seconds, 3),
            "means": means,
            "catalogue": catalogue,
        }
        log.info(
            "%s/%s/%s seed %d, %s: %s (%.1f s, %d users)",
            run["backbone"],
            run["recommender"],
            run["variant"],
            run["seed"],
            meta["block"],
            ", ".join(f"{k} {v:.4f}" for k, v in means.items()),
            seconds,
            len(per_user),
        )
    first = next(iter(summary["blocks"].values()))
    summary.update(part=first["part"], n_users=first["n_users"], means=first["means"])
    with open(outputs["info"], "w") as fh:
        json.dump(summary, fh, indent=2, default=str)
    return summary
