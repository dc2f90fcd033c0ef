"""Real listening data: the trained models on the Music4All-Onion slice, split by time within its month.

    .venv/bin/python benchmarks/m4a_slice.py [--test-date 2019-02-22]

../shared/data/m4a-onion-slice/val.pqt holds 48,787 real user-track pairs of
February 2019 (2,459 users). It has no audio, so content models are run with
their content-free table (variant ``random``, 128 wide as the study's "random
init" rows) beside the collaborative baselines (ELSA, EASE, implicit's ALS)
and popularity and random rankings. The study's global time
split is applied within the month (train before the test date, new pairs of
known users and tracks after it, users halved into validation and test), and
every model is scored by full ranking on the test users, through the same
code as the workflow's train and evaluate jobs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
SLICE = REPO.parent / "shared" / "data" / "m4a-onion-slice" / "val.pqt"

MODELS = {
    "popularity": ("popularity", "none", {}),
    "random": ("random", "none", {}),
    "shallow (random init, 128)": ("shallow", "random", {"random_dim": 128, "hidden": 128}),
    "bert4rec (random init, 128)": ("bert4rec", "random", {"random_dim": 128}),
    "elsa (768 factors)": ("elsa", "none", {}),
    "ease (l2 500)": ("ease", "none", {}),
    "ials (64 factors)": ("ials", "none", {"factors": 64}),
}


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data", default=str(SLICE))
    ap.add_argument("--test-date", default="2019-02-22")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--models", nargs="+", default=list(MODELS), help="labels, or their first word")
    args = ap.parse_args()

    import torch

    from audiorec import recommenders
    from audiorec.data.interactions import index_split
    from audiorec.data.readers import read_log
    from audiorec.evaluation.per_user import evaluate
    from audiorec.reporting.stats import t_interval
    from audiorec.splits import GlobalTimeSplitter, split_stats

    torch.set_num_threads(args.threads)
    events = read_log(args.data)
    split = GlobalTimeSplitter(test_date=args.test_date, val_fraction=0.5, seed=42).split(events)
    print(split_stats(split).to_string(index=False))
    data = index_split(split)
    rows = []
    for label, (kind, variant, params) in MODELS.items():
        if label not in args.models and label.split()[0] not in args.models:
            continue
        model = recommenders.get(kind)(params, seed=0, variant=variant)
        started = time.perf_counter()
        model.fit(data, None)
        fit = time.perf_counter() - started
        frame = evaluate(model, data, "test", [10, 50], 1024, "cpu")[0]
        row = {"model": label, "users": len(frame), "fit_seconds": round(fit, 1)}
        for m in ("HitRate@50", "Recall@50", "NDCG@50", "HitRate@10"):
            mean, low, high = t_interval(frame[m].to_numpy())
            row[m] = f"{mean:.4f} ± {(high - low) / 2:.4f}"
        if hasattr(model, "progress"):
            row["epochs"] = f"{model.progress.epoch} (best {model.progress.best_epoch + 1})"
        rows.append(row)
        print(json.dumps(row), flush=True)
    cols = [
        "model",
        "users",
        "HitRate@50",
        "Recall@50",
        "NDCG@50",
        "HitRate@10",
        "epochs",
        "fit_seconds",
    ]
    print("| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(str(r.get(c, "–")) for c in cols) + " |")


if __name__ == "__main__":
    main()
