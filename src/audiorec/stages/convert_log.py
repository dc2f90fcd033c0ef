"""Job: the raw listening log, once, to Parquet (see audiorec.data.log_parquet)."""

from __future__ import annotations

from pathlib import Path

from audiorec.data.log_parquet import convert


def run(dataset: dict, output: str, threads: int = 1, memory_mb: int = 4000) -> dict:
    if dataset.get("format") == "yambda":
        from audiorec.data import yambda

        return yambda.convert(dataset["root"], dataset["yambda"], output, threads, memory_mb)
    source = Path(dataset["root"]) / dataset["listening_log"]
    return convert(source, output, dataset["columns"], dataset["separator"], threads)
