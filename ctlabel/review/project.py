"""Open a review project and the ledger of what was pushed to it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ctlabel.errors import CtlabelError
from ctlabel.review.config import check_config
from ctlabel.review.ledger import Ledger, ledger_path
from ctlabel.review.server import Server
from ctlabel.review.tasks import record_hash


def open_project(server: Server, title: str) -> Any:
    """The project titled ``title``, its labeling config checked; CtlabelError when there is none."""
    project = server.find_project(title)
    if project is None:
        raise CtlabelError(f"no Label Studio project titled {title!r} at {server.url} (push to it first)")
    check_config(project.label_config, f"project {title!r}")
    return project


def synced_ledger(server: Server, project_id: int, ledger_file: Path | None = None) -> tuple[Ledger, list[str]]:
    """The ledger, rebuilt from the server's tasks when it does not match their count."""
    ledger = Ledger(ledger_file or ledger_path(server.url, project_id))
    count = server.task_count(project_id)
    if len(ledger.entries) == count and len(ledger.task_ids()) == count:
        return ledger, []
    notes = []
    entries: dict[str, dict[str, Any]] = {}
    for task in server.export_all(project_id):
        record = (task.get("data") or {}).get("record")
        if not isinstance(record, dict) or "id" not in record:
            notes.append(f"task {task.get('id')}: not pushed by ctlabel (no record in its data); ignored")
            continue
        if record["id"] in entries:
            notes.append(
                f"record {record['id']!r} is in tasks {entries[record['id']]['task_id']} and {task['id']}; the later one is used"
            )
        entries[record["id"]] = {
            "id": record["id"],
            "task_id": task["id"],
            "hash": record_hash(record),
            "record": record,
        }
    ledger.rewrite(list(entries.values()))
    return ledger, notes
