"""Job: fit one (backbone, recommender, variant, seed) and save the fitted model.

Evaluation is a job of its own (``stages.evaluate``), so that changing how
runs are scored never retrains them.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from audiorec import devices, recommenders
from audiorec.data.interactions import index_split, load_split
from audiorec.data.subsample import subsample_train
from audiorec.embeddings.items import item_vectors

log = logging.getLogger(__name__)


def run(
    split_paths: dict,
    embeddings_path: str | None,
    run: dict,
    spec: dict,
    outputs: dict,
    use_layer: int | None = None,
    training_share: dict | None = None,
) -> dict:
    """Fit the model; write ``outputs['model']`` and the training record ``outputs['info']``.

    ``training_share`` ({share, seed}): train on that share of each user's train
    pairs (``data.subsample``), for training-size curves.
    """
    cls = recommenders.get(spec["type"])
    device = devices.resolve(spec["device"])
    data = index_split(load_split(split_paths))
    if training_share:
        data = subsample_train(data, training_share["share"], training_share["seed"])
    vectors = available = None
    facts: dict = {}
    if embeddings_path is not None:
        vectors, available, facts = item_vectors(
            embeddings_path, data, run["variant"], run["seed"], use_layer
        )
        if facts["items_without_embedding"] == data.n_items:
            raise ValueError(
                f"{embeddings_path}: none of the {data.n_items} train items has a vector "
                f"(see {Path(embeddings_path).with_suffix('.failures.tsv').name}); "
                "a model on fallback rows only would be reported as content"
            )
    elif not cls.content_free(run["variant"], spec["params"]):
        raise ValueError(f"{run['recommender']} ({run['variant']}) needs embeddings, none given")

    checkpoint = str(Path(outputs["model"]).with_name("checkpoint.pt"))
    model = cls(
        spec["params"],
        seed=run["seed"],
        device=device,
        variant=run["variant"],
        checkpoint=checkpoint,
    )
    started = time.perf_counter()
    model.fit(data, vectors, available)
    fit_seconds = time.perf_counter() - started
    model.save(outputs["model"])

    record = {
        **run,
        "type": spec["type"],
        "params": spec["params"],
        "device": device,
        "n_users": data.n_users,
        "n_items": data.n_items,
        "fit_seconds": round(fit_seconds, 3),
        "training_share": training_share,
        "train_pairs": len(data.frames["train"]),
        **{k: v for k, v in facts.items() if k != "embedding_meta"},
        "embedding": facts.get("embedding_meta", {}),
        "model": model.info(),
        "item_table_change": model.item_table_change(),
    }
    with open(outputs["info"], "w") as fh:
        json.dump(record, fh, indent=2, default=str)
    log.info(
        "%(backbone)s/%(recommender)s/%(variant)s seed %(seed)d fitted in %(s).1f s",
        {**run, "s": fit_seconds},
    )
    return record
