"""Thin wrapper: see audiorec.stages.train."""

from _src import run_of, split_paths, to_plain

from audiorec.stages import train
from audiorec.stages.common import setup_job

setup_job(snakemake.log[0], snakemake.threads)
p = snakemake.params
train.run(
    split_paths=split_paths(snakemake),
    embeddings_path=snakemake.input.get("embeddings"),
    run=run_of(snakemake),
    spec=to_plain(p.spec),
    outputs=dict(snakemake.output.items()),
    use_layer=p.use_layer,
    training_share=to_plain(p.get("training_share")),
)
