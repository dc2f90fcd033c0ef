"""Thin wrapper: see audiorec.stages.resample."""

import _src  # noqa: F401  (puts src/ on the path)

from audiorec.stages import resample
from audiorec.stages.common import setup_job

setup_job(snakemake.log[0], snakemake.threads)
resample.run(
    catalogue_path=snakemake.input[0],
    output=snakemake.output.cache,
    failures_path=snakemake.output.failures,
    sample_rate=int(snakemake.wildcards.rate),
    shard=int(snakemake.wildcards.shard),
    n_shards=snakemake.params.n_shards,
    offset_seconds=snakemake.params.offset_seconds,
    max_seconds=snakemake.params.max_seconds,
    max_failed_share=snakemake.config["audio"]["max_failed_share"],  # no re-run when changed
)
