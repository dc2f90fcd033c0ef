import numpy as np
import scipy.sparse as sp
import torch

from audiorec.evaluation.ranking import rank
from audiorec.evaluation.selection import top_k


def _csr(rows, n_users, n_items):
    r, c = zip(*[(u, i) for u, items in rows.items() for i in items], strict=True)
    return sp.csr_matrix((np.ones(len(r)), (r, c)), shape=(n_users, n_items))


def test_seen_items_are_never_ranked_and_hits_are_marked():
    scores = torch.tensor([[5.0, 4.0, 3.0, 2.0, 1.0], [1.0, 2.0, 3.0, 4.0, 5.0]])
    seen = _csr({0: [0, 1], 1: [4]}, 2, 5)
    relevant = _csr({0: [3], 1: [0]}, 2, 5)
    out = rank(lambda users: scores[users], np.array([0, 1]), seen, relevant, k=3, batch_size=1)
    assert out.items.tolist() == [[2, 3, 4], [3, 2, 1]]
    assert out.hits.tolist() == [[False, True, False], [False, False, False]]


def test_fewer_candidates_than_k_leave_empty_slots():
    scores = torch.zeros((1, 3))
    seen = _csr({0: [0, 1]}, 1, 3)
    relevant = _csr({0: [0]}, 1, 3)  # a seen item can never count as a hit
    out = rank(lambda users: scores[users], np.array([0]), seen, relevant, k=5)
    assert out.items.tolist() == [[2, -1, -1, -1, -1]]
    assert not out.hits.any()


def test_batches_do_not_change_the_result(rng):
    n_users, n_items = 37, 50
    s = torch.from_numpy(rng.random((n_users, n_items)).astype(np.float32))
    seen = sp.random(n_users, n_items, density=0.2, format="csr", random_state=1)
    rel = sp.random(n_users, n_items, density=0.1, format="csr", random_state=2)
    users = np.arange(n_users)
    a = rank(lambda u: s[u], users, seen, rel, k=10, batch_size=7)
    b = rank(lambda u: s[u], users, seen, rel, k=10, batch_size=1000)
    assert (a.items == b.items).all() and (a.hits == b.hits).all()


def test_wide_rows_rank_exactly_as_torch_topk(rng):
    """top_k's shortcut (only the scores of the blocks whose maxima reach the k-th largest)
    on a catalogue whose last segment is short, with items outside the candidate set, seen
    items and a row of ties: torch.topk's ranking, index for index."""
    n_users, n_items, k = 70, 7161, 50  # 32 segments of 224 columns, the last one of 217
    u = torch.from_numpy(rng.standard_normal((n_users, 24)).astype(np.float32))
    u[5] = 0.0  # every score of user 5 is 0: its top-k is decided by ties
    v = torch.from_numpy(rng.standard_normal((24, n_items)).astype(np.float32))
    v[:, -25:] += 3.0  # the partial block holds many users' best items
    seen = sp.random(n_users, n_items, density=0.02, format="csr", random_state=3)
    rel = sp.random(n_users, n_items, density=0.01, format="csr", random_state=4)
    candidates = np.ones(n_items, bool)
    candidates[rng.choice(n_items, 500, replace=False)] = False
    users = np.arange(n_users)
    for cand in (None, candidates):
        out = rank(
            lambda block: u[block] @ v, users, seen, rel, k=k, batch_size=32, candidates=cand
        )
        whole = u @ v
        whole[torch.from_numpy(seen.toarray() > 0)] = float("-inf")
        if cand is not None:
            whole[:, ~torch.from_numpy(cand)] = float("-inf")
        assert np.array_equal(out.items, torch.topk(whole, k, dim=1).indices.numpy())
        assert (out.items >= n_items - 25).any(axis=1).sum() > 10


def test_rows_top_k_cannot_shortcut_are_ranked_by_torch_topk(rng):
    """A row holding NaN, a row with fewer finite scores than k, a row tied at the k-th
    place and ordinary rows, all through the compiled kernel's width: torch.topk's result."""
    scores = torch.from_numpy(rng.standard_normal((6, 8000)).astype(np.float32))
    scores[1, 17] = float("nan")
    scores[2, 40:] = float("-inf")  # 40 finite scores, k = 50
    scores[3, :] = torch.arange(8000, dtype=torch.float32) // 100  # ties everywhere
    scores[4, 7999] = float("inf")
    for k in (1, 50):
        values, index = top_k(scores, k)
        expected = torch.topk(scores, k, dim=1)
        assert torch.equal(index, expected.indices)
        assert torch.equal(values.nan_to_num(), expected.values.nan_to_num())
