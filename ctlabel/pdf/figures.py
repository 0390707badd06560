"""Figures from page layout: which image and drawing regions a caption owns, the text that belongs
to them (axis labels, legends, sub-captions, printed letters), and tables kept out.

A figure's box is the union of its regions, grown by the text lines that touch it (chained, a few
points apart, never body-text-like lines, never caption lines); tables (a ruled grid with text, or
a drawing next to a ``Table N`` caption) are no figure regions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ctlabel.pdf.layout import MARGIN, Caption, Line
from ctlabel.pdf.regions import BBox, Region, reading_order

TABLE_START = re.compile(r"^(?:Table|TABLE)\s+(?:[IVXL]+|S?\d+)\b")
SUBCAPTION = re.compile(r"^\(([a-zA-Z])\)(?=\s|$)")
TOUCH = 8.0  # points: smaller text this close to a figure's ink is part of it
TIGHT = 4.0  # points: … and text of the body's size this close
SUB_GAP = 12.0  # points: a sub-caption "(a) …" may sit this far under its image
THIN = 1.5  # points: a rule (table line) is thinner than this


@dataclass
class Figure:
    """A captioned figure on a page: its caption, regions, box, the text lines that belong to it, a note on panels."""

    caption: Caption
    members: list[Region]
    bbox: BBox
    texts: list[Line] = field(default_factory=list)  # the text lines that belong to the figure
    notes: str | None = None


def table_lines(lines: list[Line]) -> list[Line]:
    """First lines of table captions ("Table 2.", "TABLE IV")."""
    return [ln for ln in lines if TABLE_START.match(ln.text)]


def _inside(inner: BBox, outer: BBox, pad: float = 0.0) -> bool:
    return (
        inner[0] >= outer[0] - pad
        and inner[1] >= outer[1] - pad
        and inner[2] <= outer[2] + pad
        and inner[3] <= outer[3] + pad
    )


def _box(line: Line) -> BBox:
    return (line.x0, line.top, line.x1, line.bottom)


def _gap(box: BBox, line: Line) -> float | None:
    """Vertical gap between a box and a line that shares its columns (None if they share none)."""
    if min(box[2], line.x1) - max(box[0], line.x0) <= 0:
        return None
    return max(box[1] - line.bottom, line.top - box[3])


def is_table(
    region: Region, objects: list[dict], lines: list[Line], tables: list[Line], captions: list[Caption]
) -> bool:
    """A drawing that is a table: a grid of thin axis-parallel rules around three or more text
    lines, or a drawing next to a ``Table N`` caption (within 30 pt) and nearer to it than to
    any figure caption."""
    box = region.bbox
    figure_gaps = [g for g in (_gap(box, c.first) for c in captions) if g is not None and g >= -4]
    nearest_figure = min(figure_gaps, default=float("inf"))
    for cap in tables:
        gap = _gap(box, cap)
        if gap is not None and -4 <= gap <= 30 and gap < nearest_figure:
            return True
    inside = [o for o in objects if _inside((o["x0"], o["top"], o["x1"], o["bottom"]), box, 1)]
    ruled = all(o["x1"] - o["x0"] < THIN or o["bottom"] - o["top"] < THIN for o in inside)
    return ruled and sum(_inside(_box(ln), box, 2) for ln in lines) >= 3


def in_margin(box: BBox, height: float) -> bool:
    """A drawing wholly in the header or footer band (rules, banners) is no figure."""
    return box[3] <= height * MARGIN or box[1] >= height * (1 - MARGIN)


def figures_from_regions(
    regions: list[Region], lines: list[Line], captions: list[Caption], body_size: float
) -> list[Figure]:
    """Group captioned regions by caption (reading order) and grow each group's box by its text."""
    caption_ids = {id(ln) for cap in captions for ln in cap.lines} | {id(ln) for ln in _table_captions(lines)}
    free = [ln for ln in lines if id(ln) not in caption_ids]
    for region in regions:
        if region.caption is not None and _blocked(region.bbox, region.caption, free, body_size):
            region.caption = None
    _one_side(regions)
    _row_siblings(regions)
    groups: dict[int, Figure] = {}
    for region in reading_order(regions):
        if region.caption is not None:
            fig = groups.setdefault(id(region.caption), Figure(region.caption, [], region.bbox))
            fig.members.append(region)
    figures = list(groups.values())
    for fig in figures:
        fig.bbox = _union_all([m.bbox for m in fig.members])
        fig.bbox, fig.texts = _grow(fig.bbox, fig.caption, free, body_size)
    return figures


def _table_captions(lines: list[Line]) -> list[Line]:
    """Table captions with the lines that go on under them (same left edge, no gap)."""
    taken = []
    for line in lines:
        if not TABLE_START.match(line.text):
            continue
        prev = line
        taken.append(line)
        while True:
            nxt = [
                ln
                for ln in lines
                if 0 <= ln.top - prev.bottom <= 0.9 * max(prev.height, 6)
                and abs(ln.x0 - prev.x0) < 8
                and ln not in taken
            ]
            if not nxt:
                break
            prev = min(nxt, key=lambda ln: ln.top)
            taken.append(prev)
    return taken


