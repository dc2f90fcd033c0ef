"""Thin wrapper: see audiorec.stages.aggregate."""

from _src import to_plain

from audiorec.stages import aggregate
from audiorec.stages.common import setup_job

setup_job(snakemake.log[0])
aggregate.run(
    list(snakemake.input.per_user),
    to_plain(snakemake.params.significance),
    to_plain(snakemake.params.baselines),
    {k: str(v) for k, v in snakemake.output.items()},
    title=snakemake.params.title,
    report=to_plain(snakemake.params.report),
    sweep_paths=list(snakemake.input.sweeps),
    train_records=list(snakemake.input.train_records),
    used_layers=to_plain(snakemake.params.used_layers),
)
