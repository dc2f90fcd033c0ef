"""Job: the raw listening log, once, to Parquet (see audiorec.data.log_parquet)."""

from __future__ import annotations

from pathlib import Path

from audiorec.data.log_parquet import convert


def run(dataset: dict, output: str, threads: int = 1) -> dict:
    source = Path(dataset["root"]) / dataset["listening_log"]
    return convert(source, output, dataset["columns"], dataset["separator"], threads)
