"""Thin wrapper: see audiorec.stages.extract.merge."""

import _src  # noqa: F401  (puts src/ on the path)

from audiorec.stages import extract
from audiorec.stages.common import setup_job

setup_job(snakemake.log[0])
extract.merge(
    list(snakemake.input.embeddings),
    list(snakemake.input.failures),
    snakemake.output.embeddings,
    snakemake.output.failures,
)
