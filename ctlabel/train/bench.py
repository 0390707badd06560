"""``ctlabel bench train``: training images/s, with data time and compute time apart."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ctlabel.train.config import TrainConfig
from ctlabel.train.trainer import train


def _synthetic_dataset(root: Path, n: int) -> tuple[Path, Path]:
    """n CT-like grey PNGs (half with bright 'lesions'), a label file and a split file."""
    rng = np.random.default_rng(0)
    images = root / "images"
    images.mkdir()
    rows, split = ["imgname,CVD19,GGO,Csld,CrPa,AirBr,InSepThi"], ["image,split"]
    for i in range(n):
        pixels = rng.normal(60, 20, (256, 256)).clip(0, 255).astype(np.uint8)
        covid = i % 2 == 0
        if covid:
            y, x = rng.integers(40, 200, 2)
            pixels[y : y + 40, x : x + 40] = np.minimum(pixels[y : y + 40, x : x + 40] + 120, 255)
        Image.fromarray(pixels).save(images / f"b{i:05d}.png")
        rows.append(f"b{i:05d}.png,{'CVD19,GGO' if covid else ','},,,,")
        split.append(f"b{i:05d}.png,{'train' if i % 8 else 'val'}")
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    (root / "split.csv").write_text("\n".join(split) + "\n")
    return root / "labels.csv", root / "split.csv"


def bench_train(backbone: str, image_size: int, batch_size: int, n_images: int, epochs: int, device: str, amp: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        labels, split = _synthetic_dataset(root, n_images)
        config = TrainConfig(
            labels=str(labels), images=str(root / "images"), split_file=str(split), out=str(root / "run"),
            backbone=backbone, image_size=image_size, batch_size=batch_size, epochs=epochs, device=device, amp=amp,
            bootstrap=0, cache_dir=str(root / "cache"),
        )
        result = train(config, log=lambda line: None)
    epochs_out = [
        {"epoch": h["epoch"], "images_per_s": h["images_per_s"], "data_s": h["data_s"], "compute_s": h["compute_s"],
         "epoch_s": h["epoch_s"], "data_share": h["data_s"] / h["epoch_s"]}
        for h in result.history
    ]
    return {"backbone": backbone, "image_size": image_size, "batch_size": batch_size, "device": device, "amp": amp,
            "train_images": n_images - n_images // 8, "epochs": epochs_out}
