"""Labels + split + images → in-memory tensors for train, val and test."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ctlabel.errors import CtlabelError
from ctlabel.export.splits import read_split_file
from ctlabel.io import cache_dir
from ctlabel.train.config import TrainConfig
from ctlabel.train.images import decode_all, find_images
from ctlabel.train.labels import LabelSet, read_labels


@dataclass
class Split:
    """One split's image names, (N, 6) targets and decoded (N, 3, S, S) uint8 images."""

    names: list[str]
    targets: torch.Tensor  # (N, 6): 1 positive, 0 not, -1 uncertain
    pixels: torch.Tensor  # (N, 3, S, S) uint8


@dataclass
class SplitData:
    """The decoded images and targets of each split, their label counts, and the images left out."""

    splits: dict[str, Split]
    counts: dict[str, dict[str, int]]
    dropped: list[str]


def _split_sets(config: TrainConfig) -> dict[str, LabelSet]:
    labels = read_labels(config.labels)
    if config.split_file:
        assignment = read_split_file(config.split_file)
        sets = {s: labels.subset([n for n in labels.names if assignment.get(n) == s]) for s in ("train", "val", "test")}
        if not sets["train"].names or not sets["val"].names:
            raise CtlabelError(f"{config.split_file}: no train or no val image of {config.labels} is in it")
        return sets
    if config.val:
        sets = {"train": labels, "val": read_labels(config.val)}
        if config.test:
            sets["test"] = read_labels(config.test)
        return sets
    raise CtlabelError("give --split-file CSV, or --val VAL.csv (and --test TEST.csv)")


def prepare(config: TrainConfig, progress=None) -> SplitData:
    """Find, check, decode and resize every image once (cached on disk)."""
    sets = _split_sets(config)
    roots = [Path(p) for p in config.images]
    dropped: list[str] = []
    splits: dict[str, Split] = {}
    for name, labelset in sets.items():
        found, missing = find_images(labelset.names, roots)
        names = [n for n in labelset.names if n in found]
        pixels, bad = decode_all(
            [found[n] for n in names],
            config.image_size,
            Path(config.cache_dir) if config.cache_dir else cache_dir("images"),
            progress,
        )
        problems = [f"{n}: not found below {', '.join(config.images)}" for n in missing] + [
            f"{names[i]}: not a readable image" for i in bad
        ]
        if problems and not config.skip_missing:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise CtlabelError(
                f"{config.labels if name == 'train' else name}: {problems[0]}{more}; fix or pass --skip-missing"
            )
        dropped += problems
        keep = [i for i in range(len(names)) if i not in set(bad)]
        kept = [names[i] for i in keep]
        subset = labelset.subset(kept)
        splits[name] = Split(kept, subset.targets, pixels[keep] if len(keep) != len(names) else pixels)
    counts = {
        name: LabelSet(Path(""), s.names, s.targets).counts() | {"images": len(s.names)} for name, s in splits.items()
    }
    if not splits["train"].names:
        raise CtlabelError("no training image left")
    return SplitData(splits, counts, dropped)
