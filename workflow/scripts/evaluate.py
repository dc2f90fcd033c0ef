"""Thin wrapper: see audiorec.stages.evaluate."""

from _src import to_plain

from audiorec.stages import evaluate
from audiorec.stages.common import setup_job

setup_job(snakemake.log[0], snakemake.threads)
w, p = snakemake.wildcards, snakemake.params
sweep = {"sweep": w.sweep} if "sweep" in w.keys() else {}
evaluate.run(
    split_paths={
        k: snakemake.input[k]
        for k in ("train", "val", "test", "cold")
        if k in snakemake.input.keys()
    },
    model_path=snakemake.input.model,
    train_info=snakemake.input.train_info,
    run={
        "backbone": w.backbone,
        "recommender": w.recommender,
        "variant": w.variant,
        "seed": int(w.seed),
        **sweep,
    },
    spec=to_plain(p.spec),
    evaluation=to_plain(p.evaluation),
    outputs=dict(snakemake.output.items()),
    training_share=to_plain(p.get("training_share")),
)
