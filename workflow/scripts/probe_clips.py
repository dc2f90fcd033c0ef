"""Thin wrapper: see audiorec.stages.probe_clips."""

from _src import to_plain

from audiorec.stages import probe_clips
from audiorec.stages.common import setup_job

setup_job(snakemake.log[0], snakemake.threads)
probe_clips.run(
    snakemake.wildcards.task, to_plain(snakemake.params.spec), snakemake.params.root,
    snakemake.output[0],
)  # fmt: skip
