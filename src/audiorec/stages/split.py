"""Job: read the listening log, drop unknown tracks, split, write the parts and their sizes."""

from __future__ import annotations

import logging

import pandas as pd

from audiorec import splits
from audiorec.data import log_parquet
from audiorec.data.readers import known_tracks
from audiorec.splits import streaming

log = logging.getLogger(__name__)


def run(
    dataset: dict, split: dict, log_path: str, catalogue_path: str, outputs: dict, threads: int = 1
) -> None:
    """Split the converted log (``convert_log``'s Parquet); write the parts and their sizes."""
    common = {
        "val_fraction": split["val_fraction"],
        "seed": split["seed"],
        "ties": split["ties"],
        "memory_mb": split["memory_mb"],
        "threads": threads,
        "unknown_tracks": dataset["unknown_tracks"],
        "outputs": outputs,
    }
    if split["method"] in ("global_time", "hot_cold", "yambda"):
        if split["method"] == "yambda":
            result, counts = streaming.yambda_split(
                log_path,
                catalogue_path,
                test_timestamp=split["test_timestamp"],
                gap_seconds=split["gap_seconds"],
                val_seconds=split["val_seconds"],
                **common,
            )
        elif split["method"] == "global_time":
            result, counts = streaming.global_time_split(
                log_path,
                catalogue_path,
                test_date=split["test_date"],
                start_date=split["start_date"],
                end_date=split["end_date"],
                **common,
            )
        else:
            result, counts = streaming.hot_cold_split(
                log_path,
                catalogue_path,
                test_date=split["test_date"],
                train_years=split["train_years"],
                test_months=split["test_months"],
                **common,
            )
        in_range = {"users": -1, "items": -1, "plays": counts["events"]}
        unknown = {"events": counts["unknown_events"], "tracks": counts["unknown_tracks"]}
        stats = pd.DataFrame([{"part": k, **v} for k, v in counts["sizes"].items()])
        window = {"before_start": counts["before_start"], "after_end": counts["after_end"]}
        for side, n in window.items():
            if n:
                log.warning("dropped %d events %s", n, side.replace("_", " the "))
    else:
        events = log_parquet.read(log_path)
        catalogue = pd.read_parquet(catalogue_path, columns=["track_id"])["track_id"]
        events, unknown = known_tracks(events, catalogue, dataset["unknown_tracks"], log_path)
        in_range = {
            "users": events["user_id"].nunique(),
            "items": events["track_id"].nunique(),
            "plays": len(events) + unknown["events"],
        }
        result = splits.from_config(split).split(events)
        for name, df in result.parts().items():
            df.to_parquet(outputs[name], index=False)
        stats = splits.split_stats(result)
        window = None
    extra = pd.DataFrame(
        [
            {"part": "log_in_range", "pairs": -1, **in_range},
            *[
                {"part": f"{side}_dropped", "users": -1, "items": -1, "pairs": -1, "plays": n}
                for side, n in (window or {}).items()
            ],
            {
                "part": "unknown_tracks_dropped",
                "users": -1,
                "items": unknown["tracks"],
                "pairs": -1,
                "plays": unknown["events"],
            },
        ]
    )
    pd.concat([stats, extra], ignore_index=True).to_csv(outputs["stats"], sep="\t", index=False)
    log.info("split sizes:\n%s", stats.to_string(index=False))
