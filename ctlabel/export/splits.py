"""Train/val/test splits grouped by patient or paper and stratified over the labels.

Groups are placed one at a time, those carrying the rarest labels first, each into the split that
most lacks (relative to its target) the group's rarest label, then the split furthest below its
size target — iterative stratification (Sechidis et al. 2011) over groups. Ties are broken by a
seeded shuffle, so a seed gives the same split every time.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from pathlib import Path

from ctlabel.errors import CtlabelError
from ctlabel.io import NAME_COLUMNS, dict_reader

SPLITS = ("train", "val", "test")
SPLIT_ALIASES = {
    "train": "train",
    "training": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "test": "test",
}


def parse_ratios(text: str) -> tuple[float, float, float]:
    """'60/15/25' → (0.6, 0.15, 0.25)."""
    try:
        parts = [float(p) for p in text.split("/")]
    except ValueError:
        parts = []
    if len(parts) != 3 or any(p < 0 for p in parts) or sum(parts) <= 0:
        raise CtlabelError(f"--split {text!r}: expected three non-negative numbers like 60/15/25")
    total = sum(parts)
    return (parts[0] / total, parts[1] / total, parts[2] / total)


def ratio_warning(text: str) -> str | None:
    """A note when ratios that sum to neither 100 nor 1 are rescaled."""
    parts = [float(p) for p in text.split("/")]
    total = sum(parts)
    if abs(total - 100) < 1e-6 or abs(total - 1) < 1e-6:
        return None
    used = "/".join(f"{100 * p / total:.1f}" for p in parts)
    return f"--split {text} sums to {total:g}, not 100; rescaled to {used}"


def grouped_split(
    items: dict[str, tuple[str, frozenset[str]]], ratios: tuple[float, float, float], seed: int
) -> dict[str, str]:
    """Assign each item (name → (group, positive labels)) to train/val/test."""
    groups: dict[str, list[str]] = defaultdict(list)
    group_labels: dict[str, Counter] = defaultdict(Counter)
    for name, (group, labels) in items.items():
        groups[group].append(name)
        group_labels[group].update(labels)
    totals: Counter[str] = Counter()
    for counts in group_labels.values():
        totals.update(counts)
    rng = random.Random(seed)
    order = sorted(groups)
    rng.shuffle(order)

    def rarity(group: str) -> float:
        counts = group_labels[group]
        return min((totals[label] for label in counts), default=float("inf"))

    order.sort(key=rarity)  # stable: the shuffle breaks ties
    size_target = [r * len(items) for r in ratios]
    label_target = {label: [r * n for r in ratios] for label, n in totals.items()}
    size = [0] * 3
    have: dict[str, list[int]] = {label: [0, 0, 0] for label in totals}
    assignment: dict[str, str] = {}

    def need(s: int, labels: Counter) -> tuple[float, float]:
        """How much split ``s`` lacks the group's rarest label, then how far it is below its size."""
        label_need = 0.0
        if labels:
            rarest = min(labels, key=lambda label: (totals[label], label))
            target = label_target[rarest][s]
            label_need = (target - have[rarest][s]) / target if target else -1.0
        return (label_need, (size_target[s] - size[s]) / size_target[s])

    for group in order:
        label_counts = group_labels[group]
        candidates = [s for s in range(3) if ratios[s] > 0]
        best = max(candidates, key=lambda s: need(s, label_counts))
        size[best] += len(groups[group])
        for label, n in label_counts.items():
            have[label][best] += n
        for name in groups[group]:
            assignment[name] = SPLITS[best]
    return assignment


def read_split_file(path: str | Path) -> dict[str, str]:
    """A split file: an image column (image/imgname/id) and a split column (train/val/test)."""
    with dict_reader(path) as reader:
        fields = reader.fieldnames or []
        name_col = next((c for c in NAME_COLUMNS if c in fields), None)
        if name_col is None or "split" not in fields:
            raise CtlabelError(
                f"{path}: a split file needs columns image (or imgname) and split; it has {', '.join(fields)}"
            )
        out: dict[str, str] = {}
        for row in reader:
            name, value = (row.get(name_col) or "").strip(), (row.get("split") or "").strip()
            split = SPLIT_ALIASES.get(value.lower())
            if split is None:
                raise CtlabelError(f"{path}: row {reader.line_num}: unknown split {value!r} (train, val or test)")
            if not name:
                raise CtlabelError(f"{path}: row {reader.line_num}: no image name in column {name_col!r}")
            if out.get(name, split) != split:
                raise CtlabelError(f"{path}: row {reader.line_num}: {name!r} is in {out[name]} and {split}")
            out[name] = split
    return out
