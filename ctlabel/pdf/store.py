"""The extraction store (``mine pdf --store DIR``): each PDF is extracted once, keyed by the SHA-256 of
its bytes, the extractor version and the dpi; mining reads the store and never opens a PDF it holds.

Layout: ``DIR/v{version}-dpi{dpi}/{sha[:2]}/{sha}.json`` (pages, captions, figures, or why the PDF was
skipped) and ``…/{sha}/p{page}-{k}.png`` (its figure images). The images go into place first (a staged
folder renamed), the JSON entry last (temp + rename): an entry is there only when all its images are,
and two workers extracting the same PDF (a retried task) leave one copy.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from ctlabel.io import atomic_write
from ctlabel.pdf.extract import PdfResult, PdfSkip, extract_pdf

EXTRACTOR_VERSION = "1"  # bump when extraction (figures, panels, captions, kinds) gives other results


def file_sha256(path: Path) -> str:
    """The SHA-256 of the file's bytes, as hex (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


class ExtractionStore:
    """Extraction results by content hash under ``root`` (a local folder)."""

    def __init__(self, root: Path, dpi: int = 150, version: str = EXTRACTOR_VERSION) -> None:
        self.root = Path(root)
        self.dpi = dpi
        self.dir = self.root / f"v{version}-dpi{dpi}"

    def entry_path(self, sha: str) -> Path:
        return self.dir / sha[:2] / f"{sha}.json"

    def images_dir(self, sha: str) -> Path:
        return self.dir / sha[:2] / sha

    def get(self, sha: str) -> dict[str, Any] | None:
        """The stored entry, or None (not extracted, or an image of it is missing)."""
        try:
            entry = json.loads(self.entry_path(sha).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        images = self.images_dir(sha)
        if not all((images / f["image"]).exists() for f in entry.get("figures", [])):
            return None
        return entry

    def put(
        self, sha: str, pdf: Path, staged: Path | None, result: PdfResult | None, reason: str | None
    ) -> dict[str, Any]:
        """Store a PDF's result (its images in ``staged``) or the reason it was skipped; return the entry."""
        entry: dict[str, Any] = {
            "sha256": sha,
            "dpi": self.dpi,
            "source": str(pdf),
            "status": "skipped",
            "reason": reason,
        }
        if result is not None and staged is not None:
            figures = []
            for figure in result.figures:
                old = Path(figure["image"])
                name = old.name.removeprefix(f"{result.doc_id}-")
                if old.name != name:
                    os.replace(old, staged / name)
                figures.append({k: v for k, v in figure.items() if k not in ("id", "doc_id")} | {"image": name})
            target = self.images_dir(sha)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.replace(staged, target)
            except OSError:  # another attempt put the same content there first
                shutil.rmtree(staged, ignore_errors=True)
            entry.update(status="ok", reason=None, pages=result.pages, captions=result.captions, figures=figures)
        self.entry_path(sha).parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(self.entry_path(sha)) as fh:
            json.dump(entry, fh, ensure_ascii=False)
        return entry

    def staging(self) -> Path:
        """A fresh folder for one extraction attempt's images."""
        path = self.dir / ".staging" / uuid.uuid4().hex
        path.mkdir(parents=True)
        return path


def extract_one(pdf: str, root: str, dpi: int, timeout: float, version: str = EXTRACTOR_VERSION) -> dict[str, Any]:
    """One task: hash the PDF, extract it into the store unless there already, and say what happened
    (``pdf``, ``sha256``, ``status`` ok|skipped|failed, ``reason``, ``pages``, ``cached``).

    The extraction runs in a child process under ``timeout`` seconds where the caller may have
    children (a plain process, a Dask worker started with ``distributed.worker.daemon: false``);
    a daemonic worker runs it in-process, without the time limit."""
    from ctlabel.pdf.batch import extract_all

    store = ExtractionStore(Path(root), dpi, version)
    path = Path(pdf)
    sha = file_sha256(path)
    entry = store.get(sha)
    cached = entry is not None
    if entry is None:
        staged = store.staging()
        payload: Any
        if mp.current_process().daemon:
            try:
                status, payload = "ok", extract_pdf(path, staged, dpi)
            except PdfSkip as exc:
                status, payload = "skip", str(exc)
        else:
            _, status, payload = next(extract_all([(path, staged)], dpi, 1, timeout))
        if status == "ok":
            entry = store.put(sha, path, staged, payload, None)
        else:
            shutil.rmtree(staged, ignore_errors=True)
            if payload.startswith(("failed", "took longer")):  # maybe not the PDF's own fault: not stored
                return {"pdf": pdf, "sha256": sha, "status": "failed", "reason": payload, "pages": 0, "cached": False}
            entry = store.put(sha, path, None, None, payload)
    return {
        "pdf": pdf,
        "sha256": sha,
        "status": entry["status"],
        "reason": entry["reason"],
        "pages": entry.get("pages", 0),
        "cached": cached,
    }
