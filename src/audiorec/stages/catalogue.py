"""Job: list the tracks to embed and where their audio is."""

from __future__ import annotations

import logging

from audiorec.data import log_parquet
from audiorec.data.readers import build_catalogue

log = logging.getLogger(__name__)


def run(dataset: dict, output: str, log_path: str | None = None) -> None:
    """`log_path`: the converted log (Parquet), when only listened tracks are wanted."""
    listened = None
    if dataset["only_listened"]:
        listened = set(log_parquet.tracks(log_path))
        log.info("%s: %d distinct tracks listened to", log_path, len(listened))
    cat = build_catalogue(
        root=dataset["root"],
        audio_dir=dataset["audio_dir"],
        audio_ext=dataset["audio_ext"],
        id_information=dataset["id_information"] if dataset["format"] == "onion" else None,
        track_list=dataset["track_list"],
        listened=listened,
    )
    if cat.empty:
        raise ValueError(f"no tracks found for the catalogue under {dataset['root']}")
    cat.to_parquet(output, index=False)
    log.info("catalogue: %d tracks", len(cat))
