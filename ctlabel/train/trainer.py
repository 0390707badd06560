"""The training loop: joint COVID + lesion loss, best checkpoint by a validation metric, early
stopping, exact resume, bf16 autocast and channels_last (CPU and GPU), DDP under torchrun."""

from __future__ import annotations

import csv
import json
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

from ctlabel import __version__
from ctlabel.errors import CtlabelError
from ctlabel.io import atomic_write
from ctlabel.train.config import TrainConfig
from ctlabel.train.data import Split, SplitData, prepare
from ctlabel.train.images import augment, normalize
from ctlabel.train.labels import LABEL_ORDER
from ctlabel.train.metrics import binary_metrics, evaluate_outputs
from ctlabel.train.model import build_model
from ctlabel.train.plots import plot_curves
from ctlabel.train.precision import autocast, describe, memory_format, resolve_amp

LOWER_IS_BETTER = {"val_covid_loss", "val_loss"}


def lesion_targets(targets: torch.Tensor, policy: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Lesion target values and the mask of terms that count (CheXpert-style U-policies).

    mask (the reference): lesion terms count only for images with at least one lesion marked;
    uncertain cells are masked. zeros / ones: every image counts; uncertain cells become 0 / 1.
    """
    lesions = targets[:, 1:]
    if policy == "mask":
        valid = (lesions == 1).any(dim=1, keepdim=True) & (lesions >= 0)
        return (lesions == 1).float(), valid.float()
    values = (lesions == 1).float() if policy == "zeros" else (lesions != 0).float()
    return values, torch.ones_like(values)


def compute_loss(logits: torch.Tensor, targets: torch.Tensor, config: TrainConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """(total loss, COVID loss). The COVID term is weighted by ``covid_weight`` (the reference: 5)."""
    logits = logits.float()
    covid = F.binary_cross_entropy_with_logits(logits[:, 0], (targets[:, 0] == 1).float())
    if config.baseline:
        return covid, covid
    values, mask = lesion_targets(targets, config.lesion_policy)
    terms = F.binary_cross_entropy_with_logits(logits[:, 1:], values, reduction="none") * mask
    return config.covid_weight * covid + terms.sum() / mask.sum().clamp(min=1), covid


@dataclass
class RunResult:
    """A finished run: its folder, best epoch (0-based), metrics, epoch history, label counts and dropped images."""

    out: Path
    best_epoch: int
    metrics: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)


def _seed_everything(seed: int) -> torch.Generator:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def _device(config: TrainConfig) -> torch.device:
    if config.device == "cuda" or (config.device == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise CtlabelError("--device cuda: no CUDA device here")
        local = int(os.environ.get("LOCAL_RANK", "0"))
        return torch.device("cuda", local)
    return torch.device("cpu")


class Trainer:
    """Trains the model of ``config`` on ``data`` (DDP under torchrun); ``fit`` keeps ``best.pt``/``last.pt`` and
    writes metrics, config, predictions, history and curves to ``config.out`` (rank 0)."""

    def __init__(self, config: TrainConfig, data: SplitData, log: Callable[[str], None] = print, progress=None):
        self.config, self.data, self.log, self.progress = config, data, log, progress
        self.out = Path(config.out)
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.device = _device(config)
        if self.world > 1 and not dist.is_initialized():
            dist.init_process_group("nccl" if self.device.type == "cuda" else "gloo")
        self.generator = _seed_everything(config.seed)
        outputs = 1 if config.baseline else len(LABEL_ORDER)
        self.model, self.weights_source = build_model(
            config.backbone, outputs, config.pretrained, Path(config.weights) if config.weights else None
        )
        self.memory_format = memory_format(config.channels_last)
        self.model.to(self.device, memory_format=self.memory_format)  # type: ignore[call-overload]
        self.net: torch.nn.Module = self.model
        if self.world > 1:
            self.net = torch.nn.parallel.DistributedDataParallel(
                self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None
            )
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        self.amp = resolve_amp(config.amp, self.device)
        self.history: list[dict[str, Any]] = []
        self.best: float | None = None
        self.best_epoch = -1
        self.start_epoch = 0
        self.stale = 0

    # --- checkpoints -----------------------------------------------------------------------
    def _meta(self) -> dict[str, Any]:
        return {
            "config": self.config.to_json(),
            "labels": ["CVD19"] if self.config.baseline else list(LABEL_ORDER),
            "backbone": self.config.backbone,
            "image_size": self.config.image_size,
            "weights_source": self.weights_source,
            "precision": describe(self.device, self.amp, self.config.channels_last),
            "ctlabel": __version__,
        }

    def _save(self, name: str, epoch: int, full: bool) -> None:
        state: dict[str, Any] = {"state_dict": self.model.state_dict(), "epoch": epoch, **self._meta()}
        if full:
            state |= {
                "optimizer": self.optimizer.state_dict(),
                "history": self.history,
                "best": self.best,
                "best_epoch": self.best_epoch,
                "stale": self.stale,
                "generator": self.generator.get_state(),
                "torch_rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            }
        with atomic_write(self.out / name, "wb") as fh:
            torch.save(state, fh)

    def resume(self) -> None:
        path = self.out / "last.pt"
        if not path.exists():
            raise CtlabelError(f"{path}: nothing to resume (no last checkpoint)")
        state = torch.load(path, map_location=self.device, weights_only=False)
        if state["backbone"] != self.config.backbone or state["labels"] != self._meta()["labels"]:
            raise CtlabelError(
                f"{path}: was trained with {state['backbone']} and {len(state['labels'])} outputs; the settings differ"
            )
        before = state.get("config", {})
        for key in ("image_size", "baseline", "lesion_policy"):
            if key in before and before[key] != getattr(self.config, key):
                raise CtlabelError(
                    f"{path}: was trained with {key} {before[key]!r}, not {getattr(self.config, key)!r}; "
                    "resume with the same settings or start a new --out"
                )
        self.model.load_state_dict(state["state_dict"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.history, self.best, self.best_epoch = state["history"], state["best"], state["best_epoch"]
        self.stale = state["stale"]
        self.generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        if state["cuda_rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        self.start_epoch = state["epoch"] + 1

    # --- loops -----------------------------------------------------------------------------
    def _batch(self, split: Split, index: torch.Tensor, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
        x = normalize(split.pixels[index].to(self.device, non_blocking=True))
        if train and self.config.augment:
            x = augment(x, self.generator)
        return x.contiguous(memory_format=self.memory_format), split.targets[index].to(self.device)

    def _autocast(self):
        return autocast(self.device, self.amp)

    def train_epoch(self) -> dict[str, float]:
        split = self.data.splits["train"]
        self.net.train()
        n = len(split.names)
        # Every rank gets the same number of images (the order wrapped around, as DistributedSampler):
        # a rank with one batch more would wait forever for the others' gradients.
        padded = -(-n // self.world) * self.world
        order = torch.randperm(n, generator=self.generator).repeat(-(-padded // n))[:padded][self.rank :: self.world]
        data_time = compute_time = 0.0
        total, seen = 0.0, 0
        bounds = [*range(0, len(order), self.config.batch_size), len(order)]
        if len(bounds) > 2 and bounds[-1] - bounds[-2] == 1:
            del bounds[-2]  # a last batch of one image joins the one before: BatchNorm needs two
        for lo, hi in pairwise(bounds):
            t0 = time.perf_counter()
            x, y = self._batch(split, order[lo:hi], train=True)
            if self.device.type == "cuda":
                torch.cuda.synchronize()
            t1 = time.perf_counter()
            with self._autocast():
                logits = self.net(x)
            loss, _ = compute_loss(logits, y, self.config)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
            total += float(loss.detach()) * len(y)
            if self.device.type == "cuda":
                torch.cuda.synchronize()
            data_time += t1 - t0
            compute_time += time.perf_counter() - t1
            seen += len(y)
            if self.progress:
                self.progress(len(y))
        return {"train_loss": total / max(seen, 1), "data_s": data_time, "compute_s": compute_time, "images": seen}

    @torch.no_grad()
    def predict(self, split: Split) -> np.ndarray:
        self.model.eval()
        probs = []
        for start in range(0, len(split.names), self.config.batch_size * 2):
            index = torch.arange(start, min(start + self.config.batch_size * 2, len(split.names)))
            x, _ = self._batch(split, index, train=False)
            with self._autocast():
                probs.append(torch.sigmoid(self.model(x).float()).cpu())
        return torch.cat(probs).numpy() if probs else np.zeros((0, 1))

    def validate(self) -> dict[str, float]:
        split = self.data.splits["val"]
        probs = torch.from_numpy(self.predict(split)).clamp(1e-7, 1 - 1e-7)
        logits = torch.log(probs / (1 - probs))
        loss, covid_loss = compute_loss(logits, split.targets, self.config)
        m = binary_metrics((split.targets[:, 0] == 1).numpy().astype(int), probs[:, 0].numpy())
        return {
            "val_loss": float(loss),
            "val_covid_loss": float(covid_loss),
            "val_auc": m["auc"] or 0.0,
            "val_f1": m["f1"] or 0.0,
            "val_accuracy": m["accuracy"] or 0.0,
        }

    def _improved(self, value: float) -> bool:
        if self.best is None:
            return True
        return value < self.best if self.config.select in LOWER_IS_BETTER else value > self.best

    def fit(self) -> RunResult:
        self.out.mkdir(parents=True, exist_ok=True)
        for epoch in range(self.start_epoch, self.config.epochs):
            t0 = time.perf_counter()
            row = {"epoch": epoch + 1, **self.train_epoch()}
            row |= self.validate()
            row["epoch_s"] = time.perf_counter() - t0
            row["images_per_s"] = row["images"] / max(row["data_s"] + row["compute_s"], 1e-9)
            self.history.append(row)
            value = row[self.config.select]
            if self._improved(value):
                self.best, self.best_epoch, self.stale = value, epoch, 0
                if self.rank == 0:
                    self._save("best.pt", epoch, full=False)
            else:
                self.stale += 1
            if self.rank == 0:
                self._save("last.pt", epoch, full=True)
            self.log(
                f"epoch {epoch + 1}/{self.config.epochs}  train loss {row['train_loss']:.4f}  "
                f"val COVID loss {row['val_covid_loss']:.4f}  val AUC {row['val_auc']:.3f}  "
                f"{row['images_per_s']:.0f} img/s  data {100 * row['data_s'] / row['epoch_s']:.1f}% of the epoch"
            )
            if self.config.patience and self.stale >= self.config.patience:
                self.log(f"early stop: {self.config.select} has not improved for {self.stale} epochs")
                break
        return self.finish()

    def finish(self) -> RunResult:
        if self.rank != 0:
            return RunResult(self.out, self.best_epoch, {})
        best = torch.load(self.out / "best.pt", map_location=self.device, weights_only=False)
        self.model.load_state_dict(best["state_dict"])
        metrics: dict[str, Any] = {
            "best_epoch": self.best_epoch + 1,
            "select": self.config.select,
            "weights": self.weights_source,
            "labels": best["labels"],
        }
        curves = {}
        rows = []
        for name in ("val", "test"):
            split = self.data.splits.get(name)
            if split is None or not split.names:
                continue
            probs = self.predict(split)
            targets = split.targets.numpy()
            metrics[name] = evaluate_outputs(targets, probs, list(LABEL_ORDER[1:]), self.config.bootstrap)
            curves[name] = ((targets[:, 0] == 1).astype(int), probs[:, 0])
            for n, t, p in zip(split.names, targets, probs):
                rows.append([n, name, *t.astype(int).tolist(), *[f"{v:.6f}" for v in p]])
        with atomic_write(self.out / "metrics.json") as fh:
            json.dump(metrics, fh, indent=2)
        with atomic_write(self.out / "config.json") as fh:
            json.dump(self._meta(), fh, indent=2)
        labels = best["labels"]
        with atomic_write(self.out / "predictions.csv") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(["imgname", "split", *LABEL_ORDER, *[f"p_{c}" for c in labels]])
            writer.writerows(rows)
        with atomic_write(self.out / "history.csv") as fh:
            history = csv.DictWriter(fh, fieldnames=list(self.history[0]), lineterminator="\n")
            history.writeheader()
            history.writerows(self.history)
        plot_curves(curves, self.out)
        return RunResult(self.out, self.best_epoch, metrics, self.history, self.data.counts, self.data.dropped)


def train(config: TrainConfig, resume: bool = False, log: Callable[[str], None] = print, progress=None) -> RunResult:
    """Prepare the data, build the model, train; under torchrun every rank trains, rank 0 reports."""
    if int(os.environ.get("RANK", "0")):
        log, progress = (lambda line: None), None
    data = prepare(config)
    for name, counts in data.counts.items():
        log(f"{name}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    trainer = Trainer(config, data, log, progress)
    log(
        f"precision: {'bfloat16 autocast' if trainer.amp else 'float32'}, "
        f"{'channels_last' if config.channels_last else 'contiguous'} on {trainer.device.type}"
    )
    if resume:
        trainer.resume()
    try:
        return trainer.fit()
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
