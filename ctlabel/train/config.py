"""Training settings: defaults (the reference recipe), a recipe file, then command-line options."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ctlabel.errors import CtlabelError
from ctlabel.io import read_toml

LESION_POLICIES = ("mask", "zeros", "ones")
SELECT_METRICS = ("val_covid_loss", "val_loss", "val_auc", "val_f1", "val_accuracy")


@dataclass
class TrainConfig:
    """Every setting of a training run; ``config.json`` of the run records it."""

    labels: str = ""
    images: list[str] = field(default_factory=list)  # folders (or files) searched for the labels' images
    out: str = "runs/ladnn"
    split_file: str | None = None
    val: str | None = None
    test: str | None = None
    backbone: str = "densenet169"
    epochs: int = 15
    image_size: int = 224
    batch_size: int = 32
    lr: float = 5e-5
    weight_decay: float = 5e-4
    covid_weight: float = 5.0
    lesion_policy: str = "mask"
    baseline: bool = False
    pretrained: bool = False
    weights: str | None = None
    device: str = "auto"
    amp: bool | None = None  # None: bf16 autocast where the chip has fast bf16
    channels_last: bool = True
    seed: int = 0
    select: str = "val_covid_loss"
    patience: int = 0  # 0: no early stopping
    skip_missing: bool = False
    bootstrap: int = 1000
    cache_dir: str | None = None
    augment: bool = True
    recipe: str | None = None

    def check(self) -> None:
        if self.lesion_policy not in LESION_POLICIES:
            raise CtlabelError(f"--lesion-policy {self.lesion_policy!r}: choose {', '.join(LESION_POLICIES)}")
        if self.select not in SELECT_METRICS:
            raise CtlabelError(f"--select {self.select!r}: choose {', '.join(SELECT_METRICS)}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise CtlabelError(f"--device {self.device!r}: choose auto, cpu or cuda")
        if self.split_file and (self.val or self.test):
            raise CtlabelError("give --split-file or --val/--test, not both")
        for name in ("epochs", "image_size", "batch_size"):
            if getattr(self, name) < 1:
                raise CtlabelError(f"--{name.replace('_', '-')} must be at least 1")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def load_recipe(path: str | Path) -> dict[str, Any]:
    """The settings of a recipe TOML file (``description`` and ``paper`` left out); CtlabelError for an unknown one."""
    path = Path(path)
    data = read_toml(path, "recipe")
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(data) - known - {"description", "paper"})
    if unknown:
        raise CtlabelError(f"{path}: unknown setting(s) {', '.join(unknown)}")
    return {k: v for k, v in data.items() if k in known}


def make_config(options: dict[str, Any]) -> TrainConfig:
    """Defaults < recipe < the options given (None means not given)."""
    values: dict[str, Any] = {}
    if options.get("recipe"):
        values.update(load_recipe(options["recipe"]))
    values.update({k: v for k, v in options.items() if v is not None})
    if isinstance(values.get("images"), str):  # a recipe may name one folder
        values["images"] = [values["images"]]
    config = TrainConfig(**values)
    config.check()
    return config
