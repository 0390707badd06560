"""``ctlabel mine pdf``: many PDFs, each in its own process under a time limit, then the miner."""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ctlabel.errors import CtlabelError
from ctlabel.io import atomic_write, check_outputs, dump_record
from ctlabel.mine.miner import Miner
from ctlabel.pdf.extract import PdfResult, PdfSkip, extract_pdf
from ctlabel.pdf.kind import CHEST
from ctlabel.pdf.staging import FigureClash, FigureStore, doc_ids
from ctlabel.schema import ExtractedFigure, PdfRecord, Text, empty_record


@dataclass
class PdfSummary:
    """Totals of a ``mine_pdfs`` run: PDFs, pages, captions, figures, images, resumed PDFs, seconds and skipped PDFs."""

    output: str
    pdfs: int = 0
    pages: int = 0
    captions: int = 0
    figures: int = 0
    images: int = 0
    resumed: int = 0  # PDFs finished by an earlier run and not extracted again
    seconds: float = 0.0
    skipped: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


def find_pdfs(paths: list[Path]) -> list[Path]:
    """The PDFs given and those found below the given folders, each once; CtlabelError for a missing path or no PDF."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix.lower() == ".pdf")
        elif path.exists():
            found.append(path)
        else:
            raise CtlabelError(f"{path}: no such file or folder")
    if not found:
        raise CtlabelError(f"no PDF found in {', '.join(map(str, paths))}")
    return list({p.resolve(): p for p in found}.values())  # a PDF named twice is read once


def _work(path: Path, figures_dir: Path, dpi: int, conn, overlay_dir: Path | None = None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to report, once
    try:
        conn.send(("ok", extract_pdf(path, figures_dir, dpi, overlay_dir)))
    except PdfSkip as exc:
        conn.send(("skip", str(exc)))
    except Exception as exc:  # one bad PDF never stops the batch: report what broke
        conn.send(("skip", f"failed ({exc.__class__.__name__}: {str(exc)[:120]})"))
    finally:
        conn.close()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def extract_all(
    jobs: list[tuple[Path, Path]], dpi: int, processes: int, timeout: float, overlay_dir: Path | None = None
) -> Iterator[tuple[Path, str, Any]]:
    """(pdf, "ok"|"skip", result or reason) for each (pdf, figures folder), in input order; at most
    ``processes`` at once (daemons: they end with the parent), the largest files first so that a big
    PDF started last does not leave the other processes idle."""
    ctx = mp.get_context("fork")
    pending = sorted(enumerate(jobs), key=lambda job: -_size(job[1][0]))
    running: dict[int, tuple[Path, Any, Any, float]] = {}
    done: dict[int, tuple[Path, str, Any]] = {}
    emitted = 0
    while pending or running:
        while pending and len(running) < processes:
            index, (pdf, figures_dir) = pending.pop(0)
            parent, child = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_work, args=(pdf, figures_dir, dpi, child, overlay_dir), daemon=True)
            proc.start()
            child.close()
            running[index] = (pdf, proc, parent, time.monotonic())
        for index, (pdf, proc, conn, started) in list(running.items()):
            if conn.poll():
                try:
                    status, payload = conn.recv()
                except EOFError:
                    status, payload = "skip", "failed (the worker died)"
            elif not proc.is_alive():
                status, payload = "skip", f"failed (the worker exited with code {proc.exitcode})"
            elif time.monotonic() - started > timeout:
                proc.kill()
                status, payload = "skip", f"took longer than {timeout:.0f} s (--timeout)"
            else:
                continue
            proc.join(timeout=5)
            conn.close()
            del running[index]
            done[index] = (pdf, status, payload)
        while emitted in done:
            yield done.pop(emitted)
            emitted += 1
        if running:
            time.sleep(0.005)


def pdf_record(figure: ExtractedFigure, out_dir: Path) -> PdfRecord:
    """The record of an extracted picture, ready for the miner (its image path relative to ``out_dir``)."""
    texts: list[Text] = [{"source": "caption", "text": figure["caption"], "boxes": figure["caption_boxes"]}]
    if figure["document"] and figure["kind"] in CHEST:  # title/abstract speak for chest images only
        texts.append({"source": "document", "text": figure["document"]})
    empty = empty_record(figure["id"])
    return {
        **empty,
        "doc_id": figure["doc_id"],
        "image": os.path.relpath(figure["image"], out_dir),
        "panel": figure["panel"],
        "texts": texts,
        "doi": figure["doi"],
        "page": figure["page"],
        "figure": figure["figure"],
        "bbox": figure["bbox"],
        "kind": figure["kind"],
        "notes": figure["notes"],
    }


def mine_pdfs(
    paths: list[Path],
    output: Path,
    figures_dir: Path,
    processes: int = 1,
    dpi: int = 150,
    timeout: float = 120.0,
    lexicon: str | None = None,
    progress: Callable[[int], None] | None = None,
    overlay_dir: Path | None = None,
) -> PdfSummary:
    """Extract every PDF's figures and mine their captions into ``output`` (same schema as mine captions)."""
    pdfs = find_pdfs(paths)
    check_outputs([output], [*pdfs, lexicon])
    if not timeout > 0:
        raise CtlabelError(f"--timeout {timeout:g}: the seconds allowed per PDF must be more than 0")
    summary = PdfSummary(str(output))
    miner = Miner(lexicon)
    start = time.perf_counter()
    store, ids = FigureStore(figures_dir, dpi), doc_ids(pdfs)
    keys = {pdf: store.key(pdf) for pdf in pdfs}
    resumed = {} if overlay_dir else {pdf: r for pdf in pdfs if (r := store.finished(pdf, ids[pdf], keys[pdf]))}
    jobs = [(pdf, store.staging(ids[pdf])) for pdf in pdfs if pdf not in resumed]
    extracted = extract_all(jobs, dpi, max(1, processes), timeout, overlay_dir)
    records = []
    for pdf in pdfs:
        status, payload = ("ok", resumed[pdf]) if pdf in resumed else next(extracted)[1:]
        if progress:
            progress(1)
        if status == "ok" and pdf not in resumed:
            try:  # the paper's figures move into place together, noted as finished
                payload = store.commit(pdf, ids[pdf], keys[pdf], payload)
            except FigureClash as exc:
                status, payload = "skip", str(exc)
        if status == "skip":
            shutil.rmtree(store.staging(ids[pdf]), ignore_errors=True)
            summary.skipped.append(f"{pdf}: {payload}")
            continue
        summary.resumed += pdf in resumed
        result: PdfResult = payload
        summary.pdfs += 1
        summary.pages += result.pages
        summary.captions += result.captions
        summary.figures += len({(f["page"], f["figure"]) for f in result.figures})
        summary.images += len(result.figures)
        if not result.figures:
            summary.skipped.append(f"{pdf}: no figure image found ({result.captions} captions)")
        records += [pdf_record(f, output.parent) for f in result.figures]
    store.tidy()
    if summary.pdfs == 0:
        raise CtlabelError(f"no PDF could be read ({len(summary.skipped)} skipped; first: {summary.skipped[0]})")
    with atomic_write(output) as fh:
        for record in miner.mine(records):
            fh.write(dump_record(record))
    summary.seconds = time.perf_counter() - start
    return summary
