"""Metrics from probabilities (the reference computed AUC from hard 0/1 predictions), with
bootstrap 95% intervals (the shared ``ctlabel.metrics.bootstrap_ci``), and the ROC/PR curves."""

from __future__ import annotations

from typing import Any

import numpy as np

from ctlabel.metrics import bootstrap_ci


def roc_curve(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """False- and true-positive rates at every threshold (ties handled as one step)."""
    order = np.argsort(-p, kind="mergesort")
    y, p = y[order], p[order]
    distinct = np.r_[np.where(np.diff(p))[0], len(p) - 1]
    tps = np.cumsum(y)[distinct]
    fps = (distinct + 1) - tps
    tpr = np.r_[0, tps / max(tps[-1], 1)]
    fpr = np.r_[0, fps / max(fps[-1], 1)]
    return fpr, tpr


def auc(y: np.ndarray, p: np.ndarray) -> float | None:
    """Area under the ROC curve from probabilities; None unless both classes are present."""
    y = np.asarray(y).astype(int)
    if y.min(initial=1) == y.max(initial=0) or len(y) == 0:
        return None
    fpr, tpr = roc_curve(y, np.asarray(p, dtype=float))
    return float(np.trapezoid(tpr, fpr))


def pr_curve(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Recall and precision at every cut of the scores sorted high to low (ties not merged), from (0, 1)."""
    order = np.argsort(-p, kind="mergesort")
    y = y[order]
    tps = np.cumsum(y)
    precision = tps / np.arange(1, len(y) + 1)
    recall = tps / max(tps[-1], 1)
    return np.r_[0, recall], np.r_[1, precision]


def binary_metrics(y: np.ndarray, p: np.ndarray, threshold: float = 0.5) -> dict[str, float | None]:
    """Accuracy, precision, recall and F1 at ``threshold``, AUC (None with one class), n and positives."""
    y = np.asarray(y).astype(int)
    pred = (np.asarray(p) >= threshold).astype(int)
    tp = int(((pred == 1) & (y == 1)).sum())
    fp = int(((pred == 1) & (y == 0)).sum())
    fn = int(((pred == 0) & (y == 1)).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "accuracy": float((pred == y).mean()) if len(y) else 0.0,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "auc": auc(y, p),
        "n": len(y),
        "positives": int(y.sum()),
    }


def _bootstrap(y: np.ndarray, p: np.ndarray, rounds: int) -> dict[str, list[float]]:
    """95 % intervals of each metric over images resampled with replacement (ctlabel.metrics)."""

    def statistic(sample: list[int]) -> dict[str, float | None]:
        idx = np.asarray(sample)
        return {k: v for k, v in binary_metrics(y[idx], p[idx]).items() if k not in ("n", "positives")}

    return bootstrap_ci(len(y), statistic, rounds)


def evaluate_outputs(
    targets: np.ndarray, probs: np.ndarray, lesion_codes: list[str], rounds: int = 1000
) -> dict[str, Any]:
    """COVID metrics with intervals, and per-lesion AUC where the split has positives and negatives."""
    covid_y = (targets[:, 0] == 1).astype(int)
    result: dict[str, Any] = {"covid": binary_metrics(covid_y, probs[:, 0])}
    result["covid"]["ci95"] = _bootstrap(covid_y, probs[:, 0], rounds) if rounds else {}
    if probs.shape[1] > 1:
        lesions = {}
        for i, code in enumerate(lesion_codes, start=1):
            known = targets[:, i] >= 0
            value = auc((targets[known, i] == 1).astype(int), probs[known, i])
            if value is not None:
                lesions[code] = {"auc": value, "positives": int((targets[known, i] == 1).sum())}
        result["lesions"] = lesions
    return result
