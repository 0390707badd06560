"""One PDF → its figures: caption, label, panel, page, bbox, and a PNG per image region.

Layout work (words, lines, regions) and rendering are done once per page; each region is cut
out of the page's one rendering, so masks, CMYK, JPX and JBIG2 images come out as they print.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pdfplumber
from pdfminer.pdfdocument import PDFPasswordIncorrect
from pdfminer.pdfparser import PDFSyntaxError
from pdfplumber.utils.exceptions import PdfminerException

from ctlabel.pdf.layout import Caption, is_running, page_lines, running_lines, find_captions
from ctlabel.pdf.regions import assign_captions, assign_panels, drawing_regions, image_regions, near_any, reading_order
from ctlabel.pdf.words import Vocabulary, join_lines, page_words

DOI = re.compile(r"\b(10\.\d{4,9}/[^\s;,\"'<>]+[^\s;,\"'<>.)])")


class PdfSkip(Exception):
    """A PDF that cannot be used; the message is the reason shown in the summary."""


@dataclass
class PdfResult:
    doc_id: str
    pages: int = 0
    captions: int = 0
    figures: list[dict[str, Any]] = field(default_factory=list)


def _open(path: Path):
    try:
        pdf = pdfplumber.open(path)
        pages = pdf.pages  # parsing happens here
    except PdfminerException as exc:
        cause = exc.args[0] if exc.args else exc
        if isinstance(cause, PDFPasswordIncorrect):
            raise PdfSkip("encrypted (a password is needed)") from None
        raise PdfSkip(f"broken ({cause.__class__.__name__})") from None
    except (PDFSyntaxError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise PdfSkip(f"broken ({exc.__class__.__name__})") from None
    if not pages:
        pdf.close()
        raise PdfSkip("no pages")
    return pdf


def _document_text(pdf, first_lines) -> tuple[str, str | None]:
    """Title and abstract (for the COVID flag) and the DOI the first page shows."""
    meta_title = str((pdf.metadata or {}).get("Title") or "").strip()
    body = [ln for ln in first_lines if ln.text.strip()]
    vocabulary = body[0].vocabulary if body else None
    title = meta_title
    if not title and body:
        biggest = max(ln.size for ln in body)
        title = join_lines([ln for ln in body if ln.size >= biggest - 0.5], vocabulary)[0]
    text = join_lines(body, vocabulary)[0]
    start = re.search(r"\babstract\b", text, re.I)
    abstract = text[start.start() : start.start() + 1500] if start else ""
    doi = DOI.search(text)
    return (f"{title}. {abstract}".strip(" ."), doi.group(1) if doi else None)


def _derotated(path: Path, indices: list[int]):
    """The document with the given pages' /Rotate removed (their text then reads upright)."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(path))
    for i in indices:
        doc[i].set_rotation(0)
    buffer = io.BytesIO()
    doc.save(buffer)
    doc.close()
    buffer.seek(0)
    return pdfplumber.open(buffer)


def _sideways(page) -> bool:
    """A rotated page whose text does not read upright in its displayed frame."""
    if not page.rotation or not page.chars:
        return False
    return sum(bool(c.get("upright")) for c in page.chars) < 0.5 * len(page.chars)


def extract_pdf(path: Path, figures_dir: Path, dpi: int = 150) -> PdfResult:
    doc_id = path.stem
    pdf = _open(path)
    result = PdfResult(doc_id, len(pdf.pages))
    upright = None
    try:
        pages = list(pdf.pages)
        sideways = [i for i, page in enumerate(pages) if _sideways(page)]
        if sideways:
            upright = _derotated(path, sideways)
            for i in sideways:
                pages[i] = upright.pages[i]
        layouts = []
        vocabulary = Vocabulary()
        for page in pages:
            words = page_words(page)
            layouts.append((page, words, page_lines(words, page.width, vocabulary)))
        running = running_lines([lines for _, _, lines in layouts], [p.height for p, _, _ in layouts])
        document, doi = _document_text(pdf, layouts[0][2])
        figures_dir.mkdir(parents=True, exist_ok=True)
        for number, (page, words, lines) in enumerate(layouts, start=1):
            body = [ln for ln in lines if not is_running(ln, page.height, running)]
            regions = image_regions(page.images, page.bbox)
            regions += drawing_regions(page.rects + page.curves + page.lines, regions)
            captions = find_captions(body, number, lambda ln, regions=regions: near_any(ln, regions))
            result.captions += len(captions)
            assign_captions(regions, captions)
            figures = _figures(regions, words)
            if not figures:
                continue
            rendering = page.to_image(resolution=dpi).original
            scale = dpi / 72
            k = 0
            for caption, members in figures:
                for region in members:
                    k += 1
                    x0, top, x1, bottom = region.bbox
                    crop = rendering.crop((int(x0 * scale), int(top * scale), int(round(x1 * scale)), int(round(bottom * scale))))
                    target = figures_dir / f"{doc_id}-p{number}-{k}.png"
                    crop.convert("RGB").save(target)
                    result.figures.append({
                        "id": target.stem, "doc_id": doc_id, "doi": doi, "page": number, "figure": caption.label,
                        "panel": region.panel, "image": str(target), "bbox": [round(v, 2) for v in region.bbox],
                        "kind": region.kind, "caption": caption.text, "caption_boxes": caption.word_boxes(), "document": document,
                    })
    finally:
        pdf.close()
        if upright is not None:
            upright.close()
    return result


def _figures(regions, words) -> list[tuple[Caption, list]]:
    """Captioned regions grouped by caption, in reading order, with their panels."""
    groups: dict[int, tuple[Caption, list]] = {}
    for region in reading_order(regions):
        if region.caption is not None:
            groups.setdefault(id(region.caption), (region.caption, []))[1].append(region)
    for _, members in groups.values():
        assign_panels(members, words)
    return list(groups.values())
