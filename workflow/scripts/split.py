"""Thin wrapper: see audiorec.stages.split."""

from _src import to_plain

from audiorec.stages import split
from audiorec.stages.common import setup_job

setup_job(snakemake.log[0], snakemake.threads)
split.run(
    to_plain(snakemake.params.dataset),
    to_plain(snakemake.params.split),
    snakemake.input.log,
    snakemake.input.catalogue,
    dict(snakemake.output.items()),
    snakemake.threads,
)
