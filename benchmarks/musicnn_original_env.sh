#!/bin/sh
# The original musicnn package, runnable: TensorFlow 2.15 (the last with
# tf.compat.v1.layers), NumPy 1.x (the package's float16 arithmetic relies on
# NumPy 1 promotion), librosa 0.10, plus torch and audiorec so that the
# original and the port run side by side in one process.
# Creates .venv-musicnn-tf (about 1.5 GB). Used by
# tests/fixtures/musicnn/make_reference.py and benchmarks/musicnn_throughput.py.
set -eu
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv-musicnn-tf}
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --upgrade pip
"$VENV/bin/pip" install --quiet "tensorflow-cpu==2.15.1" "numpy==1.26.4" "librosa==0.10.2.post1" \
    "soundfile==0.14.0" "soxr" "torch==2.13.0" "jsonschema" "pyyaml" "pyarrow" "pandas<3" "scipy" "psutil"
"$VENV/bin/pip" install --quiet --no-deps musicnn==0.1.0
"$VENV/bin/pip" install --quiet --no-deps -e .
echo "ready: $VENV"
