"""Thin wrapper: see audiorec.stages.aggregate."""

from _src import to_plain

from audiorec.stages import aggregate
from audiorec.stages.common import setup_job

setup_job(snakemake.log[0])
aggregate.run(
    list(snakemake.input),
    to_plain(snakemake.params.significance),
    to_plain(snakemake.params.baselines),
    dict(snakemake.output.items()),
    title=snakemake.params.title,
)
