"""What every registered recommender does (after implicit's shared model tests).

Discovered from the registry: a new recommender module joins these tests
without being named here.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from audiorec import recommenders
from audiorec.evaluation.per_user import evaluate
from tests.test_trained_models import two_style_world

NAMES = recommenders.available()
QUICK = {"max_epochs": 2, "patience": 2}


@pytest.fixture(scope="module")
def world():
    return two_style_world(n_items=16, n_users=20)


def _fitted(name, world, variant="frozen", **params):
    data, vectors, _ = world
    cls = recommenders.get(name)
    settings = {k: v for k, v in {**QUICK, **params}.items() if k in cls.PARAMS}
    model = cls(settings, seed=2, variant=variant if cls.uses_content else "none")
    return model.fit(data, vectors if cls.uses_content else None)


@pytest.mark.parametrize("name", NAMES)
def test_scores_every_item_and_never_ranks_known_ones(name, world):
    data = world[0]
    model = _fitted(name, world)
    history = data.history("train")
    scores = model.score(np.arange(5), history)
    assert tuple(scores.shape) == (5, data.n_items) and scores.dtype == torch.float32
    assert not torch.isnan(scores).any()
    frame, ranking, _ = evaluate(model, data, "test", [3, 5], 4, "cpu")
    assert {"HitRate@3", "Recall@5", "NDCG@5"} <= set(frame.columns)
    seen = history.matrix[ranking.users].toarray().astype(bool)
    assert not any(seen[u, i] for u, row in enumerate(ranking.items) for i in row if i >= 0)


@pytest.mark.parametrize("name", NAMES)
def test_a_saved_model_scores_as_the_fitted_one(name, world, tmp_path):
    """The evaluation job loads what the training job saved (SCORING_STATE)."""
    data = world[0]
    model = _fitted(name, world)
    before = model.score(np.arange(6), data.history("train"))
    model.save(tmp_path / "model.pt")
    loaded = type(model).load(tmp_path / "model.pt", "cpu")
    torch.testing.assert_close(loaded.score(np.arange(6), data.history("train")), before)
    json.dumps(model.info(), default=str)


@pytest.mark.parametrize("name", [n for n in NAMES if recommenders.get(n).uses_content])
def test_every_supported_variant_fits(name, world):
    cls = recommenders.get(name)
    for variant in cls.supported_variants:
        params = {"random_dim": 8} if variant == "random" and "random_dim" in cls.PARAMS else {}
        model = _fitted(name, world, variant, **params)
        assert model.score(np.arange(2), world[0].history("train")).shape[0] == 2
        if cls.content_free(variant, model.params):  # filed under none/: must need no vectors
            free = cls(model.params, seed=2, variant=variant).fit(world[0], None)
            assert free.score(np.arange(2), world[0].history("train")).shape[0] == 2


@pytest.mark.parametrize("name", NAMES)
def test_params_are_a_closed_schema(name):
    cls = recommenders.get(name)
    with pytest.raises(ValueError, match="no_such_param"):
        cls({"no_such_param": 1})
