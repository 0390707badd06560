"""Generate two-column preprint-like PDFs with known figures (for tests, the demo and benchmarks).

Each paper has a medRxiv-style header and a page footer on every page, a title and abstract,
running text that cites figures, multi-panel raster figures with printed panel letters, a figure
spanning both columns, a vector-drawing figure, a caption continued in the next column, and a
rotated page. ``make_paper`` returns the truth: every figure's label, caption, page and panels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from fpdf import FPDF
from PIL import Image

from ctlabel.testing.images import ct_like

LEFT, RIGHT, COL_W = 50.0, 310.0, 235.0
FILLER = (
    "Patients were admitted between January and March. Chest CT was performed on admission and at follow up. "
    "Two radiologists read every scan independently and resolved disagreements together. "
)


@dataclass
class Panel:
    """One panel of a generated figure: its printed letter (or None) and its source image."""

    letter: str | None
    pixels: np.ndarray  # the source image (H, W, 3)


@dataclass
class FigureTruth:
    """The truth of a generated figure: label, page, caption, panels, kind, box (points) and its ``covid`` answer."""

    label: str
    page: int
    caption: str
    panels: list[Panel] = field(default_factory=list)
    kind: str = "image"
    bbox: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # the whole figure, page points
    covid: str = "absent"  # what the caption says of the case shown (the answer key's ``covid``)


class _Paper(FPDF):
    def __init__(self, doi: str):
        super().__init__(unit="pt", format="A4")
        self.doi = doi
        self.set_auto_page_break(False)

    def header(self) -> None:
        self.set_font("helvetica", size=7)
        self.set_xy(LEFT, 18)
        self.cell(0, 8, f"medRxiv preprint doi: https://doi.org/{self.doi}; this version posted March 7, 2020.")

    def footer(self) -> None:
        self.set_font("helvetica", size=8)
        self.set_xy(LEFT, 815)
        self.cell(0, 8, f"Page {self.page_no()}")


def _text(pdf: FPDF, x: float, y: float, text: str, width: float = COL_W, size: float = 9.0) -> float:
    pdf.set_font("helvetica", size=size)
    pdf.set_xy(x, y)
    pdf.multi_cell(width, size * 1.3, text)
    return pdf.get_y()


def _image(pdf: FPDF, pixels: np.ndarray, x: float, y: float, w: float) -> float:
    h = w * pixels.shape[0] / pixels.shape[1]
    pdf.image(Image.fromarray(pixels), x=x, y=y, w=w, h=h)
    return h


def _letter(pdf: FPDF, letter: str, x: float, y: float) -> None:
    pdf.set_font("helvetica", "B", 10)
    pdf.set_text_color(255, 255, 255)
    pdf.text(x + 3, y + 11, letter)
    pdf.set_text_color(0, 0, 0)


def make_paper(path: Path, seed: int = 0, doi: str = "10.1101/2020.03.04.20030395") -> list[FigureTruth]:
    """Write a 6-page two-column paper to ``path``; return its figures."""
    pdf = _Paper(doi)
    truth: list[FigureTruth] = []
    s = seed * 100
    # page 1: title, abstract, text citing figures
    pdf.add_page()
    pdf.set_font("helvetica", "B", 15)
    pdf.set_xy(LEFT, 50)
    pdf.multi_cell(495, 18, f"Chest CT findings of COVID-19 pneumonia: a two-column test paper {seed}")
    _text(pdf, LEFT, 100, "Abstract. We describe chest CT of 40 patients with SARS-CoV-2 infection. " + FILLER * 3)
    _text(
        pdf,
        RIGHT,
        100,
        "Introduction. Ground glass opacities are common, as shown in Figure 1 and in later scans. " + FILLER * 4,
    )
    # page 2: a two-panel figure in the left column; running text on the right
    pdf.add_page()
    y = 60
    panels = [Panel("A", ct_like(s + 1, "ggo")), Panel("B", ct_like(s + 2, "consolidation"))]
    for k, panel in enumerate(panels):
        h = _image(pdf, panel.pixels, LEFT + k * 120, y, 112)
        _letter(pdf, panel.letter or "", LEFT + k * 120, y)
    cap = "Figure 1. Chest CT of a 52-year-old man with COVID-19. (A) Bilateral ground-glass opacities. (B) Consolidation with air bronchograms."
    _text(pdf, LEFT, y + h + 8, cap)
    truth.append(FigureTruth("1", 2, cap, panels, bbox=(LEFT, y, LEFT + 120 + 112, y + h), covid="positive"))
    _text(pdf, LEFT, 300, FILLER * 4)
    _text(pdf, RIGHT, 60, FILLER * 2 + "The consolidation in panel B of Figure 1 progressed. " + FILLER * 2)
    _text(pdf, RIGHT, 330, "Figure 3 shows a summary chart of the scores of all patients over time. " + FILLER * 2)
    # page 3: a figure spanning both columns, four panels printed column by column (A C / B D)
    pdf.add_page()
    grid = [ct_like(s + 3, "ggo"), ct_like(s + 4, "ggo"), ct_like(s + 5, "consolidation"), ct_like(s + 6, None)]
    printed = ["A", "C", "B", "D"]  # reading order is left-right, top-bottom; the letters run down the columns
    y0 = 60
    for k, pixels in enumerate(grid):
        x, y = LEFT + (k % 2) * 250, y0 + (k // 2) * 140
        _image(pdf, pixels, x, y, 170)
        _letter(pdf, printed[k], x, y)
    cap = (
        "Figure 2: Follow-up CT of a patient with 2019-nCoV infection. (A, B) Ground glass opacity on day 3. "
        "(C) Consolidation on day 9. (D) The lesions were completely absorbed on day 20."
    )
    _text(pdf, LEFT, y0 + 2 * 140 + 4, cap, width=495)
    box: tuple[float, float, float, float] = (LEFT, y0, LEFT + 250 + 170, y0 + 140 + 170 * 96 / 128)
    truth.append(FigureTruth("2", 3, cap, [Panel(printed[k], grid[k]) for k in range(4)], bbox=box, covid="positive"))
    _text(pdf, LEFT, 420, FILLER * 5)
    _text(pdf, RIGHT, 420, FILLER * 5)
    # page 4: a caption that runs from the bottom of the left column into the right column
    pdf.add_page()
    _text(pdf, LEFT, 60, FILLER * 6)
    pix = ct_like(s + 7, None)
    h = _image(pdf, pix, LEFT + 40, 560, 150)
    cap_left = "Figure 4. Thin-section CT of a healthy volunteer in the control group, without ground glass opacity or"
    cap_right = "consolidation, obtained for comparison with the patients."
    _text(pdf, LEFT, 560 + h + 8, cap_left)
    _text(pdf, RIGHT, 60, cap_right)
    truth.append(
        FigureTruth(
            "4",
            4,
            f"{cap_left} {cap_right}",
            [Panel(None, pix)],
            bbox=(LEFT + 40, 560, LEFT + 190, 560 + h),
            covid="negative",
        )
    )
    _text(pdf, RIGHT, 120, FILLER * 6)
    # page 5: a vector drawing (a bar chart)
    pdf.add_page()
    _text(pdf, LEFT, 60, FILLER * 5)
    x0, base = RIGHT + 20, 260.0
    pdf.line(x0, base, x0 + 190, base)
    pdf.line(x0, base, x0, base - 170)
    for k, height in enumerate((60, 120, 90, 150, 40)):
        pdf.set_fill_color(80 + 30 * k, 90, 160)
        pdf.rect(x0 + 10 + k * 36, base - height, 26, height, style="F")
    cap = "Figure 3. CT severity scores of the 40 patients by week since symptom onset."
    _text(pdf, RIGHT, base + 10, cap)
    box = (x0, base - 170, x0 + 190, base)
    truth.append(FigureTruth("3", 5, cap, [Panel(None, np.zeros((1, 1, 3), np.uint8))], kind="drawing", bbox=box))
    _text(pdf, RIGHT, 330, FILLER * 3)
    # page 6: a figure on a page that is rotated when printed
    pdf.add_page()
    pix = ct_like(s + 8, "consolidation")
    h = _image(pdf, pix, LEFT, 80, 200)
    cap = "Supplementary Figure S1. Crazy-paving pattern in the right lower lobe of a COVID-19 patient."
    _text(pdf, LEFT, 80 + h + 8, cap)
    truth.append(FigureTruth("S1", 6, cap, [Panel(None, pix)], bbox=(LEFT, 80, LEFT + 200, 80 + h), covid="positive"))
    pdf.output(str(path))
    _rotate_page(path, 5, 90)
    return truth


def _rotate_page(path: Path, index: int, degrees: int) -> None:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(path))
    doc[index].set_rotation(degrees)
    tmp = path.with_suffix(".tmp.pdf")
    doc.save(str(tmp))
    doc.close()
    tmp.replace(path)


def make_long_paper(path: Path, parts: int = 3) -> list[FigureTruth]:
    """``parts`` synthetic papers joined into one PDF (6 pages and 5 figures each)."""
    import pypdfium2 as pdfium

    truth: list[FigureTruth] = []
    merged = pdfium.PdfDocument.new()
    for part in range(parts):
        piece = path.with_name(f".{path.stem}-part{part}.pdf")
        for figure in make_paper(piece, seed=part):
            figure.page += 6 * part
            truth.append(figure)
        doc = pdfium.PdfDocument(str(piece))
        merged.import_pages(doc)
        doc.close()
        piece.unlink()
    merged.save(str(path))
    merged.close()
    return truth


def answer_key(truth: list[FigureTruth], pdf_name: str) -> list[dict]:
    """The figures in the answer-key format of ``ctlabel evaluate-pdf`` (as ``gold.json``)."""
    return [
        {
            "pdf": pdf_name,
            "page": t.page,
            "figure": t.label,
            "caption_start": t.caption[:80],
            "panels": [p.letter for p in t.panels if p.letter],
            "bbox": [round(v, 2) for v in t.bbox],
            "covid": t.covid,
        }
        for t in truth
    ]
