"""Thin wrapper: see audiorec.stages.generate_demo."""

from pathlib import Path

from _src import to_plain

from audiorec.stages import generate_demo
from audiorec.stages.common import setup_job

setup_job(snakemake.log[0], snakemake.threads)
settings = {**to_plain(snakemake.params.demo), "threads": snakemake.threads}
generate_demo.run(str(Path(snakemake.output.log).parent), settings)
