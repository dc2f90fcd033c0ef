"""Thin wrapper: see audiorec.stages.train_evaluate."""

import _src  # noqa: F401  (puts src/ on the path)

from audiorec.config import to_plain
from audiorec.stages import train_evaluate
from audiorec.stages.common import setup_job

setup_job(snakemake.log[0], snakemake.threads)
w, p = snakemake.wildcards, snakemake.params
train_evaluate.run(
    split_paths={k: snakemake.input[k] for k in ("train", "val", "test")},
    embeddings_path=snakemake.input.get("embeddings"),
    backbone=w.backbone,
    recommender=w.recommender,
    spec={"type": p.type, "params": to_plain(p.params), "device": p.device},
    variant=w.variant,
    seed=int(w.seed),
    evaluation=to_plain(p.evaluation),
    use_layer=p.use_layer,
    outputs=dict(snakemake.output.items()),
)
