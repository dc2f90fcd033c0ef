"""Thin wrapper: see audiorec.stages.import_embeddings."""

from _src import to_plain

from audiorec.stages import import_embeddings
from audiorec.stages.common import setup_job

setup_job(snakemake.log[0])
import_embeddings.run(
    snakemake.wildcards.backbone,
    to_plain(snakemake.params.spec),
    snakemake.params.root,
    snakemake.input.catalogue,
    snakemake.output.embeddings,
    snakemake.output.failures,
)
