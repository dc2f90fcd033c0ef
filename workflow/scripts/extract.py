"""Thin wrapper: see audiorec.stages.extract (re-run in the backbone's own venv where it needs one)."""

from _src import to_plain

from audiorec import software
from audiorec.stages import extract
from audiorec.stages.common import setup_job

setup_job(snakemake.log[0], snakemake.threads)
spec = to_plain(snakemake.params.spec)
kwargs = dict(
    cache_paths=list(snakemake.input.cache),
    cache_failures=list(snakemake.input.cache_failures),
    name=snakemake.wildcards.backbone,
    spec=spec,
    output=snakemake.output.embeddings,
    failures_path=snakemake.output.failures,
    workers=snakemake.config["backbones"][snakemake.wildcards.backbone]["workers"],  # no re-run
    max_failed_share=snakemake.config["audio"]["max_failed_share"],
)
python = software.delegate(spec["type"])
if python:
    software.run_stage(
        python, "extract", {**kwargs, "_log": snakemake.log[0], "_threads": snakemake.threads}
    )
else:
    extract.run(**kwargs)
