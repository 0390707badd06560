"""Figure regions on a page (embedded images and vector drawings), which caption each belongs to,
and its panel letter."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ctlabel.pdf.layout import Caption, Line

BBox = tuple[float, float, float, float]  # x0, top, x1, bottom
MIN_SIDE = 24.0  # points: smaller images are logos and bullets
_LETTER = re.compile(r"^\(?([A-Ha-h])[).]?$")


@dataclass
class Region:
    bbox: BBox
    kind: str  # "image" or "drawing"
    caption: Caption | None = None
    panel: str | None = None


def _overlap(a: BBox, b: BBox, pad: float = 0.0) -> bool:
    return a[0] - pad < b[2] and b[0] - pad < a[2] and a[1] - pad < b[3] and b[1] - pad < a[3]


def _union(a: BBox, b: BBox) -> BBox:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def _merge(boxes: list[tuple[BBox, int]], touching) -> list[tuple[BBox, int]]:
    """Union boxes that ``touching(a, b)`` joins, until none does; keeps a count of members."""
    merged = True
    while merged:
        merged = False
        out: list[tuple[BBox, int]] = []
        for box, n in boxes:
            for k, (other, m) in enumerate(out):
                if touching(box, other):
                    out[k] = (_union(box, other), n + m)
                    merged = True
                    break
            else:
                out.append((box, n))
        boxes = out
    return boxes


def _tiles(a: BBox, b: BBox, tol: float = 1.5) -> bool:
    """Two strips of one picture: same width stacked, or same height side by side, no gap."""
    same_columns = abs(a[0] - b[0]) < tol and abs(a[2] - b[2]) < tol and (-tol < b[1] - a[3] < tol or -tol < a[1] - b[3] < tol)
    same_rows = abs(a[1] - b[1]) < tol and abs(a[3] - b[3]) < tol and (-tol < b[0] - a[2] < tol or -tol < a[0] - b[2] < tol)
    return same_columns or same_rows or a == b


def image_regions(images: list[dict], page_box: BBox) -> list[Region]:
    """Embedded images clipped to the page; a picture stored as strips (or twice) becomes one
    region; tiny ones (logos, bullets) are dropped."""
    boxes = [
        ((max(im["x0"], page_box[0]), max(im["top"], page_box[1]), min(im["x1"], page_box[2]), min(im["bottom"], page_box[3])), 1)
        for im in images
    ]
    return [
        Region(box, "image") for box, _ in _merge(boxes, _tiles)
        if box[2] - box[0] >= MIN_SIDE and box[3] - box[1] >= MIN_SIDE
    ]


def drawing_regions(objects: list[dict], avoid: list[Region], min_objects: int = 3, min_area: float = 2500.0) -> list[Region]:
    """Vector drawings: rects, curves and lines merged where they touch; big, busy clusters only."""
    boxes = _merge([((o["x0"], o["top"], o["x1"], o["bottom"]), 1) for o in objects], lambda a, b: _overlap(a, b, pad=4))
    regions = []
    for box, n in boxes:
        area = (box[2] - box[0]) * (box[3] - box[1])
        if n >= min_objects and area >= min_area and not any(_overlap(box, r.bbox) for r in avoid):
            regions.append(Region(box, "drawing"))
    return regions


def assign_captions(regions: list[Region], captions: list[Caption]) -> None:
    """Each region gets the nearest caption below it that overlaps it horizontally (else above)."""
    for region in regions:
        best, best_dist = None, None
        for caption in captions:
            first = caption.first
            width = region.bbox[2] - region.bbox[0]
            shared = min(region.bbox[2], first.x1 if first.column else region.bbox[2]) - max(region.bbox[0], first.x0)
            if first.column and shared < 0.3 * min(width, first.x1 - first.x0):
                continue
            below = first.top - region.bbox[3]
            above = region.bbox[1] - caption.lines[-1].bottom
            dist = below if below >= -4 else (above + 1000 if above >= -4 else None)  # prefer captions below
            if dist is not None and (best_dist is None or dist < best_dist):
                best, best_dist = caption, dist
        region.caption = best


def reading_order(regions: list[Region]) -> list[Region]:
    """Left to right, then top to bottom (rows: regions whose tops are within 20 pt)."""
    ordered = sorted(regions, key=lambda r: r.bbox[1])
    rows: list[list[Region]] = []
    for region in ordered:
        if rows and abs(rows[-1][0].bbox[1] - region.bbox[1]) < 20:
            rows[-1].append(region)
        else:
            rows.append([region])
    return [r for row in rows for r in sorted(row, key=lambda r: r.bbox[0])]


def assign_panels(regions: list[Region], words: list[dict]) -> None:
    """Panels of one figure: a letter printed on or just by each image when every image has one,
    else A, B, … in reading order; a figure of one image has no panel."""
    if len(regions) < 2:
        return
    printed = []
    for region in regions:
        x0, top, x1, bottom = region.bbox
        letters = [
            _LETTER.match(w["text"]).group(1).upper() for w in words
            if _LETTER.match(w["text"]) and x0 - 18 <= w["x0"] <= x1 and top - 18 <= w["top"] <= bottom
            and (w["x0"] <= x0 + 0.25 * (x1 - x0)) and (w["top"] <= top + 0.25 * (bottom - top))
        ]
        printed.append(letters[0] if letters else None)
    use_printed = all(printed) and len(set(printed)) == len(printed)
    for k, region in enumerate(regions):
        region.panel = printed[k] if use_printed else chr(ord("A") + k)


def near_any(line: Line, regions: list[Region], gap: float = 40.0) -> bool:
    """Is this line right under (or over) a figure region?"""
    for r in regions:
        if r.bbox[0] - 10 <= line.x0 <= r.bbox[2] and (-4 <= line.top - r.bbox[3] <= gap or -4 <= r.bbox[1] - line.bottom <= gap):
            return True
    return False
