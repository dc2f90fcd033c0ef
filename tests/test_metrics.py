import numpy as np
import pytest

from audiorec.evaluation.metrics import from_hits


def test_hand_computed_example():
    # user 0: relevant at ranks 1 and 3 of 4 shown, 3 relevant in all
    # user 1: nothing relevant in the list, 1 relevant
    hits = np.array([[1, 0, 1, 0], [0, 0, 0, 0]], bool)
    m = from_hits(hits, n_relevant=[3, 1], ks=[2, 4])
    assert m["HitRate@2"].tolist() == [1.0, 0.0]
    assert m["Recall@2"].tolist() == pytest.approx([1 / 3, 0.0])
    assert m["Recall@4"].tolist() == pytest.approx([2 / 3, 0.0])
    dcg4 = 1 / np.log2(2) + 1 / np.log2(4)
    idcg4 = 1 / np.log2(2) + 1 / np.log2(3) + 1 / np.log2(4)  # min(3 relevant, 4) positions
    assert m["NDCG@4"][0] == pytest.approx(dcg4 / idcg4)
    idcg2 = 1 / np.log2(2) + 1 / np.log2(3)  # min(3, 2) positions
    assert m["NDCG@2"][0] == pytest.approx(1 / idcg2)


def test_mrr_and_precision_by_hand():
    hits = np.array([[0, 0, 1, 1], [0, 0, 0, 0], [1, 0, 0, 0]], bool)
    m = from_hits(hits, n_relevant=[2, 1, 1], ks=[2, 4])
    assert m["MRR@4"].tolist() == pytest.approx([1 / 3, 0.0, 1.0])
    assert m["MRR@2"].tolist() == pytest.approx([0.0, 0.0, 1.0])  # the first hit is past 2
    assert m["Precision@4"].tolist() == pytest.approx([0.5, 0.0, 0.25])
    assert m["Precision@2"].tolist() == pytest.approx([0.0, 0.0, 0.5])


def test_recall_is_not_capped_at_k():
    hits = np.ones((1, 2), bool)
    m = from_hits(hits, n_relevant=[10], ks=[2])
    assert m["Recall@2"][0] == pytest.approx(0.2)  # capped recall would say 1.0
    assert m["NDCG@2"][0] == pytest.approx(1.0)


def test_short_lists_count_missing_ranks_as_misses():
    m = from_hits(np.array([[0, 1]], bool), n_relevant=[1], ks=[5])
    assert m["HitRate@5"][0] == 1.0
    assert m["NDCG@5"][0] == pytest.approx(1 / np.log2(3))


def test_user_without_relevant_items_is_refused():
    with pytest.raises(ValueError):
        from_hits(np.zeros((1, 3), bool), n_relevant=[0], ks=[3])


def test_agrees_with_ranx_on_random_data(rng):
    ranx = pytest.importorskip("ranx")
    n_users, n_items, k = 300, 200, 50
    qrels, run, hits, n_rel = {}, {}, [], []
    for u in range(n_users):
        rel = rng.choice(n_items, rng.integers(1, 30), replace=False)
        ranked = rng.permutation(n_items)[:k]
        qrels[f"u{u}"] = {f"i{i}": 1 for i in rel}
        run[f"u{u}"] = {f"i{i}": float(k - r) for r, i in enumerate(ranked)}
        hits.append(np.isin(ranked, rel))
        n_rel.append(len(rel))
    ours = from_hits(np.array(hits), np.array(n_rel), ks=[10, 50])
    q, r = ranx.Qrels(qrels), ranx.Run(run)
    metrics = [
        f"{m}@{k}" for k in (10, 50) for m in ("hit_rate", "recall", "ndcg", "mrr", "precision")
    ]
    ranx.evaluate(q, r, metrics, return_mean=False)
    names = {
        "hit_rate": "HitRate",
        "recall": "Recall",
        "ndcg": "NDCG",
        "mrr": "MRR",
        "precision": "Precision",
    }
    for metric in metrics:
        base, k_ = metric.split("@")
        theirs = np.array([r.scores[metric][f"u{u}"] for u in range(n_users)])
        np.testing.assert_allclose(ours[f"{names[base]}@{k_}"], theirs, atol=1e-12, err_msg=metric)
