"""Figure regions on a page (embedded images and vector drawings), which caption each belongs to,
and their reading order."""

from __future__ import annotations

from dataclasses import dataclass

from ctlabel.pdf.layout import Caption, Line

BBox = tuple[float, float, float, float]  # x0, top, x1, bottom
MIN_SIDE = 24.0  # points: smaller images are logos and bullets


@dataclass
class Region:
    """An embedded image or vector drawing on a page, with the caption and panel letter it gets."""

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
    same_columns = (
        abs(a[0] - b[0]) < tol and abs(a[2] - b[2]) < tol and (-tol < b[1] - a[3] < tol or -tol < a[1] - b[3] < tol)
    )
    same_rows = (
        abs(a[1] - b[1]) < tol and abs(a[3] - b[3]) < tol and (-tol < b[0] - a[2] < tol or -tol < a[0] - b[2] < tol)
    )
    return same_columns or same_rows or a == b


def image_regions(images: list[dict], page_box: BBox) -> list[Region]:
    """Embedded images clipped to the page; a picture stored as strips (or twice) becomes one
    region; tiny ones (logos, bullets) are dropped."""
    boxes = [
        (
            (
                max(im["x0"], page_box[0]),
                max(im["top"], page_box[1]),
                min(im["x1"], page_box[2]),
                min(im["bottom"], page_box[3]),
            ),
            1,
        )
        for im in images
    ]
    return [
        Region(box, "image")
        for box, _ in _merge(boxes, _tiles)
        if box[2] - box[0] >= MIN_SIDE and box[3] - box[1] >= MIN_SIDE
    ]


def drawing_regions(
    objects: list[dict], avoid: list[Region], min_objects: int = 3, min_area: float = 2500.0
) -> list[Region]:
    """Vector drawings: rects, curves and lines merged where they touch; big, busy clusters only."""
    boxes = _merge(
        [((o["x0"], o["top"], o["x1"], o["bottom"]), 1) for o in objects], lambda a, b: _overlap(a, b, pad=4)
    )
    regions = []
    for box, n in boxes:
        area = (box[2] - box[0]) * (box[3] - box[1])
        if n >= min_objects and area >= min_area and not any(_overlap(box, r.bbox) for r in avoid):
            regions.append(Region(box, "drawing"))
    return regions


def assign_captions(regions: list[Region], captions: list[Caption]) -> None:
    """Each region gets the nearest caption below it that overlaps it horizontally (else above,
    else one set beside it)."""
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
        region.caption = best or _side_caption(region, captions)


def _side_caption(region: Region, captions: list[Caption], gap: float = 24.0) -> Caption | None:
    """A caption set beside the region: its lines within the region's height, close to its left
    or right edge."""
    x0, top, x1, bottom = region.bbox
    for caption in captions:
        c_x0, c_x1 = min(ln.x0 for ln in caption.lines), max(ln.x1 for ln in caption.lines)
        inside = caption.first.top >= top - 4 and caption.lines[-1].bottom <= bottom + 4
        if inside and (0 <= x0 - c_x1 <= gap or 0 <= c_x0 - x1 <= gap):
            return caption
    return None


def reading_order(regions: list[Region]) -> list[Region]:
    """Rows top to bottom, left to right within a row; a region joins a row when it shares half
    its height (or the row's) with it, so a taller picture beside a shorter one stays in its row."""
    rows: list[tuple[float, float, list[Region]]] = []
    for region in sorted(regions, key=lambda r: r.bbox[1]):
        top, bottom = region.bbox[1], region.bbox[3]
        if rows:
            r_top, r_bottom, members = rows[-1]
            shared = min(bottom, r_bottom) - max(top, r_top)
            if shared > 0.5 * min(bottom - top, r_bottom - r_top):
                rows[-1] = (min(top, r_top), max(bottom, r_bottom), [*members, region])
                continue
        rows.append((top, bottom, [region]))
    return [r for _, _, row in rows for r in sorted(row, key=lambda r: r.bbox[0])]


def near_any(line: Line, regions: list[Region], gap: float = 40.0) -> bool:
    """Is this line right under (or over) a figure region?"""
    for r in regions:
        if r.bbox[0] - 10 <= line.x0 <= r.bbox[2] and (
            -4 <= line.top - r.bbox[3] <= gap or -4 <= r.bbox[1] - line.bottom <= gap
        ):
            return True
    return False
