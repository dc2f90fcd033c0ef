#!/bin/sh
# Every GPU figure of docs/benchmarks.md from one run (issue 29's device check).
#
#     sh benchmarks/gpu_suite.sh               # on a machine with a CUDA GPU
#     DEVICE=cpu SCALE=tiny sh benchmarks/gpu_suite.sh   # the same steps, tiny, to try it
#
# 1. extraction: full-size MERT-v1-95M, music2vec-v1 and MusicFM (random weights,
#    published formats) on 30-s clips of real music, the pipeline in fp32 and in
#    bf16 (vectors compared) beside the study's one-file-at-a-time loop, with
#    GPU utilisation;
# 2. MusiCNN inside the extract stage (`mean` and `first`) beside the port's loop;
# 3. one training epoch of BERT4Rec, SASRec, the shallow net, ELSA and the
#    hybrid at Music4All-Onion's catalogue width (56,512 items, 300 items per
#    user), bf16 autocast against fp32: the per-unit figures of the cost model.
#
# Python packages the GPU machine lacks can be put on PYTHONPATH beforehand; the
# test music is Debian's asc-music (tests/fetch_music.sh).
set -eu
PY=${PYTHON:-python3}
DEVICE=${DEVICE:-cuda}
export PYTHONPATH="src${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
if [ "${SCALE:-full}" = tiny ]; then
    clips=2 mclips=4 users=20 items=600 history=30 workers=0
else
    clips=24 mclips=96 users=2000 items=56512 history=300 workers=8
fi
cores=$(nproc)

if [ "$DEVICE" != cpu ]; then
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
fi
$PY -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)"

echo "== 1. extraction: pipeline fp32 and bf16 against the study loop"
$PY benchmarks/extraction_throughput.py --device "$DEVICE" --clips "$clips" --batch 8 \
    --workers "$workers" --precisions fp32 bf16 --backbones mert music2vec musicfm

echo "== 2. MusiCNN: the extract stage against the port's loop"
$PY benchmarks/musicnn_stage.py --device "$DEVICE" --clips "$mclips" --threads "$cores" --batch 64

echo "== 3. one training epoch at Onion's catalogue width"
$PY benchmarks/training_epoch.py --device "$DEVICE" --users "$users" --items "$items" \
    --history "$history" --threads "$cores" --precisions bf16 fp32 \
    --models bert4rec sasrec shallow elsa hybrid
