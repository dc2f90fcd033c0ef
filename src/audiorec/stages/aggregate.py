"""Job: every per-user file -> summary tables, paired tests and a figure."""

from __future__ import annotations

import logging

from audiorec.reporting import summary

log = logging.getLogger(__name__)


def run(
    per_user_paths: list[str],
    significance: dict,
    baselines: dict[str, str | None],
    outputs: dict,
    title: str = "Results",
) -> summary.Tables:
    long = summary.read_per_user(per_user_paths)
    tables = summary.build(
        long,
        baseline=significance["baseline"],
        overrides=baselines,
        confidence=significance["confidence"],
        alpha=significance["alpha"],
    )
    tables.summary.to_csv(outputs["csv"], index=False)
    tables.tests.to_csv(outputs["tests"], index=False)
    with open(outputs["markdown"], "w") as fh:
        fh.write(summary.markdown(tables, significance["alpha"], significance["confidence"], title))
    summary.figure(tables, outputs["figure"])
    log.info(
        "wrote %s (%d runs, %d comparisons)",
        outputs["markdown"],
        len(tables.summary),
        len(tables.tests),
    )
    return tables
