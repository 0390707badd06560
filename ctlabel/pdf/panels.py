"""Panels of a figure, only with evidence: sub-captions "(a) …" under sub-images, letters printed
as text on or beside them, or letters the caption names (then in reading order). When the counts
disagree the figure stays whole (``panel`` None) with a note saying why. One raster whose caption
names k panels is split at uniform gutters when they give exactly k cells.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

import numpy as np

from ctlabel.mine.panels import expand_panels
from ctlabel.pdf.figures import SUB_GAP, SUBCAPTION, Figure
from ctlabel.pdf.regions import BBox, Region, reading_order

_LETTER = re.compile(r"^\(?([A-Za-z])\)?[.:]?$")
_ITEM = r"[A-Za-z]"
_LIST = rf"{_ITEM}(?:\s*(?:,|and|&|-|–|to)\s*{_ITEM})*"
_NAMED = re.compile(rf"\(({_LIST})\)|(?:^|[.;—–]\s+)([A-Z])[,:]\s")
_LOWER = re.compile(r"\([a-l](?:\)|\s*[,\-–]|\s+and\b)")
CORNER = 18.0  # points: a printed letter sits within this of an image's corner


@dataclass
class Crop:
    """One cut of a figure: its page box, panel letter (None for the whole figure) and source (image or drawing)."""

    bbox: BBox
    panel: str | None
    source: str  # "image" or "drawing"


def caption_letters(text: str) -> list[str]:
    """Panel letters the caption names — "(a)", "(B, C)", "(d–f)", or "A, …" / "— B: …" opening a
    sentence — when they run A, B, C… from A (at least two), in the caption's case. A letter far
    past the run ("the input (x)") is a symbol, not a panel."""
    named: set[str] = set()
    for match in _NAMED.finditer(text):
        named |= expand_panels(match.group(1) or match.group(2))
    run = 0
    while string.ascii_uppercase[run] in named:
        run += 1
    if run < 2 or any(
        string.ascii_uppercase.index(c) < run + 2 for c in named if c not in string.ascii_uppercase[:run]
    ):
        return []
    letters = list(string.ascii_uppercase[:run])
    return [c.lower() for c in letters] if _LOWER.search(text) else letters


def _printed(region: Region, words: list[dict]) -> str | None:
    """A single letter printed as text at a corner of the region (on it or just outside)."""
    x0, top, x1, bottom = region.bbox
    w, h = x1 - x0, bottom - top
    for word in words:
        match = _LETTER.match(word["text"])
        if not match:
            continue
        near_x = x0 - CORNER <= word["x0"] <= x0 + 0.2 * w or x1 - 0.2 * w <= word["x1"] <= x1 + CORNER
        near_y = top - CORNER <= word["top"] <= top + 0.2 * h or bottom - 0.2 * h <= word["bottom"] <= bottom + CORNER
        if near_x and near_y:
            return match.group(1)
    return None


def _subcaption(region: Region, figure: Figure) -> str | None:
    """The letter of a sub-caption "(a) …" right under the region and centred within it."""
    x0, _, x1, bottom = region.bbox
    for line in figure.texts:
        match = SUBCAPTION.match(line.text)
        centre = (line.x0 + line.x1) / 2
        if match and x0 <= centre <= x1 and -2 <= line.top - bottom <= SUB_GAP + 20:
            return match.group(1)
    return None


def _distinct(letters: list[str | None]) -> bool:
    return all(letters) and len({c.lower() for c in letters if c}) == len(letters)


def _merged(members: list[Region]) -> list[Region]:
    """Overlapping members (an inset, an image with drawn marks) count as one."""
    out: list[Region] = []
    for region in members:
        for k, other in enumerate(out):
            a, b = region.bbox, other.bbox
            if min(a[2], b[2]) - max(a[0], b[0]) > 2 and min(a[3], b[3]) - max(a[1], b[1]) > 2:
                box = (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
                out[k] = Region(box, "image" if "image" in (region.kind, other.kind) else "drawing", other.caption)
                break
        else:
            out.append(region)
    return reading_order(out)


def panel_crops(figure: Figure, words: list[dict], pixels: np.ndarray | None, scale: float) -> list[Crop]:
    """The records of one figure: one per panel when the evidence agrees, else the whole figure.
    ``pixels`` is the page rendering (for gutters), ``scale`` pixels per point."""
    whole = [Crop(figure.bbox, None, "image" if any(m.kind == "image" for m in figure.members) else "drawing")]
    named = caption_letters(figure.caption.text)
    members = _merged(figure.members)
    if len(members) >= 2:
        for letters in ([_subcaption(m, figure) for m in members], [_printed(m, words) for m in members]):
            if _distinct(letters) and (not named or {c.lower() for c in letters if c} == {c.lower() for c in named}):
                return [Crop(m.bbox, c, m.kind) for m, c in zip(members, letters)]
        if named and len(named) == len(members):
            return [Crop(m.bbox, c, m.kind) for m, c in zip(members, named)]
        if named:
            figure.notes = f"the caption names {len(named)} panels ({named[0]}–{named[-1]}) but the figure has {len(members)} pictures"
        return whole
    if named and pixels is not None and members[0].kind == "image":
        cells = gutter_cells(pixels, members[0].bbox, scale, len(named))
        if len(cells) == len(named) and _even(cells):
            return [Crop(box, c, "image") for box, c in zip(cells, named)]
        uneven = " cells of uneven size" if len(cells) == len(named) else ""
        figure.notes = f"the caption names {len(named)} panels ({named[0]}–{named[-1]}) but the picture splits into {len(cells)}{uneven}"
    return whole


def _even(cells: list[BBox]) -> bool:
    """Panels of one plate are of a kind: the smallest has at least a fifth of the largest's area."""
    areas = [(c[2] - c[0]) * (c[3] - c[1]) for c in cells]
    return min(areas) >= 0.2 * max(areas)


