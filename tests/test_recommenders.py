"""Shared checks for every recommender, plus known-answer cases (after implicit's model tests)."""

import numpy as np
import pandas as pd
import pytest

from audiorec import recommenders
from audiorec.data.interactions import index_split
from audiorec.evaluation.per_user import evaluate
from audiorec.splits.base import Split
from audiorec.variants import apply_variant


def _pairs(rows):
    return pd.DataFrame(
        {
            "user_id": [r[0] for r in rows],
            "track_id": [r[1] for r in rows],
            "timestamp": pd.Timestamp("2020-01-01"),
            "count": 1,
        }
    )


def two_style_world():
    """Items a* are style A, b* style B; user ua heard only A items, ub only B items."""
    train = _pairs(
        [
            ("ua", "a1"),
            ("ua", "a2"),
            ("ub", "b1"),
            ("ub", "b2"),
            ("uc", "a3"),
            ("uc", "b3"),
            ("uc", "a4"),
            ("uc", "b4"),
        ]
    )
    val = _pairs([("ua", "a4"), ("ub", "b4")])
    test = _pairs([("ua", "a3"), ("ub", "b3")])
    data = index_split(Split(train, val, test))
    style = np.array(
        [[1.0, 0.0] if i.startswith("a") else [0.0, 1.0] for i in data.items], np.float32
    )
    return data, style


@pytest.mark.parametrize("name", recommenders.available())
def test_every_recommender_scores_all_items(name):
    data, style = two_style_world()
    cls = recommenders.get(name)
    params = {"max_epochs": 2} if "max_epochs" in cls.PARAMS else {}
    model = cls(params, seed=1).fit(data, style if cls.uses_content else None)
    history = data.history("train")
    scores = model.score(np.array([0, 1]), history)
    assert tuple(scores.shape) == (2, data.n_items)
    frame, ranking, _ = evaluate(model, data, "test", [3], 8, "cpu")
    assert len(frame) == 2 and frame["n_relevant"].tolist() == [1, 1]
    seen = history.matrix[ranking.users].toarray().astype(bool)
    assert not any(seen[u, i] for u, row in enumerate(ranking.items) for i in row if i >= 0)


def test_knn_recommends_the_users_own_style():
    data, style = two_style_world()
    model = recommenders.get("knn")({}).fit(data, style)
    frame, ranking, _ = evaluate(model, data, "test", [1], 8, "cpu")
    top = data.items[ranking.items[:, 0]].tolist()
    assert top == ["a3", "b3"]
    assert frame["HitRate@1"].tolist() == [1.0, 1.0]


def test_knn_user_is_the_mean_of_raw_item_vectors():
    data, _ = two_style_world()
    v = np.arange(data.n_items * 2, dtype=np.float32).reshape(-1, 2) + 1
    model = recommenders.get("knn")({"similarity": "dot"}).fit(data, v)
    u = data.users.get_loc("uc")
    rows = [data.items.get_loc(i) for i in ("a3", "b3", "a4", "b4")]
    got = model.user_vectors(np.array([u]), data.history("train")).numpy()[0]
    np.testing.assert_allclose(got, v[rows].mean(axis=0))


def test_knn_never_recommends_items_without_embedding():
    data, style = two_style_world()
    available = np.array([i != "a3" for i in data.items])
    model = recommenders.get("knn")({}).fit(data, style, available)
    _, ranking, _ = evaluate(model, data, "test", [4], 8, "cpu")
    assert data.items.get_loc("a3") not in ranking.items


def test_random_baseline_is_seeded():
    data, _ = two_style_world()
    a = recommenders.get("random")({}, seed=3).fit(data).score(np.array([0, 1]), None)
    b = recommenders.get("random")({}, seed=3).fit(data).score(np.array([0, 1]), None)
    c = recommenders.get("random")({}, seed=4).fit(data).score(np.array([0, 1]), None)
    assert (a == b).all() and not (a == c).all()


def test_popularity_ranks_by_number_of_listeners():
    data, _ = two_style_world()
    s = recommenders.get("popularity")({}).fit(data).score(np.array([0]), None)[0]
    counts = dict(zip(data.items, s.tolist(), strict=True))
    assert counts == {"a1": 1, "a2": 1, "a3": 1, "a4": 1, "b1": 1, "b2": 1, "b3": 1, "b4": 1}


def test_shuffled_variant_is_a_permutation_of_available_rows(rng):
    v = rng.normal(size=(20, 4)).astype(np.float32)
    available = np.ones(20, bool)
    available[[3, 7]] = False
    v[~available] = 0
    out, av = apply_variant(v, available, "shuffled", seed=0)
    assert (av == available).all()
    assert not np.allclose(out, v)
    assert sorted(map(tuple, out[available])) == sorted(map(tuple, v[available]))
    assert (out[~available] == 0).all()


def test_random_variant_keeps_shape_and_scale(rng):
    v = rng.normal(0, 3.0, size=(500, 8)).astype(np.float32)
    out, av = apply_variant(v, np.ones(500, bool), "random", seed=0)
    assert out.shape == v.shape and av.all()
    assert abs(out.std() - 3.0) < 0.3
    assert abs(np.corrcoef(out[:, 0], v[:, 0])[0, 1]) < 0.2
