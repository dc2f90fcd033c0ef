"""Thin wrapper: see audiorec.stages.probe."""

from _src import to_plain

from audiorec.stages import probe
from audiorec.stages.common import setup_job

setup_job(snakemake.log[0], snakemake.threads)
probe.run(
    name=snakemake.wildcards.task,
    spec=to_plain(snakemake.params.spec),
    backbone=snakemake.wildcards.backbone,
    clips_path=snakemake.input.clips,
    embeddings_path=snakemake.input.embeddings,
    output=snakemake.output[0],
    models=list(snakemake.params.models),
    seeds=list(snakemake.params.seeds),
    settings=to_plain(snakemake.params.settings),
    root=snakemake.params.root,
)
