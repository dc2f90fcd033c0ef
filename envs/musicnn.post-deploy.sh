#!/usr/bin/env bash
# Snakemake runs this inside the freshly created env (--sdm conda).
set -euo pipefail
python -m pip install --no-deps musicnn==0.1.0
