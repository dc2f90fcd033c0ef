"""Shuffled BERT4Rec batches, packed against padded.

    .venv/bin/python benchmarks/bert4rec_packing.py --threads 1 --batches 12

The model and data of ``bert4rec_step.py`` (RecBole's benchmark settings,
every prefix of ML-100k-like histories, 2,048 sequences per batch). Two ways
to run an epoch's shuffled batches: padded to the batch's longest sequence
(the reference) and packed (short sequences share rows,
``audiorec.sequences.packing``, as BERT4Rec trains). Each step is a forward
and backward pass and one Adam step on the same model; the two alternate
batch by batch so that each sees the same machine state. The figures are
milliseconds per training sequence and the share of computed positions that
are padding.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from bert4rec_step import SIZE, recipe

from audiorec.networks.bert import BertNet
from audiorec.recommenders.bert4rec import BERT4Rec
from audiorec.sequences.batches import shuffled
from audiorec.sequences.masking import masked
from audiorec.sequences.packing import pack
from audiorec.sequences.windows import epoch_sequences


def model() -> BERT4Rec:
    m = BERT4Rec(recipe(), seed=0, variant="random")
    m._n_items = SIZE["items"]
    torch.manual_seed(0)
    m.net = BertNet(torch.randn(SIZE["items"], SIZE["hidden"]) * 0.02, True, m.params, 200).train()
    return m


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batches", type=int, default=12)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    lengths = np.maximum(20, rng.lognormal(4.2, 0.9, 943).astype(int))  # as bert4rec_step.py
    histories = [rng.integers(0, SIZE["items"], k) for k in lengths]
    runs = {
        "random, padded (reference)": (model(), False),
        "random, packed": (model(), True),
    }
    batches, optims = {}, {}
    for name, (m, packed) in runs.items():
        r = np.random.default_rng(1)
        seqs = epoch_sequences(histories, m.params["max_len"], "every_prefix")
        chosen = shuffled(len(seqs), m.params["batch_size"], r)[: args.batches + 1]
        p = m.params["mask_prob"]
        batches[name] = [
            masked([seqs[i] for i in b], r, p, m.net.mask_id, m.net.pad_id) for b in chosen
        ]
        if packed:
            batches[name] = [pack(*b, m.net.pad_id) for b in batches[name]]
        optims[name] = torch.optim.Adam(m.net.parameters(), lr=1e-3)
    seconds, cells, padding, sequences = (dict.fromkeys(runs, 0) for _ in range(4))
    for i in range(args.batches + 1):
        for name, (m, packed) in runs.items():
            b = batches[name][i]
            t = time.perf_counter()
            loss, count = m._loss_sum(*b[:3], b[3:] if packed else None)
            optims[name].zero_grad()
            (loss / count).backward()
            optims[name].step()
            if i:  # the first batch warms up
                seconds[name] += time.perf_counter() - t
                cells[name] += b[0].numel()
                padding[name] += int((b[0] == m.net.pad_id).sum())
                sequences[name] += int(b[3].max()) + 1 if packed else len(b[0])
    for name in runs:
        print(
            f"{name}: {1000 * seconds[name] / sequences[name]:.3f} ms per sequence, "
            f"{100 * padding[name] / cells[name]:.1f} % padding "
            f"({sequences[name]} sequences, {cells[name]:,} positions)"
        )
    ref, new = seconds["random, padded (reference)"], seconds["random, packed"]
    print(f"packed / padded (shuffled batches): {new / ref:.2f} of the time")


if __name__ == "__main__":
    main()
