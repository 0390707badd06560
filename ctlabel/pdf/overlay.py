"""A curator's debug view: the page with its figure regions (red), the crops taken as records
(blue, with their panel letter) and the captions (green) drawn on it."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

from ctlabel.io import atomic_write
from ctlabel.pdf.figures import Figure
from ctlabel.pdf.layout import Caption
from ctlabel.schema import ExtractedFigure

RED, BLUE, GREEN = (220, 30, 30), (30, 80, 230), (20, 160, 60)


def draw_overlay(
    page: Image.Image,
    scale: float,
    figures: list[Figure],
    captions: list[Caption],
    records: list[ExtractedFigure],
    number: int,
    target: Path,
) -> None:
    """Write ``target`` (PNG): the page rendering with this page's figures, records and captions."""
    image = page.copy()
    draw = ImageDraw.Draw(image)

    def rect(box, colour, width: int) -> None:
        draw.rectangle([v * scale for v in box], outline=colour, width=width)

    for caption in captions:
        lines = caption.lines
        rect(
            (
                min(ln.x0 for ln in lines),
                min(ln.top for ln in lines),
                max(ln.x1 for ln in lines),
                max(ln.bottom for ln in lines),
            ),
            GREEN,
            2,
        )
        draw.text((lines[0].x0 * scale, lines[0].top * scale - 12), f"caption {caption.label}", fill=GREEN)
    for figure in figures:
        rect(figure.bbox, RED, 3)
        draw.text((figure.bbox[0] * scale + 3, figure.bbox[1] * scale + 3), f"figure {figure.caption.label}", fill=RED)
    for record in records:
        if record["page"] == number:
            rect(record["bbox"], BLUE, 2)
            label = f"{record['panel'] or '-'} {record['kind']}"
            draw.text((record["bbox"][0] * scale + 3, record["bbox"][3] * scale - 14), label, fill=BLUE)
    with atomic_write(target, "wb") as fh:
        image.save(fh, format="PNG")
