"""The demo learns: with the demo's own train settings, a network tells the generator's COVID-19 pattern
(ground-glass haze) from clear lungs on slices it never saw — fresh seeds, not the bundled sample."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from test_train import HEADER, runner

from ctlabel.cli.main import app
from ctlabel.io import read_toml
from ctlabel.testing.images import ct_like

pytestmark = pytest.mark.slow  # each test trains, pretrains or starts a cluster

ROOT = Path(__file__).resolve().parent.parent


def test_demo_settings_learn_the_ground_glass_pattern(tmp_path, monkeypatch):
    monkeypatch.setenv("CTLABEL_CACHE", str(tmp_path / "cache"))
    settings = read_toml(ROOT / "pipelines" / "demo.toml", "pipeline")["train"]
    images = tmp_path / "images"
    images.mkdir()
    rows, split = [], ["image,split"]
    for k in range(44):
        covid = k % 2 == 0
        name = f"slice{k:02d}.png"
        Image.fromarray(ct_like(7000 + 13 * k, ("ggo", "consolidation")[k % 4 // 2] if covid else None)).save(
            images / name
        )
        rows.append(f"{name},{'CVD19' if covid else ''},,,,,")
        split.append(f"{name},{'train' if k < 24 else ('val' if k < 32 else 'test')}")
    (tmp_path / "labels.csv").write_text(HEADER + "\n".join(rows) + "\n")
    (tmp_path / "split.csv").write_text("\n".join(split) + "\n")
    args = [
        "train",
        str(tmp_path / "labels.csv"),
        "--images",
        str(images),
        "--split-file",
        str(tmp_path / "split.csv"),
        "--out",
        str(tmp_path / "run"),
        "--backbone",
        settings["backbone"],
        "--epochs",
        str(settings["epochs"]),
        "--lr",
        str(settings["lr"]),
        "--image-size",
        str(settings["image_size"]),
        "--batch-size",
        str(settings["batch_size"]),
        "--scratch",
        "--json",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    covid = json.loads((tmp_path / "run" / "metrics.json").read_text())["test"]["covid"]
    assert covid["n"] == 12 and covid["positives"] == 6
    assert covid["auc"] >= 0.9, covid
