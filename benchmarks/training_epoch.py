"""One training epoch of each trained recommender, the unit the cost model multiplies out.

    .venv/bin/python benchmarks/training_epoch.py --users 400 --items 8000 --history 300 --threads 2

A synthetic split shaped like Music4All-Onion's 2024 train part where it
matters for a model's cost: each train user has `--history` items (Onion:
5,122,221 pairs / 17,053 users = 300), the catalogue `--items` wide, item
vectors of `--dims` (200: MusiCNN, 1024: MERT), 5 validation items per user.
Each model is fitted for one epoch with the `paper`/`journal` presets'
settings; the script prints the fit's seconds and the per-unit figure the
cost model uses: seconds per train user (sequence models), per train pair
(the shallow net, one sweep of iALS), per user x item (the linear
autoencoders) or per item cubed (EASE's inverse). With `--device cuda` the trained models
run on the GPU, and `--precisions bf16 fp32` times each with and without the
bf16 autocast the presets use there (`mixed_precision`).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import torch

from audiorec import recommenders
from audiorec.data.interactions import index_split
from audiorec.splits.base import Split

MODELS = {  # type: (params as the presets set them, the unit its cost scales with)
    "shallow": ({"hidden": 0, "negatives": 20, "margin": 0.2, "batch_size": 10000}, "pair"),
    "bert4rec": ({"max_len": 300, "predict_window": 50, "validation": "next_item"}, "user"),
    "sasrec": ({"max_len": 200}, "user"),
    "elsa": ({"factors": 768, "lr": 0.01, "batch_size": 128}, "user_item"),
    "hybrid": ({"hidden": 768, "lr": 0.01, "batch_size": 128}, "user_item"),
    "ials": ({"factors": 128, "iterations": 1}, "pair"),  # one ALS sweep: its "epoch"
    "ease": ({"l2": 500.0}, "item3"),  # one fit: the inverse of the Gram matrix
}


def world(users: int, items: int, history: int, seed: int = 0) -> Split:
    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp("2019-02-20")
    rows = {"train": [], "val": [], "test": []}
    for u in range(users):
        chosen = rng.choice(items, history + 10, replace=False)
        for part, picked in (
            ("train", chosen[:history]),
            ("val", chosen[history : history + 5]),
            ("test", chosen[history + 5 :]),
        ):
            offset = {"train": 0, "val": history, "test": history + 5}[part]
            rows[part] += [
                (f"u{u:05d}", f"i{i:06d}", t0 + pd.Timedelta(minutes=offset + k))
                for k, i in enumerate(picked)
            ]
    frames = {
        p: pd.DataFrame(r, columns=["user_id", "track_id", "timestamp"]).assign(count=1)
        for p, r in rows.items()
    }
    return Split(frames["train"], frames["val"], frames["test"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=400)
    ap.add_argument("--items", type=int, default=8000)
    ap.add_argument("--history", type=int, default=300)
    ap.add_argument("--dims", type=int, nargs="+", default=[200])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--models", nargs="+", default=list(MODELS))
    ap.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    ap.add_argument("--precisions", nargs="+", default=["bf16"], choices=["bf16", "fp32"])
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    data = index_split(world(args.users, args.items, args.history))
    pairs = len(data.frames["train"])
    print(
        f"{args.users} users x {args.history} items of {data.n_items}, {args.threads} threads,"
        f" device {args.device}"
    )
    print("model     dim   precision epoch s   unit      s per unit")
    for dim in args.dims:
        vectors = np.random.default_rng(1).standard_normal((data.n_items, dim)).astype(np.float32)
        for name in args.models:
            for precision in args.precisions:
                one_epoch(name, precision, dim, vectors, data, pairs, args)


def one_epoch(name, precision, dim, vectors, data, pairs, args) -> None:
    params, unit = MODELS[name]
    cls = recommenders.get(name)
    if precision != args.precisions[0] and "mixed_precision" not in cls.PARAMS:
        return  # no autocast to switch: the first precision's figure stands
    variant = "frozen" if "frozen" in cls.supported_variants else "none"
    one = {"max_epochs": 1, "patience": 5, "mixed_precision": precision == "bf16"}
    one = {k: v for k, v in one.items() if k in cls.PARAMS}
    device = args.device
    model = cls({**params, **one}, seed=0, variant=variant, device=device)
    if device.startswith("cuda"):  # an untimed fit first: CUDA context, kernels, autotuning
        cls({**params, **one}, seed=0, variant=variant, device=device).fit(
            data, vectors if cls.uses_content else None
        )
        torch.cuda.synchronize()
    started = time.perf_counter()
    model.fit(data, vectors if cls.uses_content else None)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    per = {
        "pair": pairs,
        "user": args.users,
        "user_item": args.users * data.n_items,
        "item3": data.n_items**3,
    }[unit]
    label = precision if "mixed_precision" in cls.PARAMS else "fp32"
    print(
        f"{name:<9} {dim:<5} {label:<9} {seconds:7.2f}   {unit:<9} {seconds / per:.3e}", flush=True
    )


if __name__ == "__main__":
    main()
