"""Peak memory with a catalogue of 100,000 items: each model fitted and scored in its own process.

    .venv/bin/python benchmarks/large_catalogue_memory.py            # 20,000 users, 100,000 items

The workflow must train and score on catalogues of this size without ever
holding a dense users x items matrix: KNN and every trained model score
users in blocks (``evaluation.user_batch``, 1,024), BERT4Rec computes its
full-softmax loss in blocks of masked positions (``loss_chunk``), the
shallow net samples negatives per batch. This script makes a synthetic
listening log of that size (every item heard at least once before the test
date, the rest drawn with a Zipf-like popularity, timestamps over 180 days),
applies the study's global time split (test date at day 150, users halved
into validation and test), and for each model runs one training epoch on
item vectors of MusiCNN's width (200), then the full-ranking evaluation of
the test users through the workflow's own ``evaluate``. Each model runs in a
fresh process, so its peak RSS is its own; beside it stand the process's
RSS once the data is loaded and what one dense float32 users x items matrix
of this split would take.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

MODELS = {
    "knn": {},
    "shallow": {"max_epochs": 1},
    "bert4rec": {"max_epochs": 1},
}
DAY = 86_400


def synthetic_log(users: int, items: int, per_user: float, seed: int):
    """(user_id, track_id, timestamp) events; every item once before the test date, the rest Zipf-like."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    counts = np.maximum(2, rng.poisson(per_user, users))
    n = int(counts.sum())
    if n < items:
        raise SystemExit(f"{n} events cannot cover {items} items; raise --events-per-user")
    weights = 1.0 / (np.arange(items) + 10.0) ** 0.8
    item = rng.choice(items, n, p=weights / weights.sum())
    item[rng.choice(n, items, replace=False)] = rng.permutation(items)  # every item heard
    user = np.repeat(np.arange(users), counts)
    seconds = rng.uniform(0, 180 * DAY, n)
    covered = np.zeros(n, bool)
    covered[np.unique(item, return_index=True)[1]] = True
    seconds[covered] = rng.uniform(0, 150 * DAY, covered.sum())  # first hearing of each item
    return pd.DataFrame(
        {
            "user_id": pd.Categorical([f"u{u:06d}" for u in user]),
            "track_id": pd.Categorical([f"t{i:06d}" for i in item]),
            "timestamp": pd.Timestamp("2020-01-01") + pd.to_timedelta(seconds, unit="s"),
        }
    )


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def one_model(args) -> dict:
    import numpy as np
    import torch

    from audiorec import recommenders
    from audiorec.data.interactions import index_split
    from audiorec.evaluation.per_user import evaluate
    from audiorec.splits import GlobalTimeSplitter

    torch.set_num_threads(args.threads)
    events = synthetic_log(args.users, args.items, args.events_per_user, args.seed)
    split = GlobalTimeSplitter(test_date="2020-05-30", val_fraction=0.5, seed=42).split(events)
    data = index_split(split)
    del events, split
    vectors = np.random.default_rng(1).standard_normal((data.n_items, 200)).astype(np.float32)
    loaded = rss_mb()
    model = recommenders.get(args.model)(MODELS[args.model], seed=0, variant="frozen")
    started = time.perf_counter()
    model.fit(data, vectors)
    fit = time.perf_counter() - started
    started = time.perf_counter()
    frame = evaluate(model, data, "test", [10, 50], 1024, "cpu")[0]
    evaluated = time.perf_counter() - started
    return {
        "model": args.model,
        "train users": int(data.frames["train"]["uidx"].nunique()),
        "items": data.n_items,
        "train pairs": len(data.frames["train"]),
        "test users": len(frame),
        "RSS with data loaded, MB": round(loaded),
        "peak RSS, MB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "dense users x items float32, MB": round(data.n_users * data.n_items * 4 / 2**20),
        "fit s (1 epoch)": round(fit, 1),
        "evaluation s": round(evaluated, 1),
        "HitRate@50": round(float(frame["HitRate@50"].mean()), 4),
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--users", type=int, default=20_000)
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--events-per-user", type=float, default=20.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", choices=list(MODELS), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.model:
        print("RESULT " + json.dumps(one_model(args)), flush=True)
        return

    rows = []
    for name in MODELS:
        cmd = [sys.executable, __file__, "--model", name]
        for flag in ("users", "items", "events_per_user", "threads", "seed"):
            cmd += [f"--{flag.replace('_', '-')}", str(getattr(args, flag))]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
        if done.returncode or line is None:
            sys.exit(f"{name} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
        rows.append(json.loads(line[7:]))
        print(json.dumps(rows[-1]), flush=True)
    cols = list(rows[0])
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        print(
            "| "
            + " | ".join(f"{r[c]:,}" if isinstance(r[c], int) else str(r[c]) for c in cols)
            + " |"
        )


if __name__ == "__main__":
    main()
