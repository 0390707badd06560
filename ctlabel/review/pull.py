"""``ctlabel review pull``: every pushed record back once, with the people's decisions applied."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ctlabel.errors import CtlabelError
from ctlabel.io import atomic_write, dump_record
from ctlabel.review.project import open_project, synced_ledger
from ctlabel.review.server import Server
from ctlabel.review.tasks import resolve, valid_annotations


@dataclass
class PullSummary:
    """Counts of a pull: records, reviewed by people or by the machine, skipped-only tasks, ties per record, notes."""

    records: int = 0
    human: int = 0
    machine: int = 0
    skipped_only: int = 0
    conflicts: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


def tasks_from_export(path: str | Path) -> Iterator[dict[str, Any]]:
    """Tasks of a Label Studio JSON export file (the offline path)."""
    path = Path(path)
    try:
        tasks = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CtlabelError(f"{path}: file not found") from None
    except json.JSONDecodeError as exc:
        raise CtlabelError(f"{path}: not a Label Studio JSON export ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(tasks, list):
        raise CtlabelError(f"{path}: a Label Studio JSON export is a list of tasks")
    seen: set[str] = set()
    for number, task in enumerate(tasks, start=1):
        record = (task.get("data") or {}).get("record") if isinstance(task, dict) else None
        if not isinstance(record, dict) or "id" not in record:
            raise CtlabelError(f"{path}: task {number} has no ctlabel record in its data (pushed by another tool?)")
        if record["id"] in seen:
            continue
        seen.add(record["id"])
        yield task


def with_records(tasks: Iterator[dict[str, Any]], records_path: str | Path) -> Iterator[dict[str, Any]]:
    """Put freshly mined records under past human decisions: each record of ``records_path`` (in
    its order) gets the annotations of the exported task with the same record id, if any."""
    from ctlabel.io import read_records

    annotations = {t["data"]["record"]["id"]: t.get("annotations") or [] for t in tasks}
    for record in read_records(records_path):
        yield {"data": {"record": record}, "annotations": annotations.get(record["id"], [])}


def tasks_from_server(
    server: Server, title: str, ledger_file: Path | None = None
) -> tuple[list[dict[str, Any]], list[str]]:
    """Every pushed task: annotated ones read from the server, the others from the ledger."""
    project = open_project(server, title)
    ledger, notes = synced_ledger(server, project.id, ledger_file)
    annotated = {t["id"]: t for t in server.annotated_tasks(project.id)}
    tasks = []
    for entry in ledger.entries.values():
        task = annotated.get(entry["task_id"])
        if task is None:
            task = {"id": entry["task_id"], "data": {"record": entry["record"]}, "annotations": []}
        tasks.append(task)
    return tasks, notes


def pull(
    tasks: list[dict[str, Any]] | Iterator[dict[str, Any]], output: str | Path, notes: list[str] | None = None
) -> PullSummary:
    """Write the resolved record of each task (the annotators' majority over the machine's labels) to ``output``,
    atomically; the summary counts records by source and lists the tied labels of each record."""
    summary = PullSummary(notes=list(notes or []))
    with atomic_write(output) as out:
        for task in tasks:
            record, conflicts = resolve(task)
            out.write(dump_record(record))
            summary.records += 1
            if record["provenance"]["source"] == "human":
                summary.human += 1
            else:
                summary.machine += 1
                summary.skipped_only += bool(task.get("annotations")) and not valid_annotations(task)
            if conflicts:
                summary.conflicts[record["id"]] = conflicts
    return summary
