"""audiorec: audio -> embeddings -> split -> recommenders -> significance-tested tables.

snakemake --cores 2                                             # the embedded demo (config.yaml)
snakemake --profile profiles/slurm --configfile presets/paper.yaml   # the study on a SLURM cluster
"""

import os
import sys

# The Snakefile imports audiorec from this checkout, installed or not; jobs do
# the same through workflow/scripts/_src.py.
sys.path.insert(0, os.path.join(workflow.basedir, "src"))

from audiorec.config import ConfigError, load_site, validate_config  # noqa: E402

# A --configfile replaces the demo config instead of being merged into it, so
# that a preset never inherits demo-only backbones or recommenders.
if not workflow.overwrite_configfiles:

    configfile: "config.yaml"


try:
    validate_config(config, schema=None)
    # read here, so that a bad site file is refused before any job starts
    SITE = load_site(config["site"], workflow.basedir)
except ConfigError as err:
    raise WorkflowError(f"Invalid configuration: {err}") from None


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/download.smk"
include: "rules/embeddings.smk"
include: "rules/recommend.smk"
include: "rules/aggregate.smk"
include: "rules/probes.smk"


rule all:
    input:
        summary_outputs(),
        PROBE_TARGETS,
    default_target: True
