"""One CT-like image generator for tests, the demo sample and benchmarks (numpy and PIL only)."""

from __future__ import annotations

import numpy as np
from PIL import Image


def ct_like(seed: int, lesion: str | None = None, size: tuple[int, int] = (96, 128)) -> np.ndarray:
    """A CT-like slice: a body ellipse, two dark lungs; with a lesion, the pneumonia pattern of COVID-19:
    patchy ground-glass haze in both lungs ("ggo"), plus a dense patch for "consolidation"."""
    rng = np.random.default_rng(seed)
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.full((h, w), 10, np.float32)
    body = ((yy - h / 2) / (h * 0.45)) ** 2 + ((xx - w / 2) / (w * 0.47)) ** 2 < 1
    img[body] = 140
    lungs = np.zeros((h, w), bool)
    for cx in (0.3, 0.7):
        lungs |= ((yy - h / 2) / (h * 0.33)) ** 2 + ((xx - w * cx) / (w * 0.16)) ** 2 < 1
    img[lungs] = 35
    if lesion:
        coarse = rng.normal(0, 1, (h // 12 + 2, w // 12 + 2)).astype(np.float32)
        field = np.asarray(Image.fromarray(coarse, "F").resize((w, h), Image.Resampling.BILINEAR))
        haze = lungs & (field > -0.5)
        img[haze] += 55 + rng.normal(0, 12, int(haze.sum()))  # hazy and grainy, lung still darker than the body
        cy, cx = int(rng.integers(int(h * 0.35), int(h * 0.65))), int(rng.integers(int(w * 0.22), int(w * 0.38)))
        patch = ((yy - cy) / 9) ** 2 + ((xx - cx) / 9) ** 2 < 1
        if lesion == "consolidation":
            img[patch] = 120
    img += rng.normal(0, 6, img.shape)
    tint = np.array([1.0, 0.9 + 0.1 * (seed % 3) / 2, 0.8 + 0.2 * (seed % 5) / 4])  # distinct per image
    return np.clip(img[..., None] * tint, 0, 255).astype(np.uint8)
