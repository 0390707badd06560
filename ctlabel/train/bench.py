"""``ctlabel bench train``: training images/s with data and compute time apart, beside a
reference-style loop on the same images, model and machine."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import timm
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from ctlabel.export.formats import HEADER
from ctlabel.testing.images import ct_like
from ctlabel.train.config import TrainConfig
from ctlabel.train.data import prepare
from ctlabel.train.precision import describe
from ctlabel.train.trainer import Trainer


def _synthetic_dataset(root: Path, n: int) -> tuple[Path, Path]:
    """n CT-like 256-px PNGs (half with ground-glass haze), a label file and a split file."""
    images = root / "images"
    images.mkdir()
    rows, split = [",".join(HEADER)], ["image,split"]
    for i in range(n):
        covid = i % 2 == 0
        Image.fromarray(ct_like(i, "ggo" if covid else None, size=(256, 256))).save(images / f"b{i:05d}.png")
        rows.append(f"b{i:05d}.png,{'CVD19,GGO' if covid else ','},,,,")
        split.append(f"b{i:05d}.png,{'train' if i % 8 else 'val'}")
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    (root / "split.csv").write_text("\n".join(split) + "\n")
    return root / "labels.csv", root / "split.csv"


class _SigmoidNet(nn.Module):
    """The reference's network: probabilities out of forward (sigmoid inside the model)."""

    def __init__(self, backbone: str, outputs: int):
        super().__init__()
        self.net = timm.create_model(backbone, pretrained=False, num_classes=outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(x))


def reference_epoch(
    paths: list[Path], targets: torch.Tensor, backbone: str, image_size: int, batch_size: int
) -> dict[str, float]:
    """One epoch the way the reference trains: PIL decode and torchvision transforms of every
    image every epoch, sigmoid in forward, a per-sample loss loop, float32, contiguous, CPU."""
    from torchvision import transforms

    torch.manual_seed(0)
    transform = transforms.Compose(
        [
            transforms.Resize((image_size, image_size)),
            transforms.RandomAffine(0, shear=float(np.degrees(0.2)), scale=(0.8, 1.2)),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
        ]
    )
    model = _SigmoidNet(backbone, targets.shape[1]).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-5, weight_decay=5e-4)
    start, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(paths), batch_size):
        x = torch.stack([transform(Image.open(p).convert("RGB")) for p in paths[i : i + batch_size]])
        y = targets[i : i + batch_size]
        out = model(x)
        loss = sum(F.binary_cross_entropy(out[k], y[k]) for k in range(len(y))) / len(y)
        optimizer.zero_grad()
        loss.backward()  # type: ignore[union-attr]
        optimizer.step()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {
        "images": len(paths),
        "seconds": seconds,
        "images_per_s": len(paths) / seconds,
        "cpu_s": cpu,
        "images_per_cpu_s": len(paths) / cpu,
    }


def bench_train(
    backbone: str,
    image_size: int,
    batch_size: int,
    n_images: int,
    epochs: int,
    device: str,
    amp: bool | None,
    reference: bool = True,
) -> dict[str, Any]:
    """Time ``epochs`` epochs of training on ``n_images`` synthetic CT-like images: images/s with data and compute
    time apart; on the CPU with ``reference``, also a reference-style epoch and the speedup over it."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        labels, split = _synthetic_dataset(root, n_images)
        config = TrainConfig(
            labels=str(labels),
            images=[str(root / "images")],
            split_file=str(split),
            out=str(root / "run"),
            backbone=backbone,
            image_size=image_size,
            batch_size=batch_size,
            epochs=epochs,
            device=device,
            amp=amp,
            bootstrap=0,
            cache_dir=str(root / "cache"),
        )
        t0 = time.perf_counter()
        data = prepare(config)
        decode_s = time.perf_counter() - t0
        trainer = Trainer(config, data, log=lambda line: None)
        epochs_out = []
        for epoch in range(epochs):
            start, cpu = time.perf_counter(), time.process_time()
            row = trainer.train_epoch()
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
            epochs_out.append(
                {
                    "epoch": epoch + 1,
                    "images_per_s": row["images"] / seconds,
                    "images_per_cpu_s": row["images"] / cpu,
                    "data_s": row["data_s"],
                    "compute_s": row["compute_s"],
                    "epoch_s": seconds,
                    "cpu_s": cpu,
                    "data_share": row["data_s"] / seconds,
                }
            )
        ran = describe(trainer.device, trainer.amp, config.channels_last)
        ref = None
        if reference and trainer.device.type == "cpu":
            train = data.splits["train"]
            paths = [root / "images" / n for n in train.names]
            ref = reference_epoch(paths, (train.targets == 1).float(), backbone, image_size, batch_size)
    out: dict[str, Any] = {
        "backbone": backbone,
        "image_size": image_size,
        "batch_size": batch_size,
        "precision": ran,
        "train_images": len(data.splits["train"].names),
        "threads": torch.get_num_threads(),
        "decode_once_s": decode_s,
        "epochs": epochs_out,
    }
    if ref is not None:
        out["reference"] = ref
        out["speedup"] = epochs_out[-1]["images_per_s"] / ref["images_per_s"]
        out["speedup_cpu_time"] = epochs_out[-1]["images_per_cpu_s"] / ref["images_per_cpu_s"]
    return out
