"""Self-supervised pretraining without labels (SimCLR): two random views of every image, a projection
head, and the NT-Xent contrastive loss; the backbone's weights go to a file that
``ctlabel train --weights`` loads. bf16 autocast and channels_last as the trainer, images decoded once
(cached), resumable exactly from ``OUT.state.pt``."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import timm
import torch
import torch.nn.functional as F
from torch import nn

from ctlabel import __version__
from ctlabel.errors import CtlabelError
from ctlabel.io import IMAGE_SUFFIXES, atomic_write, cache_dir
from ctlabel.train.images import IMAGENET_MEAN, IMAGENET_STD, decode_all
from ctlabel.train.precision import autocast, memory_format, resolve_amp


@dataclass
class PretrainConfig:
    """Every setting of a pretraining run (saved in the weights file); ``check`` refuses bad values."""

    images: list[str]
    out: str
    backbone: str = "resnet18"
    epochs: int = 50
    image_size: int = 224
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-6
    temperature: float = 0.2
    projection_dim: int = 128
    seed: int = 0
    amp: bool | None = None
    channels_last: bool = True
    cache_dir: str | None = None

    def check(self) -> None:
        for name in ("epochs", "image_size", "batch_size", "projection_dim"):
            if getattr(self, name) < 1:
                raise CtlabelError(f"--{name.replace('_', '-')} must be at least 1")
        if self.batch_size < 2:
            raise CtlabelError("--batch-size must be at least 2 (contrastive pairs need other images)")
        if not self.lr > 0 or not self.temperature > 0:
            raise CtlabelError("--lr and --temperature must be positive")


def image_files(paths: list[str]) -> list[Path]:
    """Image files given directly or found below the given folders, sorted, without duplicates."""
    found: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.update(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        elif path.is_file():
            found.add(path)
        else:
            raise CtlabelError(f"{path}: no such image or folder")
    if not found:
        raise CtlabelError(f"no image file in {', '.join(paths)}")
    return sorted(found)


class SimCLR(nn.Module):
    """Backbone (pooled features) + a two-layer projection head."""

    def __init__(self, backbone: str, projection_dim: int):
        super().__init__()
        self.backbone = timm.create_model(backbone, pretrained=False, num_classes=0)
        width = int(self.backbone.num_features)  # type: ignore[arg-type]
        self.projector = nn.Sequential(nn.Linear(width, width), nn.ReLU(inplace=True), nn.Linear(width, projection_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.projector(self.backbone(x))


def nt_xent(z: torch.Tensor, temperature: float) -> torch.Tensor:
    """The normalised-temperature cross entropy over 2B embeddings (rows i and i+B are the two views)."""
    z = F.normalize(z.float(), dim=1)
    n = z.shape[0] // 2
    sim = z @ z.T / temperature
    sim.fill_diagonal_(float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(sim, target)


def random_views(pixels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One random view per uint8 image: resized crop (20–100 % of the area), small rotation,
    horizontal flip, brightness and contrast, blur on half of them; ImageNet-normalised floats."""
    b = pixels.shape[0]
    x = pixels.float().div_(255)
    r = torch.rand((b, 8), generator=generator)
    side = torch.sqrt(0.2 + 0.8 * r[:, 0])
    aspect = torch.exp((r[:, 1] - 0.5) * math.log(4 / 3) * 2).sqrt()
    sx, sy = (side * aspect).clamp(max=1), (side / aspect).clamp(max=1)
    angle = (r[:, 2] - 0.5) * math.radians(20)
    flip = torch.where(r[:, 3] < 0.5, -1.0, 1.0)
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.zeros((b, 2, 3))
    theta[:, 0, 0], theta[:, 0, 1] = flip * sx * cos, -sy * sin
    theta[:, 1, 0], theta[:, 1, 1] = flip * sx * sin, sy * cos
    theta[:, 0, 2], theta[:, 1, 2] = (r[:, 4] * 2 - 1) * (1 - sx), (r[:, 5] * 2 - 1) * (1 - sy)
    grid = F.affine_grid(theta.to(x.device), list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    brightness = (0.6 + 0.8 * r[:, 6]).view(b, 1, 1, 1).to(x.device)
    contrast = (0.6 + 0.8 * r[:, 7]).view(b, 1, 1, 1).to(x.device)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = ((x - mean) * contrast + mean) * brightness
    blur = (torch.rand(b, generator=generator) < 0.5).view(b, 1, 1, 1).to(x.device)
    x = torch.where(blur, F.avg_pool2d(x, 3, 1, 1, count_include_pad=False), x).clamp_(0, 1)
    return (x - IMAGENET_MEAN.to(x.device)) / IMAGENET_STD.to(x.device)


def state_path(out: Path) -> Path:
    """Where the resumable state of the pretraining output ``out`` is kept: ``{stem}.state.pt`` beside it."""
    return out.with_name(out.stem + ".state.pt")


class Pretrainer:
    """SimCLR pretraining on decoded images; after every epoch ``fit`` saves the backbone weights to ``out`` and the
    resumable state beside them."""

    def __init__(self, config: PretrainConfig, pixels: torch.Tensor, log: Callable[[str], None], progress=None):
        self.config, self.pixels, self.log, self.progress = config, pixels, log, progress
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.generator = torch.Generator().manual_seed(config.seed)
        torch.manual_seed(config.seed)
        self.model = SimCLR(config.backbone, config.projection_dim)
        self.memory_format = memory_format(config.channels_last)
        self.model.to(self.device, memory_format=self.memory_format)  # type: ignore[call-overload]
        self.amp = resolve_amp(config.amp, self.device)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        self.history: list[dict[str, float]] = []
        self.start_epoch = 0

    def lr_at(self, epoch: int) -> float:
        """Cosine decay from lr to lr/100 over the epochs."""
        c = self.config
        return c.lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * epoch / c.epochs)))

    def resume(self, path: Path) -> None:
        state = torch.load(path, map_location="cpu", weights_only=False)
        if state["backbone"] != self.config.backbone or state["images"] != len(self.pixels):
            raise CtlabelError(
                f"{path}: was pretraining {state['backbone']} on {state['images']} images; "
                f"the settings differ ({self.config.backbone}, {len(self.pixels)} images)"
            )
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        self.history, self.start_epoch = state["history"], state["epoch"] + 1

    def epoch(self, epoch: int) -> dict[str, float]:
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr_at(epoch)
        self.model.train()
        n, bs = len(self.pixels), self.config.batch_size
        order = torch.randperm(n, generator=self.generator)
        total, steps, seen, t0 = 0.0, 0, 0, time.perf_counter()
        for start in range(0, n - 1, bs):
            index = order[start : start + bs]
            if len(index) < 2:
                break
            batch = self.pixels[index].to(self.device, non_blocking=True)
            x = torch.cat([random_views(batch, self.generator), random_views(batch, self.generator)])
            x = x.contiguous(memory_format=self.memory_format)
            with autocast(self.device, self.amp):
                z = self.model(x)
            loss = nt_xent(z, self.config.temperature)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            total, steps, seen = total + float(loss.detach()), steps + 1, seen + len(index)
            if self.progress:
                self.progress(len(index))
        seconds = time.perf_counter() - t0
        return {
            "epoch": epoch + 1,
            "loss": total / max(steps, 1),
            "lr": self.lr_at(epoch),
            "images_per_s": 2 * seen / max(seconds, 1e-9),
            "seconds": seconds,
        }

    def save(self, out: Path, epoch: int) -> None:
        c = self.config
        meta = {"backbone": c.backbone, "images": len(self.pixels), "epoch": epoch}
        weights = {
            "state_dict": self.model.backbone.state_dict(),
            **meta,
            "pretrain": {
                "method": "simclr",
                "epochs_done": epoch + 1,
                "config": asdict(c),
                "loss": [h["loss"] for h in self.history],
                "ctlabel": __version__,
            },
        }
        with atomic_write(out, "wb") as fh:
            torch.save(weights, fh)
        state = {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "history": self.history,
            "generator": self.generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            **meta,
        }
        with atomic_write(state_path(out), "wb") as fh:
            torch.save(state, fh)

    def fit(self, out: Path) -> list[dict[str, float]]:
        for epoch in range(self.start_epoch, self.config.epochs):
            row = self.epoch(epoch)
            self.history.append(row)
            self.save(out, epoch)
            self.log(
                f"epoch {row['epoch']}/{self.config.epochs}  contrastive loss {row['loss']:.4f}  "
                f"lr {row['lr']:.2e}  {row['images_per_s']:.0f} views/s"
            )
        return self.history


