"""``ctlabel review push``: records → tasks with pre-annotations; re-pushing is safe."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any
from urllib.parse import quote

from ctlabel.errors import CtlabelError
from ctlabel.io import read_records
from ctlabel.resources import read_resource
from ctlabel.review.config import check_config, labeling_config
from ctlabel.review.project import synced_ledger
from ctlabel.review.server import Server
from ctlabel.review.tasks import prediction, record_hash, to_task

BATCH = 1000


@dataclass
class ImageLinks:
    """How an annotator's browser reaches a record's image (see docs/review.md)."""

    records_dir: Path
    local_root: Path | None = None  # Label Studio local-files serving from this document root
    url_prefix: str | None = None

    def url(self, record: dict[str, Any]) -> str | None:
        image = record.get("image")
        if not image:
            return None
        path = Path(image) if Path(image).is_absolute() else self.records_dir / image
        if self.url_prefix is not None:
            return self.url_prefix.rstrip("/") + "/" + quote(PurePath(image).as_posix())
        if self.local_root is not None:
            rel = os.path.relpath(path.resolve(), self.local_root.resolve())
            return "/data/local-files/?d=" + quote(PurePath(rel).as_posix())
        return None


@dataclass
class PushSummary:
    project: str
    project_id: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


def _load(mined_path: Path) -> list[dict[str, Any]]:
    records = list(read_records(mined_path))  # a bad line or a record without id stops here, before any import
    seen: set[str] = set()
    for record in records:
        if record["id"] in seen:
            raise CtlabelError(f"{mined_path}: record id {record['id']!r} appears twice")
        seen.add(record["id"])
    if not records:
        raise CtlabelError(f"{mined_path}: no record to push")
    return records


def push(
    mined_path: str | Path,
    title: str,
    server: Server,
    links: ImageLinks | None = None,
    progress: Callable[[int], None] | None = None,
    ledger_file: Path | None = None,
) -> PushSummary:
    """Create the project if needed, import new records, refresh changed ones; resumable."""
    mined_path = Path(mined_path)
    records = _load(mined_path)
    links = links or ImageLinks(mined_path.parent)
    project = server.find_project(title)
    if project is None:
        config = labeling_config(with_image=any(r.get("image") for r in records))
        project = server.create_project(title, config, read_resource("review-instructions.md"))
    check_config(project.label_config, f"project {title!r}")
    ledger, notes = synced_ledger(server, project.id, ledger_file)
    summary = PushSummary(title, project.id, notes=notes)
    new, changed = [], []
    for record in records:
        entry = ledger.entries.get(record["id"])
        if entry is None:
            new.append(record)
        elif entry["hash"] != record_hash(record):
            changed.append((entry, record))
        else:
            summary.unchanged += 1
            if progress:
                progress(1)
    for start in range(0, len(new), BATCH):
        batch = new[start : start + BATCH]
        task_ids = server.import_tasks(project.id, [to_task(r, links.url(r)) for r in batch])
        if len(task_ids) != len(batch):
            raise CtlabelError(f"Label Studio created {len(task_ids)} tasks for {len(batch)} records; push again to reconcile")
        ledger.add([{"id": r["id"], "task_id": t, "hash": record_hash(r), "record": r} for r, t in zip(batch, task_ids)])
        summary.created += len(batch)
        if progress:
            progress(len(batch))
    for entry, record in changed:
        task = to_task(record, links.url(record))
        server.replace_prediction(entry["task_id"], task["data"], prediction(record))
        ledger.add([{"id": record["id"], "task_id": entry["task_id"], "hash": record_hash(record), "record": record}])
        summary.updated += 1
        if progress:
            progress(1)
    return summary
