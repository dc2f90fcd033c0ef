"""Thin wrapper: see audiorec.stages.train."""

from _src import to_plain

from audiorec.stages import train
from audiorec.stages.common import setup_job

setup_job(snakemake.log[0], snakemake.threads)
w, p = snakemake.wildcards, snakemake.params
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
    },
    spec=to_plain(p.spec),
    outputs=dict(snakemake.output.items()),
    use_layer=p.use_layer,
)
