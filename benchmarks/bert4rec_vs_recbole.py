"""BERT4Rec: RecBole 1.2.1 against audiorec's, on one leave-one-out split of MovieLens-100k.

    sh benchmarks/recbole_env.sh                                   # once
    .venv/bin/python benchmarks/bert4rec_vs_recbole.py --recbole-budget 7200
    # both at once, one core each, both on tcmalloc (Debian: libtcmalloc-minimal4):
    .venv/bin/python benchmarks/bert4rec_vs_recbole.py --together --threads 1 \
        --malloc /usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 --seed 1 --recbole-seed 2

RecBole runs in its own environment (.venv-recbole) and builds the split:
each user's last interaction (by time) is the test item, the second last the
validation item. Those pairs are exported, and audiorec trains on the rest,
so both models see exactly the same split. The rest is ordered as RecBole
orders it (``--ties recbole``): RecBole's ml-100k settings normalise
timestamps to [0, 1] and store them in float32, so interactions about a
second apart tie, and its stable sort keeps ties in file order. Ordered by
timestamp with ties by item id, audiorec's reader's rule (``--ties item``,
every audiorec run before 2026-11-30 15:00), 940 of the 943 users' sequences
come out in another order than RecBole's, and the validation item is not the
last item of the test input for 282 users. Both follow RecBole's recipe:
hidden 64, 2 layers, 2 heads, feed-forward 256, dropout 0.2, mask ratio 0.2,
at most 50 items, Adam 1e-3 without a schedule, full softmax, every prefix of
every training sequence once per epoch (97,171 here) in shuffled batches of
2,048 (packed on audiorec's side), early stopping after 10
epochs without a better validation NDCG@10 (full ranking), the best epoch
kept. audiorec's side takes these as options
(`train_windows: every_prefix`, `batch_size`, `select_by: ndcg`, `patience`,
`lr_patience`); `--ours-params` overrides them, e.g. with the study's
defaults. Where the implementations still differ: RecBole's prefixes run
from one item to all but the last, audiorec's from two items to all (a
one-item prefix adds nothing to RecBole's loss, which drops masked position
0);
RecBole's validation ranking keeps the user's train items, audiorec's
removes them; RecBole 1.2 turns half of its training batches into next-item
samples (`ft_ratio: 0.5`) and scores only the last 10 masked items of a
sequence; RecBole's output layer has BERT's masked-LM head and a bias,
audiorec's is tied to the item table. audiorec had options for each of these;
on MovieLens-100k none of them raised its NDCG@10 (docs/benchmarks.md), and
they were removed. Test users are
scored by full ranking with their history left in the ranking (RecBole's
protocol) and removed from it (the study's).

RecBole as shipped turns on autograd anomaly detection when its sequential
models are imported; it is reported as shipped (a short run) and with
anomaly detection off (the full run).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SETTINGS = {
    "hidden": 64,
    "layers": 2,
    "heads": 2,
    "ffn": 256,
    "dropout": 0.2,
    "mask": 0.2,
    "max_len": 50,
    "lr": 1e-3,
}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- RecBole side (runs in .venv-recbole) -------------------------------------------------
def recbole_both_protocols(model, dataset, test_data, inter_path: str) -> dict:
    """RecBole's test users scored with history kept (RecBole's way) and removed (the study's).

    A user's history is every other interaction of theirs in the raw file, mapped
    to RecBole's internal ids; the metrics are audiorec's (HitRate/Recall/NDCG).
    """
    import numpy as np
    import pandas as pd
    import torch

    sys.path.insert(0, str(REPO / "src"))
    from audiorec.evaluation.metrics import from_hits

    raw = pd.read_csv(inter_path, sep="\t")
    raw.columns = [c.split(":")[0] for c in raw.columns]
    uid = dataset.token2id("user_id", raw["user_id"].astype(str).to_numpy())
    iid = dataset.token2id("item_id", raw["item_id"].astype(str).to_numpy())
    history = pd.Series(iid).groupby(uid).agg(set).to_dict()
    model.eval()
    out = {"kept": [], "removed": []}
    with torch.no_grad():
        for batch in test_data:
            interaction = batch[0].to(model.device)
            scores = model.full_sort_predict(interaction).view(len(interaction), -1)
            scores[:, 0] = -np.inf  # padding id
            users = interaction["user_id"].cpu().numpy()
            targets = interaction["item_id"].cpu().numpy()
            for label in ("kept", "removed"):
                s = scores.clone()
                if label == "removed":
                    for row, (u, t) in enumerate(zip(users, targets, strict=True)):
                        seen = [i for i in history[u] if i != t]
                        s[row, seen] = -np.inf
                top = torch.topk(s, 10, dim=1).indices.cpu().numpy()
                out[label].append(top == targets[:, None])
    result = {}
    for label, hits in out.items():
        m = from_hits(np.concatenate(hits), np.ones(sum(len(h) for h in hits)), [10])
        result[f"recall@10 (history {label})"] = float(m["Recall@10"].mean())
        result[f"ndcg@10 (history {label})"] = float(m["NDCG@10"].mean())
    return result


def recbole_side(args) -> dict:
    os.environ["TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"] = (
        "1"  # RecBole reloads its own pickled checkpoint
    )
    import recbole
    import torch
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.utils import get_model, get_trainer, init_seed

    data_path = Path(recbole.__file__).parent / "dataset_example"
    s = SETTINGS
    config = Config(
        model="BERT4Rec",
        dataset="ml-100k",
        config_dict={
            "data_path": str(data_path),
            "load_col": {"inter": ["user_id", "item_id", "timestamp"]},
            "MAX_ITEM_LIST_LENGTH": s["max_len"],
            "hidden_size": s["hidden"],
            "inner_size": s["ffn"],
            "n_layers": s["layers"],
            "n_heads": s["heads"],
            "hidden_dropout_prob": s["dropout"],
            "attn_dropout_prob": s["dropout"],
            "mask_ratio": s["mask"],
            "loss_type": "CE",
            "train_neg_sample_args": None,
            "learning_rate": s["lr"],
            "epochs": args.epochs,
            "stopping_step": 10,
            "eval_step": 1,
            "eval_args": {
                "split": {"LS": "valid_and_test"},
                "order": "TO",
                "mode": "full",
                "group_by": "user",
            },
            "metrics": ["Recall", "NDCG"],
            "topk": [10],
            "valid_metric": "NDCG@10",
            "seed": args.recbole_seed,
            "reproducibility": True,
            "use_gpu": False,
            "show_progress": False,
            "checkpoint_dir": args.folder,
            "worker": 0,
        },
    )
    init_seed(config["seed"], config["reproducibility"])
    dataset = create_dataset(config)
    train_data, valid_data, test_data = data_preparation(config, dataset)
    if args.export:
        import pandas as pd

        for name, part in (("val", valid_data), ("test", test_data)):
            feat = part.dataset.inter_feat
            users = dataset.id2token("user_id", feat["user_id"].numpy())
            items = dataset.id2token("item_id", feat["item_id"].numpy())
            pd.DataFrame({"user_id": users, "track_id": items}).to_parquet(
                Path(args.folder) / f"{name}.parquet"
            )
        if args.epochs == 0:
            return {"impl": "recbole (split exported)"}

    model_cls = get_model(config["model"])  # importing RecBole's models turns anomaly detection on
    if not args.anomaly:
        torch.autograd.set_detect_anomaly(False)
    model = model_cls(config, train_data.dataset).to(config["device"])
    base = get_trainer(config["MODEL_TYPE"], config["model"])
    budget, started = args.budget, time.perf_counter()

    class Timed(base):
        epoch_seconds: list = []
        valid: list = []

        def _train_epoch(self, *a, **k):
            if budget and time.perf_counter() - started > budget:
                raise TimeoutError("time budget spent")
            t = time.perf_counter()
            out = super()._train_epoch(*a, **k)
            self.epoch_seconds.append(time.perf_counter() - t)
            return out

        def _valid_epoch(self, *a, **k):
            out = super()._valid_epoch(*a, **k)
            self.valid.append(out[0])
            return out

    trainer = Timed(config, model)
    inter = str(data_path / "ml-100k" / "ml-100k.inter")
    if args.from_checkpoint:  # score a model trained by an earlier run, both protocols
        state = torch.load(args.from_checkpoint, map_location="cpu", weights_only=False)
        model.load_state_dict(state["state_dict"])
        return {
            "impl": "recbole (saved best model)",
            "best_epoch": state["epoch"] + 1,
            **recbole_both_protocols(model, dataset, test_data, inter),
        }
    stopped = "early stopping"
    try:
        trainer.fit(train_data, valid_data, saved=True, show_progress=False)
    except TimeoutError:
        stopped = f"time budget ({budget:.0f} s) spent"
    if len(trainer.epoch_seconds) >= args.epochs:
        stopped = f"epoch limit ({args.epochs})"
    result = trainer.evaluate(test_data, load_best_model=bool(trainer.valid), show_progress=False)
    protocols = recbole_both_protocols(trainer.model, dataset, test_data, inter)
    valid = trainer.valid
    return {
        "impl": "recbole"
        + ("" if args.anomaly else " (anomaly detection off)")
        + (f" seed {args.recbole_seed}" if args.recbole_seed != 2020 else ""),
        "epochs": len(trainer.epoch_seconds),
        "best_epoch": int(max(range(len(valid)), key=valid.__getitem__)) + 1 if valid else None,
        "stopped": stopped,
        "seconds_per_epoch": sum(trainer.epoch_seconds) / max(len(trainer.epoch_seconds), 1),
        "train_seconds": sum(trainer.epoch_seconds),
        "recall@10 (recbole's evaluator)": float(result["recall@10"]),
        "ndcg@10 (recbole's evaluator)": float(result["ndcg@10"]),
        **protocols,
        "peak_rss_mb": peak_rss_mb(),
        "training sequences per epoch": len(train_data.dataset),
    }


# --- audiorec side (runs in .venv) ---------------------------------------------------------
def ours_side(args) -> dict:
    import numpy as np
    import pandas as pd
    import torch

    sys.path.insert(0, str(REPO / "src"))
    from audiorec import recommenders
    from audiorec.data.interactions import index_split
    from audiorec.evaluation.metrics import from_hits
    from audiorec.evaluation.ranking import rank
    from audiorec.splits.base import Split

    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")  # epoch lines
    raw = pd.read_csv(args.inter, sep="\t")
    raw.columns = [c.split(":")[0] for c in raw.columns]
    raw = raw.rename(columns={"item_id": "track_id"})
    raw["user_id"], raw["track_id"] = raw["user_id"].astype(str), raw["track_id"].astype(str)
    if args.ties == "recbole":
        # RecBole's order: min-max normalised float32 times (ties about a second wide), then file order
        t = raw["timestamp"].to_numpy(np.float64)
        key = ((t - t.min()) / (t.max() - t.min())).astype(np.float32)
        position = np.empty(len(t), dtype=np.int64)
        position[np.lexsort((np.arange(len(t)), key))] = np.arange(len(t))
        raw["timestamp"] = position  # unique, so audiorec's own tie-breaking never applies
    raw["timestamp"] = pd.to_datetime(raw["timestamp"], unit="s")
    folder = Path(args.folder)
    held = {p: pd.read_parquet(folder / f"{p}.parquet").astype(str) for p in ("val", "test")}
    keys = {p: set(zip(d.user_id, d.track_id, strict=True)) for p, d in held.items()}
    pair = list(zip(raw.user_id, raw.track_id, strict=True))
    parts = {}
    for p in ("val", "test"):
        parts[p] = raw[[k in keys[p] for k in pair]].assign(count=1)
    out = keys["val"] | keys["test"]
    parts["train"] = raw[[k not in out for k in pair]].assign(count=1)
    data = index_split(Split(parts["train"], parts["val"], parts["test"]))

    s = SETTINGS
    params = {
        "random_dim": s["hidden"],
        "layers": s["layers"],
        "heads": s["heads"],
        "ffn": s["ffn"],
        "dropout": s["dropout"],
        "mask_prob": s["mask"],
        "max_len": s["max_len"],
        "predict_window": s["max_len"],
        "lr": s["lr"],
        "batch_size": 2048,
        "train_windows": "every_prefix",
        "validation": "next_item",
        "select_by": "ndcg",
        "max_epochs": args.epochs,
        "patience": 10,
        "lr_patience": args.epochs,  # no schedule, as RecBole
        **json.loads(args.ours_params),
    }
    model = recommenders.get("bert4rec")(
        params, seed=args.seed, variant="random", checkpoint=args.checkpoint
    )
    started = time.perf_counter()
    model.fit(data, None)
    train_seconds = time.perf_counter() - started
    history = data.history("train", "val")
    users = data.users_of("test")
    val = data.frames["val"].query("iidx >= 0")  # RecBole's second-last item of each user
    val_last = sum(
        int(history.sequence(u)[-1] == i) for u, i in zip(val.uidx, val.iidx, strict=True)
    )
    result = {}
    for label, exclude in (("history removed", history.matrix), ("history kept", None)):
        r = rank(lambda b: model.score(b, history), users, exclude, data.matrix("test"), k=10)
        m = from_hits(r.hits, data.n_relevant("test")[users], [10])
        result[f"recall@10 ({label})"] = float(m["Recall@10"].mean())
        result[f"ndcg@10 ({label})"] = float(m["NDCG@10"].mean())
    epochs = model.progress.history
    return {
        "impl": "audiorec"
        + (f" {args.ours_params}" if args.ours_params != "{}" else "")
        + (f" seed {args.seed}" if args.seed else ""),
        "epochs": len(epochs),
        "best_epoch": model.progress.best_epoch + 1,
        "stopped": "early stopping"
        if len(epochs) < args.epochs
        else f"epoch limit ({args.epochs})",
        "seconds_per_epoch": sum(e["seconds"] for e in epochs) / len(epochs),
        "train_seconds": train_seconds,  # this process's only, when resumed
        **(
            {"resumed after epoch": model.progress.resumed_after}
            if model.progress.resumed_after
            else {}
        ),
        **result,
        "peak_rss_mb": peak_rss_mb(),
        "training sequences per epoch": len(model._epoch_sequences(np.random.default_rng(0))),
        "split": {p: len(d) for p, d in data.frames.items()},
        "validation item last in the test input": f"{val_last} of {len(val)} users",
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--recbole-budget", type=float, default=7200, help="seconds of RecBole training (full run)"
    )
    ap.add_argument("--recbole-epochs", type=int, default=300)
    ap.add_argument(
        "--shipped-epochs",
        type=int,
        default=2,
        help="epochs of RecBole as shipped (anomaly detection on)",
    )
    ap.add_argument("--ours-epochs", type=int, default=300)
    ap.add_argument(
        "--ours-params",
        default="{}",
        help='JSON overrides of the RecBole recipe, e.g. \'{"train_windows": "last"}\'',
    )
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--seed", type=int, default=0, help="audiorec's training seed")
    ap.add_argument("--recbole-seed", type=int, default=2020, help="RecBole's seed (its default)")
    ap.add_argument(
        "--together",
        action="store_true",
        help="train RecBole and audiorec at the same time (e.g. --threads 1 each on two cores), "
        "so that both run under the same load",
    )
    ap.add_argument(
        "--malloc",
        help="allocator library preloaded (LD_PRELOAD) into both sides, "
        "e.g. /usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4",
    )
    ap.add_argument(
        "--ties",
        choices=["recbole", "item"],
        default="recbole",
        help="order of a user's interactions on audiorec's side: recbole: RecBole's own "
        "(its ml-100k settings normalise timestamps to [0, 1] in float32, so times about a "
        "second apart tie, and its stable sort keeps ties in file order), so that both "
        "train and predict on the same sequences; item: by timestamp, ties by item id, "
        "audiorec's reader's own order (every audiorec row measured before 2026-11-30 15:00)",
    )
    ap.add_argument("--side", choices=["recbole", "ours"], help=argparse.SUPPRESS)
    ap.add_argument("--folder", help=argparse.SUPPRESS)
    ap.add_argument("--epochs", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--budget", type=float, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--anomaly", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--export", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--inter", help=argparse.SUPPRESS)
    ap.add_argument(
        "--checkpoint",
        help="(ours side) file audiorec saves its state to each epoch; a run killed and "
        "started again with the same settings resumes from it",
    )
    ap.add_argument(
        "--from-checkpoint", help="(recbole side) score a saved RecBole model instead of training"
    )
    args = ap.parse_args()
    if args.side:
        out = recbole_side(args) if args.side == "recbole" else ours_side(args)
        print("RESULT " + json.dumps(out))
        return

    recbole_py = REPO / ".venv-recbole" / "bin" / "python"
    if not recbole_py.exists():
        sys.exit("run `sh benchmarks/recbole_env.sh` first")
    inter = next(
        (REPO / ".venv-recbole").glob(
            "lib/python*/site-packages/recbole/dataset_example/ml-100k/ml-100k.inter"
        )
    )
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "PYTHONUNBUFFERED": "1"}
    if args.malloc:  # the same allocator for both sides
        env["LD_PRELOAD"] = args.malloc

    with tempfile.TemporaryDirectory() as tmp:

        def start(py, *extra) -> tuple[list, subprocess.Popen, object]:
            cmd = [str(py), __file__, "--folder", tmp, "--threads", str(args.threads), *extra]
            log = tempfile.TemporaryFile("w+", dir=tmp)  # files, not pipes: two run at once
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp)
            return cmd, proc, log  # RecBole logs to ./

        def result(cmd, proc, log) -> dict:
            proc.wait()
            log.seek(0)
            out = log.read()
            line = next((x for x in out.splitlines() if x.startswith("RESULT ")), None)
            if proc.returncode or line is None:
                sys.exit(f"{cmd} failed:\n{out[-5000:]}")
            row = json.loads(line[7:])
            print(json.dumps(row), flush=True)
            return row

        seed = ["--recbole-seed", str(args.recbole_seed)]
        recbole = [recbole_py, "--side", "recbole", "--export", *seed, "--epochs"]
        ours = [sys.executable, "--side", "ours", "--epochs", str(args.ours_epochs)]
        ours += ["--inter", str(inter), "--ours-params", args.ours_params, "--seed", str(args.seed)]
        ours += ["--ties", args.ties]
        budget = ["--budget", str(args.recbole_budget)]
        if args.together:  # split first, then both trainings at once
            result(*start(*recbole, "0"))
            running = [start(*recbole, str(args.recbole_epochs), *budget), start(*ours)]
            rows = [result(*r) for r in running]
        else:
            rows = [result(*start(*recbole, str(args.recbole_epochs), *budget))]
            rows.append(result(*start(*ours)))
        if args.shipped_epochs:
            shipped = [recbole_py, "--side", "recbole", "--epochs", str(args.shipped_epochs)]
            rows.insert(0, result(*start(*shipped, "--anomaly")))

    cols = [
        "epochs",
        "best_epoch",
        "stopped",
        "seconds_per_epoch",
        "train_seconds",
        "ndcg@10 (history kept)",
        "recall@10 (history kept)",
        "ndcg@10 (history removed)",
        "recall@10 (history removed)",
        "peak_rss_mb",
    ]
    print("| " + " | ".join(["implementation", *cols]) + " |")
    print("|" + "---|" * (len(cols) + 1))
    for r in rows:
        cells = [r["impl"]] + [
            f"{r[c]:.4g}" if isinstance(r.get(c), float) else str(r.get(c, "–")) for c in cols
        ]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
