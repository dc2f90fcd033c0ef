"""Thin wrapper: see audiorec.stages.extract."""

from _src import to_plain

from audiorec.stages import extract
from audiorec.stages.common import setup_job

setup_job(snakemake.log[0], snakemake.threads)
extract.run(
    cache_paths=list(snakemake.input.cache),
    cache_failures=list(snakemake.input.cache_failures),
    name=snakemake.wildcards.backbone,
    spec=to_plain(snakemake.params.spec),
    output=snakemake.output.embeddings,
    failures_path=snakemake.output.failures,
    workers=snakemake.config["backbones"][snakemake.wildcards.backbone]["workers"],  # no re-run
    max_failed_share=snakemake.config["audio"]["max_failed_share"],
)
