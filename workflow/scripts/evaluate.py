"""Thin wrapper: see audiorec.stages.evaluate."""

from _src import run_of, split_paths, to_plain

from audiorec.stages import evaluate
from audiorec.stages.common import setup_job

setup_job(snakemake.log[0], snakemake.threads)
p = snakemake.params
evaluate.run(
    split_paths=split_paths(snakemake),
    model_path=snakemake.input.model,
    train_info=snakemake.input.train_info,
    run=run_of(snakemake),
    spec=to_plain(p.spec),
    evaluation=to_plain(p.evaluation),
    outputs=dict(snakemake.output.items()),
    training_share=to_plain(p.get("training_share")),
)
