"""Thin wrapper: see audiorec.stages.merge_embeddings."""

import _src  # noqa: F401  (puts src/ on the path)

from audiorec.stages import merge_embeddings
from audiorec.stages.common import setup_job

setup_job(snakemake.log[0])
merge_embeddings.run(
    list(snakemake.input.embeddings),
    list(snakemake.input.failures),
    snakemake.output.embeddings,
    snakemake.output.failures,
)
