"""The metrics of each kind of probe task, as MARBLE reports them.

multilabel: ROC-AUC and PR-AUC (average precision), macro over the tags that
have both a positive and a negative test clip; multiclass: accuracy; key:
MIREX's weighted score (``mir_eval.key.weighted_score``: 1 the same key, 0.5
a fifth, 0.3 the relative, 0.2 the parallel) and accuracy; regression: R²
(scikit-learn's, averaged over the targets) and each target's own R².
"""

from __future__ import annotations

import numpy as np

MAIN = {
    "multilabel": "ROC-AUC",
    "multiclass": "accuracy",
    "key": "weighted_score",
    "regression": "R2",
}


def evaluate(kind: str, y: np.ndarray, scores: np.ndarray, vocabulary: list[str]) -> dict:
    """Metrics of `scores` (probabilities, logits or predictions, (n, k)) against `y`."""
    if kind == "multilabel":
        from sklearn.metrics import average_precision_score, roc_auc_score

        both = (y.max(axis=0) > 0) & (y.min(axis=0) < 1)
        if not both.any():
            raise ValueError("no tag has both positive and negative test clips")
        return {
            "ROC-AUC": float(roc_auc_score(y[:, both], scores[:, both], average="macro")),
            "PR-AUC": float(average_precision_score(y[:, both], scores[:, both], average="macro")),
            "tags scored": int(both.sum()),
        }
    if kind == "multiclass":
        return {"accuracy": float((scores.argmax(axis=1) == y).mean())}
    if kind == "key":
        import mir_eval

        guess = scores.argmax(axis=1)
        weighted = [
            mir_eval.key.weighted_score(vocabulary[t], vocabulary[g])
            for t, g in zip(y, guess, strict=True)
        ]
        return {"weighted_score": float(np.mean(weighted)), "accuracy": float((guess == y).mean())}
    if kind == "regression":
        from sklearn.metrics import r2_score

        out = {"R2": float(r2_score(y, scores, multioutput="uniform_average"))}
        for i, name in enumerate(vocabulary):
            out[f"R2 {name}"] = float(r2_score(y[:, i], scores[:, i]))
        return out
    raise ValueError(f"unknown probe kind {kind!r}")
