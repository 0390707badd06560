"""Decode and resize every image once, keep them as one uint8 tensor, augment batches on tensors."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError

from ctlabel.errors import CtlabelError
from ctlabel.io import atomic_write, index_images

IMAGENET_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
IMAGENET_STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def load_image(path: Path, size: int) -> np.ndarray:
    """An RGB uint8 array of size×size from any PIL mode (RGB, RGBA, L, P, I;16…)."""
    with Image.open(path) as opened:
        img: Image.Image = opened
        if img.mode in ("I;16", "I"):
            arr = np.asarray(img, dtype=np.float32)
            lo, hi = float(arr.min()), float(arr.max())
            img = Image.fromarray(((arr - lo) / (hi - lo or 1) * 255).astype(np.uint8))
        if img.mode == "P":
            img = img.convert("RGBA")
        if img.mode in ("RGBA", "LA"):
            background = Image.new("RGBA", img.size, (0, 0, 0, 255))
            img = Image.alpha_composite(background, img.convert("RGBA"))
        img = img.convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
        return np.asarray(img, dtype=np.uint8)


def find_images(names: list[str], roots: list[Path]) -> tuple[dict[str, Path], list[str]]:
    """Each name's file anywhere below the roots (the first root wins), and the names not found."""
    index: dict[str, Path] = {}
    for root in reversed(roots):
        if not root.is_dir():
            raise CtlabelError(f"{root}: images folder not found")
        index.update(index_images(root))
    return {n: index[n] for n in names if n in index}, [n for n in names if n not in index]


def decode_all(paths: list[Path], size: int, cache_dir: Path | None, progress=None) -> tuple[torch.Tensor, list[int]]:
    """(N, 3, S, S) uint8 images, and the positions that could not be read. Cached on disk by content."""
    key = hashlib.sha256()
    for p in paths:
        stat = p.stat()
        key.update(f"{p.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    key.update(str(size).encode())
    cache = cache_dir / f"images-{key.hexdigest()[:20]}.pt" if cache_dir else None
    if cache is not None and cache.exists():
        try:
            saved = torch.load(cache)
            return saved["pixels"], saved["bad"]
        except Exception as exc:  # a truncated or foreign file fails in many ways
            sys.stderr.write(
                f"warning: {cache}: unreadable image cache ({exc.__class__.__name__}); decoding the images again\n"
            )
    pixels = torch.zeros((len(paths), 3, size, size), dtype=torch.uint8)
    bad = []
    for i, path in enumerate(paths):
        try:
            pixels[i] = torch.from_numpy(load_image(path, size).copy()).permute(2, 0, 1)
        except (UnidentifiedImageError, OSError, ValueError):
            bad.append(i)
        if progress:
            progress(1)
    if cache is not None:
        with atomic_write(cache, "wb") as fh:  # an interrupted save leaves no entry, never a broken one
            torch.save({"pixels": pixels, "bad": bad}, fh)
    return pixels, bad


def normalize(batch: torch.Tensor) -> torch.Tensor:
    """uint8 (B,3,H,W) → float, ImageNet-normalized, on the batch's device."""
    x = batch.float().div_(255)
    return (x - IMAGENET_MEAN.to(x.device)) / IMAGENET_STD.to(x.device)


def augment(
    x: torch.Tensor, generator: torch.Generator, shear: float = 0.2, scale: tuple[float, float] = (0.8, 1.2)
) -> torch.Tensor:
    """The reference's augmentation on a float batch: random shear and zoom, horizontal flip; one
    affine warp for the whole batch (per-sample parameters), drawn from ``generator``."""
    b = x.shape[0]
    rand = torch.rand((b, 3), generator=generator)
    s = scale[0] + (scale[1] - scale[0]) * rand[:, 0]
    sh = (rand[:, 1] * 2 - 1) * shear
    flip = torch.where(rand[:, 2] < 0.5, -1.0, 1.0)
    theta = torch.zeros((b, 2, 3))
    theta[:, 0, 0] = flip / s
    theta[:, 0, 1] = -torch.tan(sh) / s
    theta[:, 1, 1] = 1 / s
    grid = F.affine_grid(theta.to(x.device, x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
