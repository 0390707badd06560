"""Run a pipeline's stages in order; skip a stage whose outputs are current for its inputs and settings."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ctlabel.errors import CtlabelError
from ctlabel.pipeline.spec import STAGES, Pipeline
from ctlabel.pipeline.stages import StagePlan, plan_export, plan_mine, plan_review, plan_train


@dataclass
class StageResult:
    """How one stage went: its status (ran, skipped, not selected), seconds, one-line summary and outputs."""

    stage: str
    status: str  # ran, skipped (current), not selected
    seconds: float
    summary: str
    outputs: list[str]


def fingerprint(paths: list[Path]) -> dict[str, list[int]]:
    """Size and modification time of every input file (folders: every file below them)."""
    prints: dict[str, list[int]] = {}
    for path in paths:
        files = sorted(f for f in path.rglob("*") if f.is_file()) if path.is_dir() else [path]
        for f in files:
            if not f.exists():
                raise CtlabelError(f"{f}: input not found")
            stat = f.stat()
            prints[str(f)] = [stat.st_size, stat.st_mtime_ns]
    return prints


def _settings_hash(table: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(table, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _input(pipeline: Pipeline, stage: str, key: str, previous: Path | None) -> Path:
    """The stage's own ``key`` setting, else the previous stage's output."""
    table = pipeline.stages[stage]
    if key in table:
        return pipeline.input(table[key])
    if previous is None:
        raise CtlabelError(f"[{stage}] needs '{key}' (no stage before it gives one)")
    return previous


def plan(pipeline: Pipeline) -> list[StagePlan]:
    """The pipeline's stages in order, each reading the previous stage's output unless its table names an input."""
    plans: list[StagePlan] = []
    s = pipeline.stages
    current: Path | None = None
    split: Path | None = None
    if "mine" in s:
        plans.append(plan_mine(pipeline, s["mine"]))
        current = plans[-1].outputs[0]
    if "review" in s:
        plans.append(plan_review(pipeline, s["review"], _input(pipeline, "review", "input", current)))
        current = plans[-1].outputs[0]
    if "export" in s:
        plans.append(plan_export(pipeline, s["export"], _input(pipeline, "export", "input", current)))
        current = plans[-1].outputs[0]
        split = plans[-1].outputs[1] if len(plans[-1].outputs) > 1 else None
    elif "train" in s:
        current = None  # training reads a label file, not records
    if "train" in s:
        plans.append(plan_train(pipeline, s["train"], _input(pipeline, "train", "labels", current), split))
    return plans


def run_pipeline(
    pipeline: Pipeline,
    only: str | None = None,
    start: str | None = None,
    force: bool = False,
    log: Callable[[str], None] = print,
) -> list[StageResult]:
    """Run the stages in order (only ``only``, or from ``start`` on), skipping a stage whose outputs are current for its
    inputs and settings unless ``force``; a failing stage raises CtlabelError and the outputs before it are kept."""
    for name in (only, start):
        if name and name not in STAGES:
            raise CtlabelError(f"unknown stage {name!r}; stages are {', '.join(STAGES)}")
        if name and name not in pipeline.stages:
            raise CtlabelError(f"{pipeline.path}: has no [{name}] stage")
    pipeline.workdir.mkdir(parents=True, exist_ok=True)
    stamps = pipeline.workdir / ".ctlabel-stamps"
    stamps.mkdir(exist_ok=True)
    results = []
    started = start is None
    for stage in plan(pipeline):
        started = started or stage.name == start
        if (only and stage.name != only) or not started:
            results.append(StageResult(stage.name, "not selected", 0.0, "", [str(o) for o in stage.outputs]))
            continue
        stamp_file = stamps / f"{stage.name}.json"
        try:
            stamp = {"settings": _settings_hash(pipeline.stages[stage.name]), "inputs": fingerprint(stage.inputs)}
        except CtlabelError as exc:
            raise CtlabelError(
                f"stage {stage.name} failed: {exc} (the outputs of the stages before it are kept)"
            ) from None
        current = (
            not force
            and stamp_file.exists()
            and json.loads(stamp_file.read_text()) == stamp
            and all(o.exists() for o in stage.outputs)
        )
        if current:
            log(f"[{stage.name}] skipped: outputs are current")
            results.append(
                StageResult(stage.name, "skipped", 0.0, "outputs are current", [str(o) for o in stage.outputs])
            )
            continue
        log(f"[{stage.name}] running …")
        t0 = time.perf_counter()
        stamp_file.unlink(missing_ok=True)
        try:
            summary = stage.run()
        except CtlabelError as exc:
            raise CtlabelError(
                f"stage {stage.name} failed: {exc} (the outputs of the stages before it are kept)"
            ) from None
        stamp_file.write_text(json.dumps(stamp))
        seconds = time.perf_counter() - t0
        log(f"[{stage.name}] {summary} ({seconds:.1f} s)")
        results.append(StageResult(stage.name, "ran", seconds, summary, [str(o) for o in stage.outputs]))
    return results
