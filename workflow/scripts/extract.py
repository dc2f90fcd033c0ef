"""Thin wrapper: see audiorec.stages.extract."""

import _src  # noqa: F401  (puts src/ on the path)

from audiorec.config import to_plain
from audiorec.stages import extract
from audiorec.stages.common import setup_job

setup_job(snakemake.log[0], snakemake.threads)
p = snakemake.params
extract.run(
    cache_path=snakemake.input.cache,
    cache_failures=snakemake.input.cache_failures,
    name=snakemake.wildcards.backbone,
    spec={
        "type": p.type,
        "params": to_plain(p.params),
        "batch_size": p.batch_size,
        "device": p.device,
        "workers": snakemake.config["backbones"][snakemake.wildcards.backbone][
            "workers"
        ],  # no re-run when changed
    },
    output=snakemake.output.embeddings,
    failures_path=snakemake.output.failures,
)
