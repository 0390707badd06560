"""Where ``mine pdf`` puts each PDF's figures: a unique id per paper, figures staged then moved
into place with a note of what they are, so an interrupted run leaves whole papers only and a
re-run picks up where it stopped.

In ``FIGURES/.ctlabel-pdf/`` each finished paper has ``<doc id>.json``: its source file, a key
(content hash, dpi, extractor code) and its extraction result. A figure file is replaced only
when it is identical or belongs to the same paper's earlier run; anything else is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

from ctlabel.io import atomic_write
from ctlabel.pdf.extract import PdfResult
from ctlabel.pdf.store import file_sha256

STATE = ".ctlabel-pdf"
_PDF_CODE = Path(__file__).resolve().parent


class FigureClash(Exception):
    """A figure would overwrite a file that another paper (or someone else) wrote."""


def _extractor_hash() -> str:
    digest = hashlib.sha256()
    for source in sorted(_PDF_CODE.glob("*.py")):
        digest.update(source.name.encode() + source.read_bytes())
    return digest.hexdigest()[:12]


def _alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def doc_ids(pdfs: list[Path]) -> dict[Path, str]:
    """A unique id per PDF: its file name without ``.pdf``; where several PDFs share a name, their
    path below the folder they share (``a/paper.pdf`` → ``a-paper``), with a short hash if still taken."""
    stems = Counter(p.stem for p in pdfs)
    shared = [p.resolve() for p in pdfs if stems[p.stem] > 1]
    root = Path(os.path.commonpath([p.parent for p in shared])) if shared else None
    ids: dict[Path, str] = {}
    taken = {p.stem for p in pdfs if stems[p.stem] == 1}
    for pdf in pdfs:
        if stems[pdf.stem] == 1:
            ids[pdf] = pdf.stem
            continue
        assert root is not None
        candidate = "-".join(pdf.resolve().relative_to(root).with_suffix("").parts)
        if candidate in taken:
            candidate += "-" + hashlib.sha256(str(pdf.resolve()).encode()).hexdigest()[:8]
        taken.add(candidate)
        ids[pdf] = candidate
    return ids


class FigureStore:
    """The figures folder of a ``mine pdf`` run and its notes of finished papers."""

    def __init__(self, figures_dir: Path, dpi: int) -> None:
        self.dir = figures_dir
        self.state = figures_dir / STATE
        self.dpi = dpi
        self.extractor = _extractor_hash()
        self.stage = self.state / f"staging-{os.getpid()}"
        for old in self.state.glob("staging-*"):  # half-extracted papers of interrupted runs
            if not _alive(old.name.removeprefix("staging-")):
                shutil.rmtree(old, ignore_errors=True)

    def staging(self, doc_id: str) -> Path:
        """Where the worker writes this paper's figures before they are moved into place."""
        return self.stage / doc_id

    def tidy(self) -> None:
        shutil.rmtree(self.stage, ignore_errors=True)

    def key(self, pdf: Path) -> str:
        return f"{file_sha256(pdf)}|dpi={self.dpi}|extractor={self.extractor}"

    def _note(self, doc_id: str) -> dict[str, Any] | None:
        try:
            return json.loads((self.state / f"{doc_id}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def _write_note(self, doc_id: str, note: dict[str, Any]) -> None:
        with atomic_write(self.state / f"{doc_id}.json") as fh:
            json.dump(note, fh, ensure_ascii=False, default=str)

    def finished(self, pdf: Path, doc_id: str, key: str) -> PdfResult | None:
        """The result of this paper's earlier run when it finished with the same key and its files are all there."""
        note = self._note(doc_id)
        if not note or note.get("key") != key or note.get("source") != str(pdf.resolve()):
            return None
        result = PdfResult(doc_id, note["pages"], note["captions"], note["figures"])
        for figure in result.figures:
            figure["image"] = str(self.dir / figure["image"])
        return result if all(Path(f["image"]).exists() for f in result.figures) else None

    def commit(self, pdf: Path, doc_id: str, key: str, result: PdfResult) -> PdfResult:
        """Move a paper's staged figures into place under its id; note it as finished."""
        source = str(pdf.resolve())
        moves = []
        for figure in result.figures:
            staged = Path(figure["image"])
            name = (
                doc_id + staged.name[len(result.doc_id) :]
                if staged.name.startswith(result.doc_id)
                else f"{doc_id}-{staged.name}"
            )
            moves.append((figure, staged, self.dir / name))
        previous = self._note(doc_id)
        ours = set(previous.get("images", [])) if previous and previous.get("source") == source else set()
        for _, staged, target in moves:
            if target.exists() and target.name not in ours and target.read_bytes() != staged.read_bytes():
                owner = previous.get("source") if previous else "not by ctlabel mine pdf"
                raise FigureClash(f"{target} exists ({owner}); remove it or choose another --figures-dir")
        names = [target.name for _, _, target in moves]
        self._write_note(doc_id, {"source": source, "key": None, "images": sorted(ours | set(names))})  # claim first
        for figure, staged, target in moves:
            os.replace(staged, target)
            figure["id"], figure["doc_id"], figure["image"] = target.stem, doc_id, str(target)
        for stale in ours - set(names):  # this paper's figures that its new run no longer finds
            (self.dir / stale).unlink(missing_ok=True)
        shutil.rmtree(self.staging(doc_id), ignore_errors=True)
        figures = [{**f, "image": Path(f["image"]).name} for f in result.figures]
        self._write_note(
            doc_id,
            {
                "source": source,
                "key": key,
                "images": names,
                "pages": result.pages,
                "captions": result.captions,
                "figures": figures,
            },
        )
        return PdfResult(doc_id, result.pages, result.captions, result.figures)
