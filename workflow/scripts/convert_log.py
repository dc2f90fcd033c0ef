"""Thin wrapper: see audiorec.stages.convert_log."""

from _src import to_plain

from audiorec.stages import convert_log
from audiorec.stages.common import setup_job

setup_job(snakemake.log[0], snakemake.threads)
convert_log.run(
    to_plain(snakemake.params.dataset),
    snakemake.output[0],
    snakemake.threads,
    memory_mb=int(snakemake.resources.mem_mb * 3 // 4),
)
