"""EASE and implicit ALS, the strong collaborative baselines, against their references."""

from __future__ import annotations

import numpy as np
import pytest

from audiorec import recommenders
from audiorec.evaluation.ranking import rank
from tests.test_trained_models import two_style_world


@pytest.fixture(scope="module")
def world():
    return two_style_world(n_items=40, n_users=60)


@pytest.mark.parametrize("precision", ["fp64", "fp32"])
def test_ease_is_its_closed_form(world, precision):
    data, _, _ = world
    x = data.matrix("train").toarray().astype(np.float64)
    p = np.linalg.inv(x.T @ x + 500.0 * np.eye(x.shape[1]))
    b = -p / np.diag(p)
    np.fill_diagonal(b, 0.0)
    model = recommenders.get("ease")({"l2": 500.0, "precision": precision}).fit(data)
    users = np.arange(data.n_users)
    np.testing.assert_allclose(
        model.score(users, data.history("train")).numpy(), x @ b, rtol=1e-4, atol=1e-6
    )


def test_ease_refuses_a_catalogue_too_large_for_memory(world):
    data, _, _ = world
    with pytest.raises(MemoryError, match="ELSA is its factorised form"):
        recommenders.get("ease")({"max_gb": 1e-6}).fit(data)


def test_ials_ranks_as_implicits_own_recommend(world):
    from implicit.cpu.als import AlternatingLeastSquares

    data, _, _ = world
    params = {"factors": 8, "iterations": 5, "regularization": 0.05, "alpha": 2.0}
    ours = recommenders.get("ials")(params, seed=3).fit(data)
    x = data.matrix("train").astype(np.float32).tocsr()
    reference = AlternatingLeastSquares(random_state=3, num_threads=1, **params)
    reference.fit(x, show_progress=False)
    np.testing.assert_allclose(ours._items.numpy(), reference.item_factors, rtol=1e-4, atol=1e-5)
    users = np.arange(data.n_users)
    ranked = rank(lambda b: ours.score(b, data.history("train")), users, x, x, k=5)
    ids, _ = reference.recommend(users, x[users], N=5, filter_already_liked_items=True)
    np.testing.assert_array_equal(ranked.items, ids)