def load_images(
    config: PretrainConfig, progress: Callable[[int], None] | None = None
) -> tuple[torch.Tensor, list[str]]:
    """Every image decoded and resized once (cached on disk), and the unreadable ones."""
    config.check()
    if config.backbone not in timm.list_models() and not timm.is_model(config.backbone):
        raise CtlabelError(f"unknown backbone {config.backbone!r}; any timm model name works, e.g. resnet18")
    paths = image_files(config.images)
    pixels, bad = decode_all(
        paths, config.image_size, Path(config.cache_dir) if config.cache_dir else cache_dir("images"), progress
    )
    unreadable = set(bad)
    keep = [i for i in range(len(paths)) if i not in unreadable]
    if len(keep) < 2:
        raise CtlabelError(f"{len(keep)} readable image(s): pretraining needs at least 2")
    return pixels[keep], [f"{paths[i]}: not a readable image" for i in bad]


def pretrain(
    config: PretrainConfig,
    pixels: torch.Tensor,
    resume: bool = False,
    log: Callable[[str], None] = print,
    progress: Callable[[int], None] | None = None,
) -> list[dict[str, float]]:
    """Pretrain on the decoded images; the history of the epochs (the resumed ones included)."""
    out = Path(config.out)
    if resume and not state_path(out).exists():
        raise CtlabelError(f"{state_path(out)}: nothing to resume (no pretraining state)")
    trainer = Pretrainer(config, pixels, log, progress)
    if resume:
        trainer.resume(state_path(out))
    log(
        f"SimCLR on {len(pixels)} images, {config.backbone} at {config.image_size} px: "
        f"{'bfloat16 autocast' if trainer.amp else 'float32'}, {'channels_last' if config.channels_last else 'contiguous'}"
    )
    return trainer.fit(out)
