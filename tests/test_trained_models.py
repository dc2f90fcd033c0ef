"""Shallow net and BERT4Rec: known answers, masking, frozen tables, resuming after a kill."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
import torch

from audiorec import recommenders, training
from audiorec.data.interactions import index_split
from audiorec.evaluation.metrics import from_hits
from audiorec.evaluation.per_user import evaluate
from audiorec.evaluation.ranking import rank
from audiorec.recommenders.trained import TrainedRecommender
from audiorec.sequences import masking, windows
from audiorec.sequences.loss import chunked_cross_entropy
from audiorec.splits.base import Split
from audiorec.training import Interrupted

FAST = {"max_epochs": 6, "patience": 3}
# every registered recommender with a trained item table: new ones join these tests
TRAINED = [
    n for n in recommenders.available() if issubclass(recommenders.get(n), TrainedRecommender)
]
# ... of which those whose item table is the backbone's vectors (frozen or fine-tuned)
TABLES = [n for n in TRAINED if "finetune" in recommenders.get(n).supported_variants]


def _variant(name: str) -> str:
    """A variant that trains something, whatever the model."""
    variants = recommenders.get(name).supported_variants
    return "finetune" if "finetune" in variants else variants[0] if variants else "none"


def two_style_world(n_items=24, n_users=40, seed=0):
    """Items i0..: even items style A, odd style B; each user hears one style only.

    Train: 6 random items of the user's style; validation and test: 2 more each.
    Item vectors: the style as a one-hot plus a little noise.
    """
    rng = np.random.default_rng(seed)
    style = np.arange(n_items) % 2
    rows = {"train": [], "val": [], "test": []}
    t0 = pd.Timestamp("2020-01-01")
    for u in range(n_users):
        pool = rng.permutation(np.flatnonzero(style == u % 2))
        for part, items in (("train", pool[:6]), ("val", pool[6:8]), ("test", pool[8:10])):
            rows[part] += [
                (f"u{u:03d}", f"i{i:03d}", t0 + pd.Timedelta(hours=k + 10 * (part != "train")))
                for k, i in enumerate(items)
            ]
    frames = {
        p: pd.DataFrame(r, columns=["user_id", "track_id", "timestamp"]).assign(count=1)
        for p, r in rows.items()
    }
    data = index_split(Split(frames["train"], frames["val"], frames["test"]))
    item_style = np.array([int(i[1:]) % 2 for i in data.items])
    vectors = (np.eye(2)[item_style] + 0.05 * rng.standard_normal((len(item_style), 2))).astype(
        np.float32
    )
    vectors = np.hstack(
        [vectors, 0.05 * rng.standard_normal((len(item_style), 6)).astype(np.float32)]
    )  # width 8
    return data, vectors, item_style


@pytest.fixture(scope="module")
def world():
    return two_style_world()


def _model(name, variant="frozen", **params):
    return recommenders.get(name)({**FAST, **params}, seed=0, variant=variant)


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("shallow", {"batch_size": 64}),
        (
            "bert4rec",
            {"batch_size": 8, "max_epochs": 30, "patience": 30, "dropout": 0.0, "lr": 0.01},
        ),
        (
            "sasrec",
            {"batch_size": 8, "max_epochs": 30, "patience": 30, "dropout": 0.0, "lr": 0.01},
        ),
    ],
)
def test_a_one_style_user_gets_that_styles_items(world, name, params):
    data, vectors, item_style = world
    model = _model(name, **params).fit(data, vectors)
    _, ranking, _ = evaluate(model, data, "test", [4], 64, "cpu")
    user_style = np.array([int(u[1:]) % 2 for u in data.users[ranking.users]])
    # 12 items per style, 6 heard in train and 2 in validation: 4 of the user's style remain
    same = item_style[ranking.items] == user_style[:, None]
    assert same.mean() > 0.9, same.mean()


@pytest.mark.parametrize("name", TABLES)
def test_frozen_table_stays_and_finetune_moves(world, name):
    data, vectors, _ = world
    frozen = _model(name, "frozen").fit(data, vectors)
    np.testing.assert_array_equal(frozen.net.items.detach().numpy(), vectors)
    tuned = _model(name, "finetune").fit(data, vectors)
    assert not np.allclose(tuned.net.items.detach().numpy(), vectors)
    # the record says how far: 0 for frozen, the mean relative change of the vectors for tuned
    assert frozen.item_table_change() == 0.0
    moved = np.linalg.norm(tuned.net.items.detach().numpy() - vectors, axis=1)
    expected = (moved / np.linalg.norm(vectors, axis=1)).mean()
    assert tuned.item_table_change() == pytest.approx(expected, rel=1e-5) and expected > 0


@pytest.mark.parametrize("name", TABLES)
def test_random_variant_has_its_own_width_and_learns(world, name):
    data, vectors, _ = world
    model = _model(name, "random", random_dim=16).fit(data, vectors)
    assert model.net.items.shape == (data.n_items, 16) and model.net.items.requires_grad
    assert model.progress.history[-1]["train_loss"] < model.progress.history[0]["train_loss"]


@pytest.mark.parametrize("name", TRAINED)
def test_resuming_after_a_kill_gives_the_uninterrupted_result(world, name, tmp_path, monkeypatch):
    data, vectors, _ = world
    settings = {**FAST, "max_epochs": 5, "patience": 5}
    if name == "bimodal":
        settings["elsa_epochs"] = 2
    variant = _variant(name)
    whole = recommenders.get(name)(settings, seed=0, variant=variant).fit(data, vectors)

    def kill_after_epoch_2(epoch):
        if epoch == 2:
            raise Interrupted("killed after the epoch-2 checkpoint")

    ckpt = str(tmp_path / "checkpoint.pt")
    with monkeypatch.context() as m:
        m.setattr(  # where every trained model's train_net finds it
            "audiorec.recommenders.trained.train",
            functools.partial(training.train, after_epoch=kill_after_epoch_2),
        )
        with pytest.raises(Interrupted):
            recommenders.get(name)(settings, seed=0, variant=variant, checkpoint=ckpt).fit(
                data, vectors
            )
    resumed = recommenders.get(name)(settings, seed=0, variant=variant, checkpoint=ckpt).fit(
        data, vectors
    )

    def losses(model):
        return [(h["epoch"], h["train_loss"], h["val_loss"]) for h in model.progress.history]

    assert losses(resumed) == losses(whole)
    assert (whole.progress.resumed_after, resumed.progress.resumed_after) == (0, 3)
    for (k, a), (_, b) in zip(
        whole.net.state_dict().items(), resumed.net.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), k


def test_checkpoint_of_other_settings_is_not_resumed(world, tmp_path):
    data, vectors, _ = world
    ckpt = tmp_path / "checkpoint.pt"
    recommenders.get("shallow")(
        {**FAST, "max_epochs": 2}, seed=0, variant="finetune", checkpoint=str(ckpt)
    ).fit(data, vectors)
    other = recommenders.get("shallow")(
        {**FAST, "max_epochs": 2, "margin": 0.5}, seed=0, variant="finetune", checkpoint=str(ckpt)
    ).fit(data, vectors)
    assert len(other.progress.history) == 2  # trained afresh, not resumed at epoch 2
    assert other.progress.resumed_after == 0


def test_bert4rec_masking_and_windows(world):
    data, vectors, _ = world
    model = _model("bert4rec", max_epochs=1).fit(data, vectors)
    seqs = [np.array([3, 5, 7]), np.array([1, 2, 4, 6, 8, 9])]
    ids, mask, labels = masking.masked(
        seqs, np.random.default_rng(1), 0.2, model.net.mask_id, model.net.pad_id
    )
    assert ids.shape == (2, 6)
    assert (ids[0, 3:] == model.net.pad_id).all() and not mask[
        0, 3:
    ].any()  # padding is never masked
    original = torch.from_numpy(np.array([[3, 5, 7, -1, -1, -1], [1, 2, 4, 6, 8, 9]]))
    assert (ids[mask] == model.net.mask_id).all()
    assert torch.equal(labels, original[mask])
    assert torch.equal(ids[~mask & (original >= 0)], original[~mask & (original >= 0)])

    hist = data.history("train")
    window = windows.recent(hist, np.array([0, 1]), 4, model.net.pad_id, append=model.net.mask_id)
    for row, u in zip(window, (0, 1), strict=True):
        assert row[:3].tolist() == hist.sequence(u)[-3:].tolist() and row[3] == model.net.mask_id


def test_bert4rec_padding_does_not_change_outputs(world):
    data, vectors, _ = world
    model = _model("bert4rec", max_epochs=1).fit(data, vectors)
    net = model.net.eval()
    short = torch.tensor([[1, 2, net.mask_id]])
    batch = torch.tensor([[1, 2, net.mask_id, net.pad_id, net.pad_id], [4, 5, 6, 7, net.mask_id]])
    with torch.no_grad():
        alone = net.encode(short)[0]
        padded = net.encode(batch)[0, :3]
    torch.testing.assert_close(alone, padded, atol=1e-5, rtol=1e-5)


def test_bert4rec_scores_follow_the_order_of_history(world):
    """The prediction window is the most recent items, so order matters (unlike KNN)."""
    data, vectors, _ = world
    model = _model("bert4rec", max_epochs=1, predict_window=2).fit(data, vectors)
    hist = data.history("train")
    u = 0
    window = windows.recent(hist, np.array([u]), 2, model.net.pad_id, append=model.net.mask_id)[0]
    assert window.tolist() == [hist.sequence(u)[-1], model.net.mask_id]


def test_chunked_loss_equals_one_block(world):
    data, vectors, _ = world
    model = _model("bert4rec", max_epochs=1).fit(data, vectors)
    table = model.net.table()
    h = torch.randn(50, table.shape[1], requires_grad=True)
    y = torch.randint(0, data.n_items, (50,))
    a = chunked_cross_entropy(h, y, table, model.net.logits, chunk=7)
    (ga,) = torch.autograd.grad(a, h)
    b = chunked_cross_entropy(h, y, table, model.net.logits, chunk=1000)
    (gb,) = torch.autograd.grad(b, h)
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(ga, gb)


def test_projection_for_wide_embeddings(world):
    data, vectors, _ = world
    wide = np.hstack([vectors] * 5)[:, :39]  # 39 is not divisible by 2 heads
    for name in ("bert4rec", "sasrec"):
        with pytest.raises(
            ValueError, match=r"not divisible by 2 attention heads; set params\.project_to"
        ):
            _model(name, max_epochs=1).fit(data, wide)
    model = _model("bert4rec", max_epochs=1, project_to=16).fit(data, wide)
    assert model.net.table().shape == (data.n_items + 2, 16)
    assert model.score(np.array([0, 1]), data.history("train")).shape == (2, data.n_items)


def test_shallow_users_start_at_their_items_mean(world):
    data, vectors, _ = world
    model = _model("shallow", max_epochs=1, train_users=False).fit(data, vectors)
    m = data.matrix("train")
    expected = (m @ vectors) / np.asarray(m.sum(axis=1))
    np.testing.assert_allclose(model.net.users.detach().numpy(), expected, rtol=1e-5)


def test_early_stopping_stops(world):
    data, vectors, _ = world
    model = _model("shallow", "finetune", max_epochs=200, patience=2, lr=0.5).fit(data, vectors)
    assert model.progress.epoch < 200
    assert model.progress.epoch - 1 - model.progress.best_epoch == 2


@pytest.mark.gpu
@pytest.mark.parametrize("name", TRAINED)
def test_cuda_with_mixed_precision(world, name):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    data, vectors, _ = world
    model = recommenders.get(name)({**FAST}, seed=0, variant="frozen", device="cuda").fit(
        data, vectors
    )
    scores = model.score(np.arange(4), data.history("train"))
    assert scores.device.type == "cuda" and torch.isfinite(scores).all()


def test_training_windows(world):
    data, _, _ = world
    hist = data.history("train")
    last = windows.training_sequences(hist, data.n_users, 4, "last")
    every = windows.training_sequences(hist, data.n_users, 4, "all")
    assert all(len(s) == 4 for s in last)  # six train items each: the most recent four
    assert [len(s) for s in every[:2]] == [4, 2]  # the last four, then the two before them
    assert np.array_equal(np.concatenate(every[:2][::-1]), hist.sequence(0))


def test_bert4rec_fit_trains_on_the_chosen_windows(world):
    data, vectors, _ = world
    n = int((data.history("train").lengths() > 0).sum())
    for mode, expected in (("last", n), ("all", 2 * n)):
        model = _model("bert4rec", max_epochs=1, max_len=4, train_windows=mode)
        model.fit(data, vectors)
        assert len(model._train_seqs) == expected


def test_every_prefix_training_sequences(world):
    data, _, _ = world
    hist = data.history("train")
    whole = windows.training_sequences(hist, data.n_users, 4, "every_prefix")
    seqs = windows.epoch_sequences(whole, 4, "every_prefix")
    full = [hist.sequence(u) for u in range(data.n_users) if len(hist.sequence(u))]
    assert len(seqs) == sum(len(f) - 1 for f in full)  # as many as RecBole's: n - 1 per history
    expected = [f[max(0, e - 4) : e] for f in full for e in range(2, len(f) + 1)]
    assert all(np.array_equal(a, b) for a, b in zip(seqs, expected, strict=True))
    assert {len(s) for s in seqs} == {2, 3, 4}


def test_bert4rec_can_select_its_epoch_by_validation_ndcg(world):
    data, vectors, _ = world
    model = _model("bert4rec", "random", max_epochs=6, patience=6, select_by="ndcg", lr=0.01)
    model.fit(data, vectors)
    recorded = [e["val_loss"] for e in model.progress.history]
    assert all(-1.0 <= v <= 0.0 for v in recorded)
    best = model.progress.best_epoch
    assert recorded[best] == min(recorded)
    # the restored weights are the best epoch's: their validation NDCG@10 is the one recorded
    assert model._val_ndcg() == pytest.approx(-recorded[best], abs=1e-6)
    assert model._val_ndcg() > 0
    # ... ranked with the user's train items removed, as the workflow ranks
    users, hist, relevant, n_relevant = model._val_ranking
    r = rank(lambda b: model.score(b, hist), users, hist.matrix, relevant, k=10)
    expected = float(from_hits(r.hits, n_relevant, [10])["NDCG@10"].mean())
    assert model._val_ndcg() == pytest.approx(expected, abs=1e-6)
