"""Thin wrapper: see audiorec.stages.catalogue."""

from _src import to_plain

from audiorec.stages import catalogue
from audiorec.stages.common import setup_job

setup_job(snakemake.log[0])
catalogue.run(to_plain(snakemake.params.dataset), snakemake.output[0], snakemake.input.get("log"))
