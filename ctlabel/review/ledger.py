"""The push ledger: which record went to which task, kept beside the user's cache.

Pull and status read annotations for annotated tasks only and take every other record from here,
so they do not have to list every task of a large project. The ledger is trusted only while its
size equals the project's task count; otherwise the tasks are read from the server again.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ctlabel.io import atomic_write, cache_dir, dump_record


def _host(url: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", url.split("://", 1)[-1]).strip("_")


def ledger_path(url: str, project_id: int) -> Path:
    """The default ledger file of project ``project_id`` on the server at ``url`` (in the review cache)."""
    return cache_dir("review") / f"{_host(url)}-project{project_id}.jsonl"


def uploads_path(url: str) -> Path:
    """Images already uploaded to the server: file (path, size, mtime) → URL."""
    return cache_dir("review") / f"{_host(url)}-uploads.json"


class Ledger:
    """record id → {task_id, hash, record}; appended as tasks are created, rewritten on reconcile."""

    def __init__(self, path: Path):
        self.path = path
        self.entries: dict[str, dict[str, Any]] = {}
        if path.exists():
            with path.open(encoding="utf-8") as fh:
                for line in fh:
                    try:
                        entry = json.loads(line)
                        self.entries[entry["id"]] = entry
                    except (json.JSONDecodeError, KeyError):
                        continue  # a line cut by an interrupted write: reconcile will restore it

    def add(self, entries: list[dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            for entry in entries:
                fh.write(dump_record(entry))
                self.entries[entry["id"]] = entry
            fh.flush()

    def rewrite(self, entries: list[dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(self.path) as fh:
            fh.writelines(dump_record(entry) for entry in entries)
        self.entries = {e["id"]: e for e in entries}

    def task_ids(self) -> set[int]:
        return {e["task_id"] for e in self.entries.values()}
