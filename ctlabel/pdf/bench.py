"""Benchmark PDF mining end to end (captions, regions, rendered PNGs, mining), and the quality
and speed of the text that PDF mining reads (``text_quality``)."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ctlabel.errors import CtlabelError
from ctlabel.pdf.batch import find_pdfs, mine_pdfs
from ctlabel.pdf.extract import PdfSkip, _open, page_captions
from ctlabel.pdf.layout import (
    Caption,
    is_running,
    page_lines,
    running_lines,
)
from ctlabel.pdf.words import Vocabulary, page_words

GLUED = re.compile(r"\S{20,}")  # a run of 20+ characters without a space: words glued together


def bench_pdf(paths: list[Path], processes: int, copies: int) -> dict[str, Any]:
    """Time ``mine_pdfs`` over ``copies`` copies of ``paths`` (default: a generated paper, which needs fpdf2) with 1 and
    ``processes`` processes; pages/s and figures/s per run."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        inputs = root / "inputs"
        inputs.mkdir()
        sources = find_pdfs(paths) if paths else [root / "paper.pdf"]
        if not paths:
            try:
                from ctlabel.testing.papers import make_long_paper
            except ImportError:
                raise CtlabelError(
                    "generating a sample paper needs fpdf2: pip install 'ctlabel[samples]', or pass PDFs"
                ) from None
            make_long_paper(sources[0], parts=3)
        for k in range(copies):
            for i, source in enumerate(sources):  # numbered: two inputs may share a name
                shutil.copy(source, inputs / f"{i:04d}-{source.stem}-{k}.pdf")
        runs = []
        for n in sorted({1, processes}):
            summary = mine_pdfs([inputs], root / f"out{n}.jsonl", root / f"figures{n}", processes=n)
            runs.append(
                {
                    "processes": n,
                    "pdfs": summary.pdfs,
                    "pages": summary.pages,
                    "figures": summary.figures,
                    "images": summary.images,
                    "seconds": summary.seconds,
                    "pages_per_s": summary.pages / summary.seconds,
                    "figures_per_s": summary.figures / summary.seconds,
                }
            )
    return {"runs": runs}


def _pdfplumber_words(page: Any) -> list[dict[str, Any]]:
    """The words pdfplumber builds itself (a fixed 3-point gap), for comparison."""
    return page.extract_words(extra_attrs=["size"])


def pdf_captions(path: Path, words: Callable[[Any], list[dict[str, Any]]] = page_words) -> tuple[list[Caption], int]:
    """The captions of a PDF as ``mine pdf`` finds them (words, lines, running lines, figure
    regions, captions), without rendering; and its page count."""
    pdf = _open(path)
    try:
        vocabulary = Vocabulary()
        layouts = [(page, page_lines(words(page), page.width, vocabulary)) for page in pdf.pages]
        running = running_lines([lines for _, lines in layouts], [page.height for page, _ in layouts])
        captions: list[Caption] = []
        for number, (page, lines) in enumerate(layouts, start=1):
            captions += page_captions(page, [ln for ln in lines if not is_running(ln, page.height, running)], number)[1]
        return captions, len(layouts)
    finally:
        pdf.close()


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


def _spaced(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def text_quality(paths: list[Path], gold: Path | None = None, pdfplumber_words: bool = False) -> dict[str, Any]:
    """Captions found, the share with a run of 20+ characters without a space, and pages/s of
    text extraction in this one process (wall clock, and per second of its CPU time, steadier on
    a busy machine). With ``gold`` (a ``gold.json`` with ``pdf``, ``page``
    and ``caption_start``): key captions found (compared without spaces) and those whose start is
    spaced as the key writes it (letter case aside)."""
    words = _pdfplumber_words if pdfplumber_words else page_words
    found: list[dict[str, Any]] = []
    skipped: list[str] = []
    pages, seconds, cpu = 0, 0.0, 0.0
    for path in find_pdfs(paths):
        start, start_cpu = time.perf_counter(), time.process_time()
        try:
            captions, n = pdf_captions(path, words)
        except PdfSkip as exc:
            skipped.append(f"{path}: {exc}")
            continue
        found += [{"pdf": path.name, "page": c.page, "figure": c.label, "text": c.text} for c in captions]
        seconds += time.perf_counter() - start
        cpu += time.process_time() - start_cpu
        pages += n
    glued = [row for row in found if GLUED.search(row["text"])]
    result: dict[str, Any] = {
        "words": "pdfplumber" if pdfplumber_words else "ctlabel",
        "pages": pages,
        "seconds": seconds,
        "pages_per_s": pages / seconds if seconds else 0.0,
        "cpu_seconds": cpu,
        "pages_per_cpu_s": pages / cpu if cpu else 0.0,
        "captions": len(found),
        "glued": len(glued),
        "glued_share": len(glued) / len(found) if found else 0.0,
        "glued_examples": [f"{r['pdf']} p{r['page']}: {GLUED.search(r['text']).group(0)}" for r in glued[:10]],  # type: ignore[union-attr]
        "skipped": skipped,
    }
    if gold is not None:
        result["gold"] = _against_gold(found, gold)
    return result


def _against_gold(found: list[dict[str, Any]], gold: Path) -> dict[str, Any]:
    try:
        key = json.loads(gold.read_text(encoding="utf-8"))
        entries = [(e["pdf"], int(e["page"]), str(e["caption_start"])) for e in key]
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise CtlabelError(
            f"{gold}: not an answer key with pdf, page and caption_start ({exc.__class__.__name__}: {exc})"
        ) from None
    pdfs = {row["pdf"] for row in found}
    entries = [e for e in entries if e[0] in pdfs]
    by_page: dict[tuple[str, int], list[str]] = {}
    for row in found:
        by_page.setdefault((row["pdf"], row["page"]), []).append(row["text"])
    matched, spaced, misspaced, missing = 0, 0, [], []
    for pdf, page, start in entries:
        texts = [t for t in by_page.get((pdf, page), []) if _squash(t).startswith(_squash(start))]
        if texts:
            matched += 1
            if any(_spaced(t).startswith(_spaced(start)) for t in texts):
                spaced += 1
            else:
                misspaced.append(f"{pdf} p{page}: {texts[0][: len(start) + 10]!r} (key: {start!r})")
        else:
            missing.append(f"{pdf} p{page}: {start!r}")
    return {
        "captions": len(entries),
        "found": matched,
        "spaced_as_key": spaced,
        "misspaced": misspaced,
        "missing": missing,
    }
