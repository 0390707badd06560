"""``ctlabel review push``: records → tasks with pre-annotations; re-pushing is safe."""

from __future__ import annotations

import json
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
from ctlabel.review.ledger import uploads_path
from ctlabel.review.project import synced_ledger
from ctlabel.review.server import Server
from ctlabel.review.tasks import prediction, record_hash, to_task

BATCH = 1000


@dataclass
class ImageLinks:
    """How an annotator's browser reaches a record's image (see docs/review.md): below the server's
    local files root, at a URL prefix, or else uploaded through Label Studio's import API."""

    images_dir: Path  # a record's relative ``image`` is taken from here
    local_root: Path | None = None  # Label Studio serves local files below this document root
    url_prefix: str | None = None
    upload: bool = True
    missing: list[str] = field(default_factory=list)
    _server: Server | None = None
    _project_id: int = 0
    _uploads: dict[str, str] = field(default_factory=dict)
    _uploads_file: Path | None = None
    _storages: list[Path] = field(default_factory=list)

    def attach(self, server: Server, project_id: int) -> None:
        """Bind to the project: its local-files storage, and the cache of files already uploaded."""
        self._server, self._project_id = server, project_id
        if self.local_root is not None and self.url_prefix is None:
            self.local_root = self.local_root.resolve()
            self._storages = server.local_storages(project_id)
        self._uploads_file = uploads_path(server.url)
        try:
            self._uploads = json.loads(self._uploads_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            self._uploads = {}

    def url(self, record: dict[str, Any]) -> tuple[str | None, str | None]:
        """The image's URL, or None and a note for the annotator when the file is missing."""
        image = record.get("image")
        if not image:
            return None, None
        if self.url_prefix is not None:
            return self.url_prefix.rstrip("/") + "/" + quote(PurePath(image).as_posix()), None
        path = (Path(image) if Path(image).is_absolute() else self.images_dir / image).resolve()
        if not path.is_file():
            self.missing.append(f"{record['id']}: image {path} not found; pushed with a note in place of the image")
            return None, f"Image missing: {image} was not found when the task was pushed."
        if self._served_locally(path):
            return "/data/local-files/?d=" + quote(path.relative_to(self.local_root).as_posix()), None  # type: ignore[arg-type]
        if self.upload and self._server is not None:
            stat = path.stat()
            key = f"{path}|{stat.st_size}|{stat.st_mtime_ns}"
            if key not in self._uploads:
                self._uploads[key] = self._server.upload_file(path)
                self._save_uploads()
            return self._uploads[key], None
        return None, None

    def _served_locally(self, path: Path) -> bool:
        """Below the root, in a subfolder (Label Studio serves no file straight in its root): make
        sure the project has a storage for that subfolder."""
        if self.local_root is None or not path.is_relative_to(self.local_root):
            return False
        parts = path.relative_to(self.local_root).parts
        if len(parts) < 2:
            return False
        folder = self.local_root / parts[0]
        if self._server is not None and not any(folder == s or s in folder.parents for s in self._storages):
            self._server.add_local_storage(self._project_id, folder)
            self._storages.append(folder)
        return True

    def _save_uploads(self) -> None:
        if self._uploads_file is None:
            return
        self._uploads_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._uploads_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._uploads), encoding="utf-8")
        os.replace(tmp, self._uploads_file)


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
    links.attach(server, project.id)
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
        task_ids = server.import_tasks(project.id, [to_task(r, *links.url(r)) for r in batch])
        if len(task_ids) != len(batch):
            raise CtlabelError(f"Label Studio created {len(task_ids)} tasks for {len(batch)} records; push again to reconcile")
        ledger.add([{"id": r["id"], "task_id": t, "hash": record_hash(r), "record": r} for r, t in zip(batch, task_ids)])
        summary.created += len(batch)
        if progress:
            progress(len(batch))
    for entry, record in changed:
        task = to_task(record, *links.url(record))
        server.replace_prediction(entry["task_id"], task["data"], prediction(record))
        ledger.add([{"id": record["id"], "task_id": entry["task_id"], "hash": record_hash(record), "record": record}])
        summary.updated += 1
        if progress:
            progress(1)
    summary.notes += links.missing
    return summary
