"""Job: the MIR probes beside the recommendation results (``audiorec.reporting.mir``)."""

from __future__ import annotations

import logging

import pandas as pd

from audiorec.reporting import mir
from audiorec.reporting.html import from_markdown
from audiorec.reporting.tables import chosen_metric

log = logging.getLogger(__name__)


def run(
    results: list[str],
    summary_path: str,
    tasks: dict,
    backbones: dict,
    measure: str,
    report_model: str,
    confidence: float,
    outputs: dict,
    title: str,
    layers_path: str | None = None,
) -> None:
    probes = mir.probe_summary(mir.read_results(results), confidence)
    summary = pd.read_csv(summary_path)
    metric = chosen_metric(summary, measure)
    table, probe_cols, rec_cols = mir.joint_table(probes, summary, metric, report_model)
    table = mir.reported_column(table, tasks, backbones)
    sources = mir.reported_sources(tasks, {b: backbones[b] for b in table.index if b in backbones})
    corr = mir.correlations(table, probe_cols, rec_cols, confidence)
    table.reset_index().to_csv(outputs["csv"], index=False)
    corr.to_csv(outputs["correlations"], index=False)
    probes.to_csv(outputs["probes"], index=False)
    heading = f"{title}: MIR probes ({report_model}) and {metric} of the frozen vectors"
    text = mir.markdown(table, corr, probes, heading, sources)
    with open(outputs["markdown"], "w") as fh:
        fh.write(text)
    with open(outputs["html"], "w") as fh:
        fh.write(from_markdown(text, heading))
    mir.figure(table, probe_cols, rec_cols, outputs["figure"])
    layers = pd.read_csv(layers_path) if layers_path else None
    mir.layer_figure(probes, layers, report_model, metric, outputs["layers_figure"])
    log.info("%d backbones, %d probe columns, %d recommendation columns", len(table),
             len(probe_cols), len(rec_cols))  # fmt: skip
