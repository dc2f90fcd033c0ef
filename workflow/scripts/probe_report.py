"""Thin wrapper: see audiorec.stages.probe_report."""

from _src import to_plain

from audiorec.stages import probe_report
from audiorec.stages.common import setup_job

setup_job(snakemake.log[0], snakemake.threads)
probe_report.run(
    results=list(snakemake.input.results),
    summary_path=snakemake.input.summary,
    tasks=to_plain(snakemake.params.tasks),
    backbones=to_plain(snakemake.params.backbones),
    measure=snakemake.params.measure,
    report_model=snakemake.params.report_model,
    confidence=snakemake.params.confidence,
    outputs=dict(snakemake.output.items()),
    title=snakemake.params.title,
    layers_path=snakemake.input.layers[0] if snakemake.input.layers else None,
)