def _blocked(box: BBox, caption: Caption, free: list[Line], body_size: float) -> bool:
    """Running text lies between the region and its caption (they are not one figure)."""
    if caption.first.top >= box[3] - 4:
        lo, hi = box[3], caption.first.top
    else:
        lo, hi = caption.lines[-1].bottom, box[1]
    x0, x1 = max(box[0], caption.first.x0), min(box[2], caption.first.x1)
    return any(
        lo - 1 <= ln.top and ln.bottom <= hi + 1 and min(x1, ln.x1) > max(x0, ln.x0) and _body_like(ln, box, body_size)
        for ln in free
    )


def _one_side(regions: list[Region]) -> None:
    """A caption with pictures above it does not also take pictures below it."""
    above = {id(r.caption) for r in regions if r.caption is not None and r.bbox[3] <= r.caption.first.top + 4}
    for region in regions:
        if region.caption is not None and id(region.caption) in above and region.bbox[1] >= region.caption.first.top:
            region.caption = None


def _row_siblings(regions: list[Region], gap: float = 48.0) -> None:
    """An uncaptioned picture in the row of a captioned one, close beside it, is part of its
    figure (a short caption under a wide figure does not reach every picture)."""
    changed = True
    while changed:
        changed = False
        for region in regions:
            if region.caption is not None:
                continue
            for other in regions:
                a, b = region.bbox, other.bbox
                shared = min(a[3], b[3]) - max(a[1], b[1])
                beside = max(a[0] - b[2], b[0] - a[2])
                if other.caption is not None and shared > 0.5 * min(a[3] - a[1], b[3] - b[1]) and beside <= gap:
                    region.caption = other.caption
                    changed = True
                    break


def _union_all(boxes: list[BBox]) -> BBox:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _body_like(line: Line, box: BBox, body_size: float) -> bool:
    """Running text: body-sized and wider than most of the figure (or of a column)."""
    width = line.x1 - line.x0
    return line.size >= body_size - 0.3 and width > max(0.8 * (box[2] - box[0]), 150.0)


def _grow(box: BBox, caption: Caption, free: list[Line], body_size: float) -> tuple[BBox, list[Line]]:
    """Add the text lines inside or touching the box, repeatedly; stop at the caption."""
    cap_top, cap_bottom = caption.first.top, caption.lines[-1].bottom
    below = cap_top >= box[3] - 4  # the caption sits under the figure
    above = not below and cap_bottom <= box[1] + 4  # … or over it (else beside it)
    taken: list[Line] = []
    # left edges of running text: a body-sized line starting there and jutting out of the pictures
    # is the end of a paragraph that the picture's white margin overlaps, not a label
    edges = {ln.x0 for ln in free if ln.size >= body_size - 0.3 and ln.x1 - ln.x0 > 150}
    grown = True
    while grown:
        grown = False
        for ln in free:
            if ln in taken:
                continue
            if (below and ln.top >= cap_top - 1) or (above and ln.bottom <= cap_bottom + 1):
                continue  # the caption's side
            lb = _box(ln)
            h_shared = min(box[2], lb[2]) - max(box[0], lb[0])
            v_shared = min(box[3], lb[3]) - max(box[1], lb[1])
            inside = h_shared > 0.5 * (lb[2] - lb[0]) and v_shared > 0.5 * (lb[3] - lb[1])
            gap_v = max(box[1] - lb[3], lb[1] - box[3])
            gap_h = max(box[0] - lb[2], lb[0] - box[2])
            reach = TOUCH if ln.size < body_size - 0.3 else TIGHT  # labels are set smaller than the text
            touching = (h_shared > 0 and gap_v <= reach) or (v_shared > 0 and gap_h <= reach)
            subcaption = h_shared > 0 and 0 <= lb[1] - box[3] <= SUB_GAP and SUBCAPTION.match(ln.text)
            running = ln.size >= body_size - 0.3 and lb[0] < box[0] - 2 and any(abs(lb[0] - e) < 1.5 for e in edges)
            if (inside or touching or subcaption) and not running and not _body_like(ln, box, body_size):
                taken.append(ln)
                box = (min(box[0], lb[0]), min(box[1], lb[1]), max(box[2], lb[2]), max(box[3], lb[3]))
                grown = True
    return box, taken


def body_size(lines: list[Line]) -> float:
    """The most common font size of the page's text (weighted by characters)."""
    counts: dict[float, int] = {}
    for ln in lines:
        counts[round(ln.size, 1)] = counts.get(round(ln.size, 1), 0) + len(ln.text)
    return max(counts, key=counts.__getitem__, default=10.0)
