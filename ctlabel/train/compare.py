"""``ctlabel compare``: runs side by side (the paper's Table 1), grouped by backbone, head, initial
weights and precision; then paired differences over seeds between groups that differ in one setting."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ctlabel.errors import CtlabelError

METRICS = ("accuracy", "f1", "auc", "recall", "precision")
PAIRED_METRICS = ("auc", "accuracy")
FACTORS = ("model", "init", "dtype")
# two-sided 95% Student t quantiles for 1..10 degrees of freedom
T95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228)


@dataclass
class Run:
    """One finished training run: its folder, group key (backbone, model, init, dtype), seed and COVID metrics."""

    path: Path
    key: dict[str, str]  # backbone, model, init, dtype
    seed: int
    metrics: dict[str, Any]


def _init(config: dict[str, Any]) -> str:
    source = config.get("weights_source", "scratch")
    if source in ("scratch", "cache"):
        return "scratch" if source == "scratch" else "ImageNet (cache)"
    return Path(source).name


def _dtype(config: dict[str, Any]) -> str:
    ran = config.get("precision")
    if ran:
        return ran["dtype"]
    return "bfloat16" if config["config"].get("amp") else "float32"  # runs from before precision was recorded


def read_run(run: Path, split: str) -> Run:
    """The run in ``run`` with its COVID metrics on ``split``; CtlabelError when unfinished or without that split."""
    metrics_file, config_file = run / "metrics.json", run / "config.json"
    if not metrics_file.exists() or not config_file.exists():
        raise CtlabelError(f"{run}: not a finished training run (no metrics.json/config.json)")
    metrics, config = json.loads(metrics_file.read_text()), json.loads(config_file.read_text())
    if split not in metrics:
        raise CtlabelError(f"{run}: has no {split} metrics")
    try:
        key = {
            "backbone": config["backbone"],
            "model": "baseline" if config["config"]["baseline"] else "LA-DNN",
            "init": _init(config),
            "dtype": _dtype(config),
        }
    except (KeyError, TypeError) as exc:
        raise CtlabelError(f"{config_file}: no {exc} setting; not written by ctlabel train") from None
    return Run(run, key, int(config["config"].get("seed", 0)), metrics[split]["covid"])


FIRST = {"baseline": 0, "LA-DNN": 1, "scratch": 0, "float32": 0, "bfloat16": 1}  # the reference side comes first


def _order(key: tuple[str, ...]) -> tuple[tuple[int, str], ...]:
    return tuple((FIRST.get(v, 2), v) for v in key)


def _summary(values: list[float]) -> dict[str, float]:
    return {"mean": statistics.fmean(values), "sd": statistics.stdev(values) if len(values) > 1 else 0.0}


def _groups(runs: list[Run]) -> dict[tuple[str, ...], list[Run]]:
    groups: dict[tuple[str, ...], list[Run]] = {}
    for run in runs:
        groups.setdefault(tuple(run.key.values()), []).append(run)
    return groups


def compare_runs(run_dirs: list[Path], split: str = "test") -> list[dict[str, Any]]:
    """One row per group: mean and standard deviation over its runs (seeds)."""
    rows = []
    for key, runs in sorted(_groups([read_run(r, split) for r in run_dirs]).items(), key=lambda kv: _order(kv[0])):
        row: dict[str, Any] = dict(zip(("backbone", *FACTORS), key)) | {"runs": len(runs)}
        for name in METRICS:
            values = [r.metrics[name] for r in runs if r.metrics.get(name) is not None]
            row[name] = _summary(values) if values else None
        rows.append(row)
    return rows


def paired(run_dirs: list[Path], split: str = "test") -> list[dict[str, Any]]:
    """For two groups that differ in one setting (head, initial weights or dtype), the difference
    per seed (second − first; baseline, scratch and float32 come first), its mean, sd and 95%
    t-interval; inside the noise when the interval holds 0."""
    runs = [read_run(r, split) for r in run_dirs]
    by_seed: dict[tuple[tuple[str, ...], int], Run] = {}
    for r in runs:
        twin = by_seed.setdefault((tuple(r.key.values()), r.seed), r)
        if twin is not r:
            raise CtlabelError(f"{twin.path} and {r.path}: the same settings and seed {r.seed}; compare one of them")
    keys = sorted(_groups(runs), key=_order)
    out = []
    for i, a in enumerate(keys):
        for b in keys[i + 1 :]:
            differ = [f for f, x, y in zip(("backbone", *FACTORS), a, b) if x != y]
            if len(differ) != 1 or differ[0] == "backbone":
                continue
            seeds = sorted({s for k, s in by_seed if k == a} & {s for k, s in by_seed if k == b})
            if len(seeds) < 2:
                continue
            shared = " · ".join(x for x, y in zip(a, b) if x == y)
            for metric in PAIRED_METRICS:
                diffs = [
                    by_seed[(b, s)].metrics[metric] - by_seed[(a, s)].metrics[metric]
                    for s in seeds
                    if by_seed[(b, s)].metrics.get(metric) is not None
                    and by_seed[(a, s)].metrics.get(metric) is not None
                ]
                if len(diffs) < 2:
                    continue
                s = _summary(diffs)
                half = T95[min(len(diffs) - 2, len(T95) - 1)] * s["sd"] / len(diffs) ** 0.5
                lo, hi = s["mean"] - half, s["mean"] + half
                out.append(
                    {
                        "setting": differ[0],
                        "first": a[FACTORS.index(differ[0]) + 1],
                        "second": b[FACTORS.index(differ[0]) + 1],
                        "shared": shared,
                        "metric": metric,
                        "seeds": seeds,
                        "differences": diffs,
                        **s,
                        "ci95": [lo, hi],
                        "inside_noise": lo <= 0 <= hi,
                    }
                )
    return out
