"""What kind of picture a crop is — ct, xray, chart, diagram, photo or other — from cheap evidence:
grey-level statistics and a dark frame round a bright body (CT) or a grey field (X-ray), a white
background with few colours (charts, diagrams; vector paths lean to diagram), many colours
(photo); the caption's words break ties (and a caption about cells or micrographs rules out a scan).
"""

from __future__ import annotations

import re

import numpy as np

CHEST = ("ct", "xray")  # the kinds that may take the document's title and abstract
_WORDS = {
    "ct": re.compile(r"\b(CT|computed tomograph\w*|HRCT|slices?|axial|scans?)\b", re.IGNORECASE),
    "xray": re.compile(r"\b(x-?rays?|radiographs?|CXR|chest films?)\b", re.IGNORECASE),
    "chart": re.compile(
        r"\b(curves?|loss|accuracy|plots?|histograms?|errors?|rates?|AUC|ROC|matri(?:x|ces)|vs\.?|versus|epochs?|iterations?)\b",
        re.IGNORECASE,
    ),
    "other": re.compile(
        r"\b(microscop\w*|micrograph\w*|cells?|photograph\w*|microns?|µm|specimens?|histolog\w*|stain\w*)\b",
        re.IGNORECASE,
    ),
    "diagram": re.compile(
        r"\b(architecture|pipeline|diagram|network|block|schem\w+|workflow|overview|flow ?chart|framework)\b",
        re.IGNORECASE,
    ),
}


def _chest_frame(grey: np.ndarray) -> str | None:
    """ct: dark border round a brighter middle; xray: a grey field, little white paper."""
    h, w = grey.shape
    if h < 16 or w < 16:
        return None
    border = np.concatenate(
        [grey[: h // 10].ravel(), grey[-h // 10 :].ravel(), grey[:, : w // 10].ravel(), grey[:, -w // 10 :].ravel()]
    )
    middle = grey[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4]
    dark = (grey < 50).mean()
    white = (grey > 235).mean()
    if np.median(border) < 40 and middle.mean() > np.median(border) + 25 and 0.15 < dark < 0.85:
        return "ct"
    if white < 0.05 and 50 < grey.mean() < 200 and grey.std() > 30:
        return "xray"
    return None


def _axes(grey: np.ndarray) -> bool:
    """Two long dark strokes, one across and one down (a chart's axes or frame)."""
    ink = grey < 200  # thin strokes render light grey
    return bool(ink.mean(axis=1).max() > 0.6 and ink.mean(axis=0).max() > 0.6)


def classify(rgb: np.ndarray, source: str, caption: str) -> str:
    """The kind of a crop (H×W×3 uint8); ``source`` is "image" or "drawing"."""
    if rgb.size == 0:
        return "other"
    step = max(1, max(rgb.shape[:2]) // 256)  # statistics of a thumbnail are enough
    rgb = rgb[::step, ::step]
    pixels = rgb.astype(np.int16)
    spread = pixels.max(axis=2) - pixels.min(axis=2)
    grey = pixels.mean(axis=2)
    greyish = (spread < 24).mean()
    white = (grey > 235).mean()
    words = {k: bool(p.search(caption)) for k, p in _WORDS.items()}
    if greyish > 0.6 and source == "image" and not words["other"]:  # tinted or lightly overlaid scans too
        chest = _chest_frame(grey)
        if greyish > 0.9 and (grey < 60).mean() > 0.15:
            chest = chest or "ct"  # dark body parts on a light ground (lungs cut out of a slice)
        if chest == "xray" and words["ct"] and not words["xray"]:
            return "ct"
        if chest:
            return chest
    if white > 0.5:
        if words["diagram"] and not words["chart"]:
            return "diagram"
        if words["chart"] and not words["diagram"]:
            return "chart"
        return "chart" if _axes(grey) or source == "image" else "diagram"
    small = rgb[:: max(1, rgb.shape[0] // 64), :: max(1, rgb.shape[1] // 64)].reshape(-1, 3) // 32
    colours = len({tuple(c) for c in small.tolist()})
    if source == "image" and greyish > 0.3 and (words["ct"] or words["xray"]) and not words["other"]:
        return "ct" if words["ct"] else "xray"  # scans beside colour maps (masks, heat maps)
    if colours > 40 and white < 0.3:
        return "photo"
    return "other"
