"""Linear and MLP probes on frozen vectors, as MARBLE runs them.

A probe is a linear layer (``linear``) or one hidden layer of ``hidden`` ReLU
units with dropout (``mlp``) on the standardised vectors (train mean and
spread), trained with Adam on the task's loss (binary cross-entropy for tags,
cross-entropy for classes and keys, mean squared error for regression), in
batches, stopped early on the validation loss. Hyperparameters (learning
rate, weight decay) are chosen on the validation split's main metric; the
test metrics of that choice are reported. Each seed repeats the whole
selection (initialisation and batch order), so the spread over seeds is the
probe's own variance.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass

import numpy as np

from audiorec.probes.metrics import MAIN, evaluate

log = logging.getLogger(__name__)

GRID = {"lr": [1e-3, 1e-2], "weight_decay": [0.0, 1e-3]}


@dataclass
class ProbeSettings:
    hidden: int = 512
    dropout: float = 0.2
    batch_size: int = 256
    max_epochs: int = 100
    patience: int = 10
    grid: dict | None = None


def _net(model: str, dim: int, out: int, settings: ProbeSettings):
    import torch

    if model == "linear":
        return torch.nn.Linear(dim, out)
    if model == "mlp":
        return torch.nn.Sequential(
            torch.nn.Linear(dim, settings.hidden),
            torch.nn.ReLU(),
            torch.nn.Dropout(settings.dropout),
            torch.nn.Linear(settings.hidden, out),
        )
    raise ValueError(f"unknown probe model {model!r} (linear, mlp)")


def _loss(kind: str):
    import torch

    if kind == "multilabel":
        return torch.nn.BCEWithLogitsLoss()
    if kind in ("multiclass", "key"):
        return torch.nn.CrossEntropyLoss()
    return torch.nn.MSELoss()


def _outputs(kind: str, y: np.ndarray, n_classes: int) -> int:
    return n_classes if kind in ("multiclass", "key") else y.shape[1]


def _train(kind, model, x, y, xv, yv, n_out, lr, weight_decay, seed, settings):
    import torch

    torch.manual_seed(seed)
    net = _net(model, x.shape[1], n_out, settings)
    opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=weight_decay)
    loss_fn = _loss(kind)
    rng = np.random.default_rng(seed)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    xvt, yvt = torch.from_numpy(xv), torch.from_numpy(yv)
    best, best_state, waited = np.inf, None, 0
    for _ in range(settings.max_epochs):
        net.train()
        order = rng.permutation(len(x))
        for start in range(0, len(x), settings.batch_size):
            rows = torch.from_numpy(order[start : start + settings.batch_size])
            opt.zero_grad()
            loss_fn(net(xt[rows]), yt[rows]).backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            val = float(loss_fn(net(xvt), yvt))
        if val < best - 1e-6:
            best, waited = val, 0
            best_state = {k: v.clone() for k, v in net.state_dict().items()}
        else:
            waited += 1
            if waited >= settings.patience:
                break
    net.load_state_dict(best_state)
    net.eval()
    return net


def _scores(kind: str, net, x: np.ndarray) -> np.ndarray:
    import torch

    with torch.no_grad():
        out = net(torch.from_numpy(x))
        if kind == "multilabel":
            out = torch.sigmoid(out)
    return out.numpy()


def probe(
    kind: str,
    model: str,
    vectors: dict[str, np.ndarray],
    targets: dict[str, np.ndarray],
    vocabulary: list[str],
    seed: int,
    settings: ProbeSettings | None = None,
) -> dict:
    """One probe: `vectors`/`targets` by split (train, valid, test). Returns the chosen
    hyperparameters, their validation metric and the test metrics."""
    import torch

    settings = settings or ProbeSettings()
    mean = vectors["train"].mean(axis=0)
    spread = vectors["train"].std(axis=0) + 1e-6
    x = {s: ((v - mean) / spread).astype(np.float32) for s, v in vectors.items()}
    if kind == "regression":  # targets on one scale for the loss; predictions mapped back
        y_mean, y_spread = targets["train"].mean(axis=0), targets["train"].std(axis=0) + 1e-6
        targets = {s: ((t - y_mean) / y_spread).astype(np.float32) for s, t in targets.items()}
    n_out = _outputs(kind, targets["train"], len(vocabulary))
    main = MAIN[kind]
    grid = settings.grid or GRID
    chosen = None
    with torch.random.fork_rng():
        for values in itertools.product(*grid.values()):
            hp = dict(zip(grid, values, strict=True))
            net = _train(kind, model, x["train"], targets["train"], x["valid"], targets["valid"],
                         n_out, hp["lr"], hp["weight_decay"], seed, settings)  # fmt: skip
            val = evaluate(kind, targets["valid"], _scores(kind, net, x["valid"]), vocabulary)
            if chosen is None or val[main] > chosen[1][main]:
                chosen = (hp, val, net)
    hp, val, net = chosen
    test = evaluate(kind, targets["test"], _scores(kind, net, x["test"]), vocabulary)
    # R² is unchanged by the targets' standardisation: no need to map the scores back
    return {"params": hp, "valid": val, "test": test}
