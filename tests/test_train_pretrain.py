"""``ctlabel pretrain`` (SimCLR) on a few generated CT-like images, its resume, and ``train --weights``."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import test_train
import torch
from PIL import Image
from test_train import BACKBONE, runner, train

from ctlabel.cli.main import app
from ctlabel.errors import CtlabelError
from ctlabel.testing.images import ct_like
from ctlabel.train.model import build_model
from ctlabel.train.pretrain import (
    PretrainConfig,
    Pretrainer,
    load_images,
    nt_xent,
    random_views,
)

pytestmark = pytest.mark.slow  # each test trains, pretrains or starts a cluster

dataset = test_train.dataset  # the labelled dozen of test_train, for fine-tuning


@pytest.fixture
def unlabeled(tmp_path, monkeypatch) -> Path:
    """32 CT-like slices in nested folders (no labels), and a text file that is not an image."""
    monkeypatch.setenv("CTLABEL_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "unlabeled"
    for k in range(32):
        sub = folder / ("a" if k % 2 else "b")
        sub.mkdir(parents=True, exist_ok=True)
        Image.fromarray(ct_like(300 + k, (None, "ggo", "consolidation")[k % 3])).save(sub / f"slice{k:02d}.png")
    (folder / "notes.txt").write_text("not an image")
    return folder


def pretrain_cli(images: Path, out: Path, *extra: str):
    return runner.invoke(
        app,
        [
            "pretrain",
            str(images),
            "--backbone",
            BACKBONE,
            "--image-size",
            "32",
            "--batch-size",
            "16",
            "--out",
            str(out),
            "--json",
            *extra,
        ],
    )


def _fixed_view_loss(trainer: Pretrainer, pixels: torch.Tensor) -> float:
    """The contrastive loss of all images on two views drawn from a fixed seed."""
    g = torch.Generator().manual_seed(123)
    with torch.no_grad():
        x = torch.cat([random_views(pixels, g), random_views(pixels, g)]).contiguous(memory_format=torch.channels_last)
        return float(nt_xent(trainer.model(x), trainer.config.temperature))


def test_pretrain_loss_falls(unlabeled, tmp_path):
    config = PretrainConfig(
        images=[str(unlabeled)],
        out=str(tmp_path / "w.pt"),
        backbone=BACKBONE,
        epochs=6,
        image_size=32,
        batch_size=16,
        lr=2e-3,
    )
    pixels, skipped = load_images(config)
    assert pixels.shape == (32, 3, 32, 32) and skipped == []  # notes.txt is not taken for an image
    trainer = Pretrainer(config, pixels, log=lambda line: None)
    before = _fixed_view_loss(trainer, pixels)
    history = trainer.fit(Path(config.out))
    assert history[-1]["loss"] < history[0]["loss"]
    assert _fixed_view_loss(trainer, pixels) < before - 0.1
    assert before == pytest.approx(math.log(2 * 32 - 1), abs=0.6)  # an untrained network is near chance


def test_pretrain_cli_resume_gives_the_same_weights(unlabeled, tmp_path):
    straight, resumed = tmp_path / "straight.pt", tmp_path / "resumed.pt"
    result = pretrain_cli(unlabeled, straight, "--epochs", "2")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["images"] == 32 and [h["epoch"] for h in report["history"]] == [1, 2]
    assert "bfloat16 autocast" in result.output or "float32" in result.output
    assert pretrain_cli(unlabeled, resumed, "--epochs", "1").exit_code == 0
    result = pretrain_cli(unlabeled, resumed, "--epochs", "2", "--resume")
    assert result.exit_code == 0, result.output
    a, b = torch.load(straight, weights_only=True), torch.load(resumed, weights_only=True)
    assert a["backbone"] == BACKBONE and a["pretrain"]["method"] == "simclr" and a["pretrain"]["epochs_done"] == 2
    assert a["pretrain"]["loss"] == b["pretrain"]["loss"]
    for key, value in a["state_dict"].items():
        assert torch.equal(value, b["state_dict"][key]), key


def test_weights_from_pretrain_fine_tune(unlabeled, tmp_path, dataset):
    weights = tmp_path / "w.pt"
    assert pretrain_cli(unlabeled, weights, "--epochs", "1").exit_code == 0
    saved = torch.load(weights, weights_only=True)["state_dict"]
    model, origin = build_model(BACKBONE, 6, weights=weights)
    assert origin == str(weights)
    for key, value in model.backbone.state_dict().items():
        assert torch.equal(value, saved[key]), key
    out = dataset["root"] / "fine"
    result = train(dataset, out, "--epochs", "1", "--weights", str(weights))
    assert result.exit_code == 0, result.output
    assert json.loads((out / "config.json").read_text())["weights_source"] == str(weights)
    assert json.loads((out / "metrics.json").read_text())["weights"] == str(weights)


def test_weights_of_another_backbone_are_one_line(unlabeled, tmp_path, dataset):
    weights = tmp_path / "w.pt"
    assert pretrain_cli(unlabeled, weights, "--epochs", "1").exit_code == 0
    result = train(
        dataset,
        dataset["root"] / "other",
        "--epochs",
        "1",
        "--weights",
        str(weights),
        "--backbone",
        "test_efficientnet",
    )
    assert result.exit_code == 2
    assert (
        "weights of a test_resnet backbone, not test_efficientnet" in result.output and "Traceback" not in result.output
    )
    assert not (dataset["root"] / "other" / "best.pt").exists()
    raw = tmp_path / "raw.pth"  # a bare state dict, no metadata: told apart by its keys and shapes
    torch.save(torch.load(weights, weights_only=True)["state_dict"], raw)
    with pytest.raises(CtlabelError, match="does not fit the test_efficientnet backbone"):
        build_model("test_efficientnet", 6, weights=raw)
    (tmp_path / "junk.pt").write_bytes(b"not torch")
    with pytest.raises(CtlabelError, match=r"junk\.pt: not a weights file"):
        build_model(BACKBONE, 6, weights=tmp_path / "junk.pt")


@pytest.mark.parametrize(
    ("make", "args", "message"),
    [
        (lambda root: root / "empty", [], "no image file in"),
        (lambda root: root / "missing", [], "no such image or folder"),
        (lambda root: root / "imgs", ["--batch-size", "1"], "--batch-size must be at least 2"),
        (lambda root: root / "imgs", ["--resume"], "nothing to resume"),
        (lambda root: root / "imgs", ["--backbone", "no_such_net"], "unknown backbone 'no_such_net'"),
    ],
)
def test_pretrain_bad_input_is_one_line(tmp_path, monkeypatch, make, args, message):
    monkeypatch.setenv("CTLABEL_CACHE", str(tmp_path / "cache"))
    (tmp_path / "empty").mkdir()
    (tmp_path / "imgs").mkdir()
    for k in range(3):
        Image.fromarray(ct_like(k)).save(tmp_path / "imgs" / f"{k}.png")
    result = runner.invoke(
        app,
        [
            "pretrain",
            str(make(tmp_path)),
            "--out",
            str(tmp_path / "w.pt"),
            "--epochs",
            "1",
            "--image-size",
            "32",
            "--backbone",
            BACKBONE,
            *args,
        ],
    )
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "w.pt").exists()


def test_unreadable_images_are_skipped_and_named(tmp_path, monkeypatch):
    monkeypatch.setenv("CTLABEL_CACHE", str(tmp_path / "cache"))
    for k in range(4):
        Image.fromarray(ct_like(k)).save(tmp_path / f"{k}.png")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG broken")
    config = PretrainConfig(images=[str(tmp_path)], out=str(tmp_path / "w.pt"), backbone=BACKBONE, image_size=32)
    pixels, skipped = load_images(config)
    assert len(pixels) == 4 and len(skipped) == 1 and "broken.png: not a readable image" in skipped[0]
