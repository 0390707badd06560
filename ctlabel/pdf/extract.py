"""One PDF → its figures: caption, label, panel, page, bbox, and a PNG per image region.

Layout work (words, lines, regions) and rendering are done once per page; each region is cut
out of the page's one rendering, so masks, CMYK, JPX and JBIG2 images come out as they print.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pdfplumber
from pdfminer.pdfdocument import PDFPasswordIncorrect
from pdfminer.pdfparser import PDFSyntaxError
from pdfplumber.utils.exceptions import PdfminerException

from ctlabel.pdf.figures import (
    Figure,
    body_size,
    figures_from_regions,
    in_margin,
    is_table,
    table_lines,
)
from ctlabel.pdf.kind import classify
from ctlabel.pdf.layout import (
    Caption,
    Line,
    find_captions,
    is_running,
    page_lines,
    running_lines,
)
from ctlabel.pdf.overlay import draw_overlay
from ctlabel.pdf.panels import Crop, panel_crops
from ctlabel.pdf.regions import (
    BBox,
    Region,
    assign_captions,
    drawing_regions,
    image_regions,
    near_any,
)
from ctlabel.pdf.words import Vocabulary, join_lines, page_words
from ctlabel.schema import ExtractedFigure

MARGIN = 2.0  # points round a whole figure that has text or vector drawings
DOI = re.compile(r"\b(10\.\d{4,9}/[^\s;,\"'<>]+[^\s;,\"'<>.)])")


class PdfSkip(Exception):
    """A PDF that cannot be used; the message is the reason shown in the summary."""


@dataclass
class PdfResult:
    """What one PDF gave: its doc id, page and caption counts, and its extracted figure images."""

    doc_id: str
    pages: int = 0
    captions: int = 0
    figures: list[ExtractedFigure] = field(default_factory=list)


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
    start = re.search(r"\babstract\b", text, re.IGNORECASE)
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


def extract_pdf(path: Path, figures_dir: Path, dpi: int = 150, overlay_dir: Path | None = None) -> PdfResult:
    """Extract the captioned figures of the PDF at ``path``: one PNG per panel (or whole figure) rendered at ``dpi``
    in ``figures_dir`` (``{doc_id}-p{page}-{k}.png``), and each page with its figures drawn in ``overlay_dir`` if
    given. Raises PdfSkip for a PDF that cannot be read (encrypted, broken, no pages)."""
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
        if overlay_dir is not None:
            overlay_dir.mkdir(parents=True, exist_ok=True)
        for number, (page, words, lines) in enumerate(layouts, start=1):
            body = [ln for ln in lines if not is_running(ln, page.height, running)]
            objects = page.rects + page.curves + page.lines
            tables = table_lines(body)
            regions, captions = page_captions(page, body, number)
            regions = [r for r in regions if r.kind == "image" or not is_table(r, objects, body, tables, captions)]
            result.captions += len(captions)
            assign_captions(regions, captions)
            figures = figures_from_regions(regions, body, captions, body_size(body))
            if not figures and overlay_dir is None:
                continue
            rendering = page.to_image(resolution=dpi).original.convert("RGB")
            pixels = np.asarray(rendering)
            scale = dpi / 72
            k = 0
            for figure in figures:
                for crop in panel_crops(figure, words, pixels, scale):
                    k += 1
                    box = _cut_box(crop, figure, page.bbox)
                    cut = rendering.crop(_pixel_box(box, scale))
                    target = figures_dir / f"{doc_id}-p{number}-{k}.png"
                    cut.save(target)
                    result.figures.append(
                        {
                            "id": target.stem,
                            "doc_id": doc_id,
                            "doi": doi,
                            "page": number,
                            "figure": figure.caption.label,
                            "panel": crop.panel,
                            "image": str(target),
                            "bbox": [round(v, 2) for v in box],
                            "kind": _kind(figure, crop, pixels, scale),
                            "notes": figure.notes,
                            "caption": figure.caption.text,
                            "caption_boxes": figure.caption.word_boxes(),
                            "document": document,
                        }
                    )
            if overlay_dir is not None:
                draw_overlay(
                    rendering, scale, figures, captions, result.figures, number, overlay_dir / f"{doc_id}-p{number}.png"
                )
    finally:
        pdf.close()
        if upright is not None:
            upright.close()
    return result


def page_captions(page, body: list[Line], number: int) -> tuple[list[Region], list[Caption]]:
    """A page's figure regions (images; drawings outside the page margins) and the captions that
    start on it (``body``: its lines without running headers and footers)."""
    regions = image_regions(page.images, page.bbox)
    regions += [
        r for r in drawing_regions(page.rects + page.curves + page.lines, regions) if not in_margin(r.bbox, page.height)
    ]
    return regions, find_captions(body, number, lambda ln: near_any(ln, regions))


def _cut_box(crop: Crop, figure: Figure, page_box: BBox) -> BBox:
    """A panel is cut as it is; a whole figure with text or drawings gets a small margin (never
    into its caption, never off the page)."""
    x0, top, x1, bottom = crop.bbox
    if crop.panel is not None or (not figure.texts and all(m.kind == "image" for m in figure.members)):
        return crop.bbox
    m = MARGIN
    cap = figure.caption.first
    limit = cap.top - 0.5 if cap.top >= bottom - 1 else page_box[3]
    return (
        max(page_box[0], x0 - m),
        max(page_box[1], top - m),
        min(page_box[2], x1 + m),
        min(limit, max(bottom, bottom + m)),
    )


def _pixel_box(box: BBox, scale: float) -> tuple[int, int, int, int]:
    return (int(box[0] * scale), int(box[1] * scale), round(box[2] * scale), round(box[3] * scale))


def _kind(figure: Figure, crop: Crop, pixels, scale: float) -> str:
    """The crop's kind; a whole figure of several pictures takes the kind covering most area."""
    several = crop.panel is None and len(figure.members) > 1
    parts = figure.members if several else [Region(crop.bbox, crop.source)]
    votes: dict[str, float] = {}
    for part in parts:
        x0, top, x1, bottom = _pixel_box(part.bbox, scale)
        kind = classify(pixels[top:bottom, x0:x1], part.kind, figure.caption.text)
        votes[kind] = votes.get(kind, 0.0) + (x1 - x0) * (bottom - top)
    return max(votes, key=votes.__getitem__)
