"""Cold-start evaluation: cold tracks enter the catalogue; content scores them, a random table cannot."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from audiorec import recommenders
from audiorec.data.interactions import index_split
from audiorec.evaluation.per_user import candidates_for, evaluate
from audiorec.splits.base import Split


@pytest.fixture(scope="module")
def world():
    """Two styles; each user hears one. Test: hot items of the user's style, and cold ones
    (new releases) of both styles, two of the user's own each."""
    rng = np.random.default_rng(0)
    t0 = pd.Timestamp("2020-01-01")
    items = [f"h{i:02d}" for i in range(20)]
    cold_items = [f"c{i:02d}" for i in range(10)]
    style = {t: int(t[1:]) % 2 for t in items + cold_items}
    rows = {"train": [], "val": [], "test": [], "cold": []}
    for u in range(30):
        mine = [t for t in items if style[t] == u % 2]
        pool = rng.permutation(mine)
        new = rng.permutation([t for t in cold_items if style[t] == u % 2])[:2]
        for part, chosen in (
            ("train", pool[:6]),
            ("val", pool[6:7]),
            ("test", pool[7:9]),
            ("cold", new),
        ):
            rows[part] += [
                (f"u{u:02d}", t, t0 + pd.Timedelta(hours=k)) for k, t in enumerate(chosen)
            ]
    frames = {
        p: pd.DataFrame(r, columns=["user_id", "track_id", "timestamp"]).assign(count=1)
        for p, r in rows.items()
    }
    data = index_split(Split(frames["train"], frames["val"], frames["test"], frames["cold"]))
    vectors = np.array(
        [[1.0, 0.0] if style[t] == 0 else [0.0, 1.0] for t in data.items], np.float32
    )
    return data, vectors + 0.01 * rng.standard_normal(vectors.shape).astype(np.float32)


def test_cold_tracks_are_in_the_catalogue_and_each_block_ranks_its_own(world):
    data, _ = world
    assert data.n_items == 30 and len(data.cold_items) == 10
    assert candidates_for(data, "cold").sum() == 10 and candidates_for(data, "test").sum() == 20
    model = recommenders.get("popularity")({}).fit(data)
    _, hot, _ = evaluate(model, data, "test", [5], 8, "cpu")
    _, cold, _ = evaluate(model, data, "cold", [5], 8, "cpu")
    cold_set = set(data.cold_items)
    assert not cold_set & set(hot.items.ravel())
    assert set(cold.items.ravel()) <= cold_set


def test_content_scores_cold_tracks_a_random_table_does_not(world):
    data, vectors = world
    knn = recommenders.get("knn")({}).fit(data, vectors)
    frame, _, _ = evaluate(knn, data, "cold", [5], 8, "cpu")
    assert frame["Recall@5"].mean() == 1.0  # the user's style's 5, among 10 new tracks
    shallow = recommenders.get("shallow")(
        {"max_epochs": 3, "patience": 3, "random_dim": 8}, seed=0, variant="random"
    ).fit(data, vectors)
    frame, _, _ = evaluate(shallow, data, "cold", [5], 8, "cpu")
    # untrained cold rows: chance level (Recall@5 about 0.5)
    assert frame["Recall@5"].mean() < 0.8


@pytest.mark.parametrize(
    ("name", "content"), [("hybrid", True), ("bimodal", True), ("elsa", False)]
)
def test_the_journals_models_on_cold_tracks(world, name, content):
    """The hybrid and bimodal models reach cold tracks through their content; ELSA cannot."""
    data, vectors = world
    cls = recommenders.get(name)
    params = {
        "max_epochs": 30,
        "patience": 30,
        "hidden": 16,
        "factors": 16,
        "elsa_factors": 16,
        "elsa_epochs": 20,
        "batch_size": 32,
    }
    model = cls(
        {k: v for k, v in params.items() if k in cls.PARAMS},
        seed=0,
        variant="frozen" if cls.uses_content else "none",
    )
    model.fit(data, vectors if cls.uses_content else None)
    recall = evaluate(model, data, "cold", [5], 8, "cpu")[0]["Recall@5"].mean()
    assert (recall > 0.8) if content else (recall < 0.8), recall
