"""``ctlabel compare``: runs side by side, grouped by backbone and head (the paper's Table 1)."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from ctlabel.errors import CtlabelError

METRICS = ("accuracy", "f1", "auc", "recall", "precision")


def compare_runs(run_dirs: list[Path], split: str = "test") -> list[dict[str, Any]]:
    """One row per (backbone, baseline/LA-DNN): mean and standard deviation over the runs (seeds)."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for run in run_dirs:
        metrics_file, config_file = run / "metrics.json", run / "config.json"
        if not metrics_file.exists() or not config_file.exists():
            raise CtlabelError(f"{run}: not a finished training run (no metrics.json/config.json)")
        metrics, config = json.loads(metrics_file.read_text()), json.loads(config_file.read_text())
        if split not in metrics:
            raise CtlabelError(f"{run}: has no {split} metrics")
        head = "baseline" if config["config"]["baseline"] else "LA-DNN"
        groups.setdefault((config["backbone"], head), []).append(metrics[split]["covid"])
    rows = []
    for (backbone, head), runs in sorted(groups.items()):
        row: dict[str, Any] = {"backbone": backbone, "model": head, "runs": len(runs)}
        for name in METRICS:
            values = [r[name] for r in runs if r.get(name) is not None]
            row[name] = {"mean": statistics.fmean(values), "sd": statistics.stdev(values) if len(values) > 1 else 0.0} if values else None
        rows.append(row)
    return rows
