"""BERT4Rec training step: audiorec's encoder against PyTorch's TransformerEncoder.

    .venv/bin/python benchmarks/bert4rec_step.py --threads 2 --batches 12

Both train the same model size (RecBole's benchmark settings: hidden 64,
2 layers, 2 heads, feed-forward 256, dropout 0.2, 1,682 items) on the same
batches: every prefix (at most 50 items) of synthetic histories with
MovieLens-100k's length profile, 2,048 sequences per batch, grouped by
length, 20 % of items masked, full-softmax cross-entropy on the masked
positions, one Adam step. The reference is what audiorec used before:
``nn.TransformerEncoder`` over all positions, ``F.dropout``, the masked rows
taken from its output. Batches alternate between the two so that both see
the same machine state; the figure is milliseconds per training sequence.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from audiorec.networks.bert import BertNet
from audiorec.recommenders.bert4rec import BERT4Rec
from audiorec.sequences.masking import masked
from audiorec.sequences.windows import epoch_sequences

SIZE = {"hidden": 64, "layers": 2, "heads": 2, "ffn": 256, "dropout": 0.2, "items": 1682}


class Reference(nn.Module):
    """BERT4Rec on nn.TransformerEncoder, initialised as audiorec's."""

    def __init__(self, items: torch.Tensor):
        super().__init__()
        h = SIZE["hidden"]
        self.items = nn.Parameter(items)
        self.mask_row = nn.Parameter(torch.randn(1, h) * 0.02)
        self.register_buffer("pad_row", torch.zeros(1, h))
        self.positions = nn.Embedding(200, h)
        self.norm = nn.LayerNorm(h, eps=1e-12)
        layer = nn.TransformerEncoderLayer(
            h, SIZE["heads"], SIZE["ffn"], SIZE["dropout"], "gelu", 1e-12, batch_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, SIZE["layers"], enable_nested_tensor=False)

    def loss(self, ids, mask, labels):
        table = torch.cat([self.items, self.mask_row, self.pad_row])
        x = table[ids] + self.positions.weight[: ids.shape[1]]
        x = F.dropout(self.norm(x), SIZE["dropout"], self.training)
        h = self.encoder(x, src_key_padding_mask=ids == len(table) - 1)[mask]
        return F.cross_entropy(h @ table.T, labels)


def recipe(**options) -> dict:
    """audiorec's BERT4Rec options for SIZE on every-prefix batches of 2,048 (RecBole's benchmark)."""
    return {
        "random_dim": SIZE["hidden"],
        "layers": SIZE["layers"],
        "heads": SIZE["heads"],
        "ffn": SIZE["ffn"],
        "dropout": SIZE["dropout"],
        "max_len": 50,
        "batch_size": 2048,
        "train_windows": "every_prefix",
        **options,
    }


def batches(n: int, rng: np.random.Generator, model: BERT4Rec) -> list[tuple]:
    """n batches of masked every-prefix sequences, grouped by length so that neither side
    pays for padding (the step is what is compared, not the batching)."""
    lengths = np.maximum(20, rng.lognormal(4.2, 0.9, 943).astype(int))  # ML-100k-like
    histories = [rng.integers(0, SIZE["items"], k) for k in lengths]
    seqs = epoch_sequences(histories, model.params["max_len"], "every_prefix")
    seqs = [seqs[i] for i in np.argsort([len(s) for s in seqs], kind="stable")]
    bs = model.params["batch_size"]
    groups = [seqs[i : i + bs] for i in range(0, len(seqs), bs)]
    chosen = [groups[i] for i in rng.permutation(len(groups))[:n]]
    p = model.params["mask_prob"]
    return [masked(g, rng, p, model.net.mask_id, model.net.pad_id) for g in chosen]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batches", type=int, default=12)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    ours = BERT4Rec(recipe(), seed=0, variant="random")
    ours._n_items = SIZE["items"]

    items = torch.randn(SIZE["items"], SIZE["hidden"]) * 0.02
    ours.net = BertNet(items.clone(), True, ours.params, max_positions=200).train()
    ref = Reference(items.clone()).train()
    data = batches(args.batches + 1, np.random.default_rng(0), ours)

    def ours_step(ids, mask, labels):
        loss, count = ours._loss_sum(ids, mask, labels)
        return loss / count

    runs = {
        "audiorec (BertEncoder)": (ours.net, ours_step),
        "reference (nn.TransformerEncoder)": (ref, ref.loss),
    }
    optims = {k: torch.optim.Adam(m.parameters(), lr=1e-3) for k, (m, _) in runs.items()}
    seconds = dict.fromkeys(runs, 0.0)
    sequences = 0
    for i, (ids, mask, labels) in enumerate(data):
        for name, (_, loss_fn) in runs.items():
            t = time.perf_counter()
            loss = loss_fn(ids, mask, labels)
            optims[name].zero_grad()
            loss.backward()
            optims[name].step()
            if i:  # the first batch warms up
                seconds[name] += time.perf_counter() - t
        sequences += len(ids) if i else 0
    for name, s in seconds.items():
        print(f"{name}: {1000 * s / sequences:.3f} ms per sequence ({sequences} sequences)")
    a, b = seconds.values()
    print(f"speed-up: {b / a:.2f}x")


if __name__ == "__main__":
    main()
