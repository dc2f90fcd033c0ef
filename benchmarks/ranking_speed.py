"""Full-ranking evaluation against the bare matrix product, side by side in one run.

    .venv/bin/python benchmarks/ranking_speed.py [--users 20000] [--threads 2]

Music4All-Onion's catalogue (56,512 items), 20,000 users with 50 seen items
and 5 relevant ones each, top-50, at the study's widths (200: MusiCNN, 1024:
MERT). For each width it times, best of `--repeats`:

- bound: the same products into one reused buffer, block by block, nothing
  else, at the fastest of the block sizes 64 to 1,024 (the most any full
  ranking can reach);
- rank(): ``audiorec.evaluation.ranking.rank`` with a plain ``U[block] @ V.T``
  scorer that writes into the buffer rank() hands it (``out=``), with seen
  items masked, top-k and hits, at the block size it chooses for the width;
- rank() without ``out``: the scorer allocating its own matrix per block;

and prints users/s and the ratio to the bound. The three are timed in turn within each
repeat, so that the machine's speed drifting during the run affects them alike. Checks that
both rank() paths give the same items and hits, and that ``top_k`` equals ``torch.topk``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.sparse as sp
import torch

from audiorec.evaluation.ranking import block_size, rank, top_k


def sparse_rows(rng, n_users, n_items, per_user) -> sp.csr_matrix:
    cols = np.concatenate([rng.choice(n_items, per_user, replace=False) for _ in range(n_users)])
    rows = np.repeat(np.arange(n_users), per_user)
    return sp.csr_matrix((np.ones(len(rows), bool), (rows, cols)), shape=(n_users, n_items))


def best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=20000)
    ap.add_argument("--items", type=int, default=56512)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--dims", type=int, nargs="+", default=[200, 1024])
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    seen = sparse_rows(rng, args.users, args.items, 50)
    relevant = sparse_rows(rng, args.users, args.items, 5)
    users = np.arange(args.users)
    print(f"{args.items} items, {args.users} users, top-50, {args.threads} threads")
    print("dim  block  bound users/s  rank() users/s  ratio  rank() without out=  ratio")
    for dim in args.dims:
        measure(dim, args, rng, seen, relevant, users)


def measure(dim, args, rng, seen, relevant, users) -> None:
    u = torch.from_numpy(rng.standard_normal((args.users, dim), dtype=np.float32))
    vt = torch.from_numpy(rng.standard_normal((args.items, dim), dtype=np.float32)).T.contiguous()
    b = block_size(args.items, args.users, dim)

    def bound_at(size):
        buffer = torch.empty((size, args.items))

        def products():
            for s in range(0, args.users, size):
                block = u[s : s + size]
                torch.matmul(block, vt, out=buffer[: len(block)])

        return products

    def scorer(block, out=None):
        return torch.matmul(u[block], vt, out=out)

    def plain(block):
        return u[block] @ vt

    results = {}

    def ranked(fn, key):
        def run():
            results[key] = rank(fn, users, seen, relevant, k=50, width=dim)

        return run

    # interleaved, best of `repeats` each, so that a drift in the machine's speed during the
    # run weighs on every side alike; the bound is the fastest of the block sizes rank()
    # could choose
    runs = {"bound": [], "out": [], "plain": []}
    for _ in range(args.repeats):
        runs["bound"].append(min(best(bound_at(size), 1) for size in (64, 128, 256, 512, 1024)))
        runs["out"].append(best(ranked(scorer, "out"), 1))
        runs["plain"].append(best(ranked(plain, "plain"), 1))
    t_bound, t_rank, t_plain = (min(runs[key]) for key in ("bound", "out", "plain"))
    same = np.array_equal(results["out"].items, results["plain"].items) and np.array_equal(
        results["out"].hits, results["plain"].hits
    )
    assert same, "rank() with and without out= disagree"
    scores = torch.matmul(u[:256], vt)
    reference, ours = torch.topk(scores, 50, dim=1), top_k(scores, 50)
    assert torch.equal(reference[0], ours[0]) and torch.equal(reference[1], ours[1])
    n = args.users
    print(
        f"{dim:<4} {b:<6} {n / t_bound:>14,.0f} {n / t_rank:>15,.0f} {t_bound / t_rank:>6.2f}"
        f" {n / t_plain:>20,.0f} {t_bound / t_plain:>6.2f}"
    )


if __name__ == "__main__":
    main()
