"""Thin wrapper: see audiorec.stages.fetch_weights."""

from _src import to_plain

from audiorec.stages import fetch_weights
from audiorec.stages.common import setup_job

setup_job(snakemake.log[0])
fetch_weights.run(snakemake.wildcards.weights, to_plain(snakemake.params.spec), snakemake.output[0])
