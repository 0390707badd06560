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
from ctlabel.schema import Record

BATCH = 1000


@dataclass
class ImageLinks:
    """How an annotator's browser reaches a record's image (see docs/review.md): below the server's
    local files root, at a URL prefix, or else uploaded through Label Studio's import API."""

    images_dir: Path  # a record's relative ``image`` is taken from here
    local_root: Path | None = None  # Label Studio serves local files below this document root
    url_prefix: str | None = None
    missing: list[str] = field(default_factory=list)
    _server: Server | None = None
    _project_id: int = 0
    _storages: list[Path] = field(default_factory=list)
    _uploads: dict[str, str] | None = None  # file (path|size|mtime) → URL, for the current uploads project
    _uploads_key: str = ""
    _unsaved: bool = False

    def attach(self, server: Server, project_id: int) -> None:
        """Bind to the project and the folders it already serves."""
        self._server, self._project_id = server, project_id
        if self.local_root is not None and self.url_prefix is None:
            self.local_root = self.local_root.resolve()
            self._storages = server.local_storages(project_id)

    def url(self, record: Record) -> tuple[str | None, str | None]:
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
        local = self._local_path(path)
        if local is not None:
            return "/data/local-files/?d=" + quote(local), None
        return (self._uploaded(self._server, path) if self._server is not None else None), None

    def _local_path(self, path: Path) -> str | None:
        """The path below the root, when it is in a subfolder (Label Studio serves no file straight
        in its root); the project gets a storage for that subfolder."""
        if self.local_root is None or not path.is_relative_to(self.local_root):
            return None
        relative = path.relative_to(self.local_root)
        if len(relative.parts) < 2:
            return None
        folder = self.local_root / relative.parts[0]
        if self._server is not None and not any(folder == s or s in folder.parents for s in self._storages):
            self._server.add_local_storage(self._project_id, folder)
            self._storages.append(folder)
        return relative.as_posix()

    def _uploaded(self, server: Server, path: Path) -> str:
        """Upload the file once per uploads project (a cache that a new or reset server voids)."""
        if self._uploads is None:
            self._uploads_key = server.uploads_project_key()
            try:
                cached = json.loads(uploads_path(server.url).read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                cached = {}
            self._uploads = cached.get("files", {}) if cached.get("project") == self._uploads_key else {}
        stat = path.stat()
        key = f"{path}|{stat.st_size}|{stat.st_mtime_ns}"
        if key not in self._uploads:
            self._uploads[key] = server.upload_file(path)
            self._unsaved = True
        return self._uploads[key]

    def save(self) -> None:
        """Keep the uploads made so far for the next push."""
        if self._server is None or not self._unsaved:
            return
        target = uploads_path(self._server.url)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"project": self._uploads_key, "files": self._uploads}), encoding="utf-8")
        os.replace(tmp, target)
        self._unsaved = False


@dataclass
class PushSummary:
    """Counts of a push: the project's title and id, tasks created, updated and unchanged, and notes."""

    project: str
    project_id: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


def _load(mined_path: Path) -> list[Record]:
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
            raise CtlabelError(
                f"Label Studio created {len(task_ids)} tasks for {len(batch)} records; push again to reconcile"
            )
        ledger.add(
            [{"id": r["id"], "task_id": t, "hash": record_hash(r), "record": r} for r, t in zip(batch, task_ids)]
        )
        links.save()
        summary.created += len(batch)
        if progress:
            progress(len(batch))
    for entry, record in changed:
        task = to_task(record, *links.url(record))
        server.replace_prediction(entry["task_id"], task["data"], prediction(record))
        ledger.add([{"id": record["id"], "task_id": entry["task_id"], "hash": record_hash(record), "record": record}])
        links.save()
        summary.updated += 1
        if progress:
            progress(1)
    summary.notes += links.missing
    return summary
