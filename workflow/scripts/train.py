"""Thin wrapper: see audiorec.stages.train."""

from _src import to_plain

from audiorec.stages import train
from audiorec.stages.common import setup_job

setup_job(snakemake.log[0], snakemake.threads)
w, p = snakemake.wildcards, snakemake.params
sweep = {"sweep": w.sweep} if "sweep" in w.keys() else {}
train.run(
    split_paths={
        k: snakemake.input[k]
        for k in ("train", "val", "test", "cold")
        if k in snakemake.input.keys()
    },
    embeddings_path=snakemake.input.get("embeddings"),
    run={
        "backbone": w.backbone,
        "recommender": w.recommender,
        "variant": w.variant,
        "seed": int(w.seed),
        **sweep,
    },
    spec=to_plain(p.spec),
    outputs=dict(snakemake.output.items()),
    training_share=to_plain(p.get("training_share")),
    use_layer=p.use_layer,
)
