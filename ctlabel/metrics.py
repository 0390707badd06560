"""The metrics every stage reports: confusion counts with P/R/F1, Cohen's kappa, and bootstrap
95 % intervals (percentiles over resamples of the items, with a seed)."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass


@dataclass
class Counts:
    """A binary confusion table."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, gold: int, pred: int) -> None:
        if gold and pred:
            self.tp += 1
        elif pred:
            self.fp += 1
        elif gold:
            self.fn += 1
        else:
            self.tn += 1

    def prf(self) -> dict[str, float]:
        """Precision, recall, F1, accuracy and support (0.0 where undefined)."""
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        total = self.tp + self.fp + self.fn + self.tn
        acc = (self.tp + self.tn) / total if total else 0.0
        return {"precision": p, "recall": r, "f1": f, "accuracy": acc, "support": self.tp + self.fn}


def cohen_kappa(pairs: list[tuple[int, int]]) -> float | None:
    """Cohen's kappa of two binary raters; None without pairs."""
    if not pairs:
        return None
    n = len(pairs)
    agree = sum(a == b for a, b in pairs) / n
    pa, pb = sum(a for a, _ in pairs) / n, sum(b for _, b in pairs) / n
    expected = pa * pb + (1 - pa) * (1 - pb)
    if expected == 1:
        return 1.0 if agree == 1 else 0.0
    return (agree - expected) / (1 - expected)


def bootstrap_ci(
    n: int, statistic: Callable[[list[int]], Mapping[str, float | None]], rounds: int = 1000, seed: int = 0
) -> dict[str, list[float]]:
    """95 % percentile interval of each value ``statistic`` returns for ``rounds`` resamples (lists
    of ``n`` item indices drawn with replacement); values that are None in a resample are left out."""
    rng = random.Random(seed)
    samples: dict[str, list[float]] = {}
    for _ in range(rounds):
        for key, value in statistic([rng.randrange(n) for _ in range(n)]).items():
            if value is not None:
                samples.setdefault(key, []).append(value)
    intervals = {}
    for key, values in samples.items():
        values.sort()
        intervals[key] = [values[int(0.025 * len(values))], values[min(len(values) - 1, int(0.975 * len(values)))]]
    return intervals
