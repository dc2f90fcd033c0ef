"""Packed rows: every sequence placed once within its row, and the loss and gradient of padded rows."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from audiorec.sequences.masking import masked
from audiorec.sequences.packing import assign_rows, pack
from tests.test_trained_models import _model, two_style_world


@pytest.mark.parametrize("seed", range(5))
def test_rows_hold_each_sequence_once_and_never_overflow(seed):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 51, size=300)
    row, offset, n_rows = assign_rows(lengths, 50)
    cells = np.zeros((n_rows, 50), dtype=int)
    for r, o, n in zip(row, offset, lengths, strict=True):
        cells[r, o : o + n] += 1
    assert cells.max() == 1  # no two sequences overlap, none runs past the row
    assert cells.sum() == lengths.sum()
    assert n_rows < len(lengths) and n_rows * 50 < 1.1 * lengths.sum()  # nearly full rows


def test_a_sequence_longer_than_the_row_is_refused():
    with pytest.raises(ValueError, match="60 items"):
        assign_rows(np.array([3, 60]), 50)


def test_packed_batch_gives_the_padded_batchs_loss_and_gradient():
    data, vectors, _ = two_style_world()
    model = _model("bert4rec", "finetune", max_epochs=1, dropout=0.0, mask_prob=0.5)
    model.fit(data, vectors)
    rng = np.random.default_rng(3)
    seqs = [rng.integers(0, data.n_items, size=n) for n in (7, 2, 5, 1, 3, 7, 4, 2, 6, 3)]
    ids, scored, labels = masked(seqs, rng, 0.5, model.net.mask_id, model.net.pad_id)
    packed = pack(ids, scored, labels, model.net.pad_id)
    assert len(packed.ids) < len(ids)
    columns = torch.arange(ids.shape[1]).expand_as(packed.positions)
    assert (
        packed.scored & (packed.positions != columns)
    ).any()  # scored items not at a row's start
    assert sorted(packed.labels.tolist()) == sorted(labels.tolist())
    results = []
    for args in ((ids, scored, labels), (*packed[:3], packed[3:])):
        model.net.zero_grad()
        loss, count = model._loss_sum(*args)
        loss.backward()
        grads = {k: w.grad.clone() for k, w in model.net.named_parameters() if w.grad is not None}
        results.append((loss.item(), count, grads))
    (loss_a, count_a, grads_a), (loss_b, count_b, grads_b) = results
    assert count_a == count_b == len(labels)
    assert loss_b == pytest.approx(loss_a, rel=1e-5)
    assert grads_a.keys() == grads_b.keys()
    for k in grads_a:
        torch.testing.assert_close(grads_b[k], grads_a[k], atol=1e-6, rtol=1e-4, msg=k)
