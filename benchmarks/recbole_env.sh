#!/bin/sh
# RecBole 1.2.1, for benchmarks/bert4rec_vs_recbole.py only (never a runtime dependency).
# Creates .venv-recbole; MovieLens-100k ships inside the recbole wheel.
set -eu
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv-recbole}
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --upgrade pip
"$VENV/bin/pip" install --quiet "torch==2.13.0" "recbole==1.2.1" "numpy==1.26.4" "pandas<3" "pyarrow<22" psutil
echo "ready: $VENV"