def _flat(grey: np.ndarray, axis: int) -> np.ndarray:
    """Rows (axis 1) or columns (axis 0) of near-constant colour; a thin line across them is allowed."""
    median = np.median(grey, axis=axis, keepdims=True)
    return (np.abs(grey - median) < 12).mean(axis=axis) > 0.95


def _spans(flat: np.ndarray, min_gap: int, min_cell: int) -> list[tuple[int, int]]:
    """The stretches between gutters (runs of ``flat`` at least ``min_gap`` long); a stretch
    shorter than ``min_cell`` (a row of labels) joins the one before it."""
    spans: list[tuple[int, int]] = []
    k, n = 0, len(flat)
    while k < n:
        if flat[k]:
            end = k
            while end < n and flat[end]:
                end += 1
            if end - k < min_gap and spans and spans[-1][1] == k:
                spans[-1] = (spans[-1][0], end)  # a thin flat line inside content
            k = end
            continue
        end = k
        while end < n and (not flat[end] or _short_run(flat, end, min_gap)):
            end += 1
        spans.append((k, end))
        k = end
    merged: list[tuple[int, int]] = []
    for lo, hi in spans:
        if merged and hi - lo < min_cell:
            merged[-1] = (merged[-1][0], hi)
        else:
            merged.append((lo, hi))
    if len(merged) > 1 and merged[0][1] - merged[0][0] < min_cell:
        merged[1] = (merged[0][0], merged[1][1])
        merged.pop(0)
    return merged


def _short_run(flat: np.ndarray, k: int, min_gap: int) -> bool:
    """Is the flat run starting at ``k`` shorter than a gutter?"""
    end = k
    while end < len(flat) and flat[end]:
        end += 1
    return end - k < min_gap and end < len(flat)


def _cut(
    grey: np.ndarray, x0: int, top: int, depth: int, min_gap: int, min_cell: int
) -> list[tuple[int, int, int, int]]:
    """Recursive cuts at full-length gutters: rows, then the columns of each row, and so on."""
    h, w = grey.shape
    for axis in (1, 0):  # rows first, then columns
        spans = _spans(_flat(grey, axis), min_gap, min_cell)
        if len(spans) > 1 and depth > 0:
            cells = []
            for lo, hi in spans:
                part = grey[lo:hi] if axis == 1 else grey[:, lo:hi]
                ox, oy = (x0, top + lo) if axis == 1 else (x0 + lo, top)
                cells += _cut(part, ox, oy, depth - 1, min_gap, min_cell)
            return cells
    return [(x0, top, x0 + w, top + h)]


def gutter_cells(pixels: np.ndarray, box: BBox, scale: float, want: int) -> list[BBox]:
    """Cells of a picture cut at full-length gutters (rows and columns of near-constant colour),
    recursively, in reading order. Gutters are tried from the widest down; the first width that
    gives ``want`` cells wins, else the cells at the widest width that splits at all."""
    x0, top = int(box[0] * scale), int(box[1] * scale)
    grey = pixels[top : int(box[3] * scale), x0 : int(box[2] * scale)].astype(np.float32)
    if grey.ndim == 3:
        grey = grey.mean(axis=2)
    if grey.size == 0:
        return [box]
    min_cell = max(12, int(0.08 * min(grey.shape)))
    first: list[tuple[int, int, int, int]] | None = None
    for gap in (12, 8, 6, 4, 3, 2, 1, 0.5):  # points
        cells = _cut(grey, x0, top, 3, max(1, round(gap * scale)), min_cell)
        if len(cells) == want:
            break
        first = first if first is not None or len(cells) == 1 else cells
    else:
        cells = first or cells
    return [(a / scale, b / scale, c / scale, d / scale) for a, b, c, d in cells]
