"""bf16 autocast and channels_last on CPU: what runs, what config.json records, --no-amp, inference, bench."""

from __future__ import annotations

import json

import pytest
import test_train
import torch
from test_train import BACKBONE, runner, train

from ctlabel.cli.main import app
from ctlabel.train import precision
from ctlabel.train.config import make_config
from ctlabel.train.data import prepare
from ctlabel.train.trainer import Trainer

pytestmark = pytest.mark.slow  # each test trains, pretrains or starts a cluster

dataset = test_train.dataset  # the same dozen generated images


def _first_conv_io(dataset, amp: bool | None) -> tuple[Trainer, list[torch.Tensor]]:
    """Train one epoch in process; return the trainer and the first convolution's outputs."""
    config = make_config(
        {
            "labels": str(dataset["labels"]),
            "images": [str(dataset["images"])],
            "split_file": str(dataset["split"]),
            "out": str(dataset["root"] / "run"),
            "backbone": BACKBONE,
            "image_size": 32,
            "batch_size": 4,
            "epochs": 1,
            "amp": amp,
            "bootstrap": 0,
        }
    )
    trainer = Trainer(config, prepare(config), log=lambda line: None)
    seen: list[torch.Tensor] = []
    conv = next(m for m in trainer.model.modules() if isinstance(m, torch.nn.Conv2d))
    conv.register_forward_hook(lambda module, args, out: seen.append(out.detach()))
    trainer.fit()
    return trainer, seen


def test_bf16_channels_last_runs_on_cpu_and_is_recorded(dataset):
    trainer, seen = _first_conv_io(dataset, amp=True)
    assert trainer.device.type == "cpu" and seen
    assert all(out.dtype == torch.bfloat16 for out in seen)
    assert all(out.is_contiguous(memory_format=torch.channels_last) and not out.is_contiguous() for out in seen)
    ran = json.loads((dataset["root"] / "run" / "config.json").read_text())["precision"]
    assert ran["dtype"] == "bfloat16" and ran["amp"] is True and ran["channels_last"] is True and ran["device"] == "cpu"
    metrics = json.loads((dataset["root"] / "run" / "metrics.json").read_text())
    assert 0 <= metrics["test"]["covid"]["accuracy"] <= 1  # evaluation ran under the same autocast


def test_no_amp_gives_float32(dataset):
    out = dataset["root"] / "fp32"
    result = train(dataset, out, "--epochs", "1", "--no-amp")
    assert result.exit_code == 0, result.output
    assert "precision: float32, channels_last on cpu" in result.output
    ran = json.loads((out / "config.json").read_text())["precision"]
    assert ran["dtype"] == "float32" and ran["amp"] is False
    _, seen = _first_conv_io(dataset, amp=False)
    assert all(o.dtype == torch.float32 for o in seen)


def test_default_follows_the_cpu(dataset, monkeypatch):
    """Default: bf16 where the CPU reports AMX/AVX-512 BF16; float32 on a CPU without them."""
    trainer, seen = _first_conv_io(dataset, amp=None)
    fast = bool(precision.cpu_bf16_units())
    assert trainer.amp is fast and {o.dtype for o in seen} == {torch.bfloat16 if fast else torch.float32}
    monkeypatch.setattr(precision, "cpu_bf16_units", list)  # a CPU without bf16 units cannot be made here
    assert precision.resolve_amp(None, torch.device("cpu")) is False
    assert precision.resolve_amp(True, torch.device("cpu")) is True
    monkeypatch.setattr(precision, "cpu_bf16_units", lambda: ["avx512_bf16"])
    assert precision.resolve_amp(None, torch.device("cpu")) is True
    assert precision.resolve_amp(False, torch.device("cpu")) is False


def test_predict_in_bf16_agrees_with_float32(dataset):
    out = dataset["root"] / "run"
    assert train(dataset, out, "--epochs", "1").exit_code == 0
    images = sorted((dataset["images"] / "nested").glob("*.png"))[:4]
    runs = {}
    for flag in ("--amp", "--no-amp"):
        result = runner.invoke(app, ["predict", str(out), *map(str, images), flag, "--json"])
        assert result.exit_code == 0, result.output
        runs[flag] = [p["covid"] for p in json.loads(result.stdout)]
    assert runs["--amp"] == pytest.approx(runs["--no-amp"], abs=0.05)
    assert runs["--amp"] != runs["--no-amp"]  # bf16 really ran: not bit-identical to float32


def test_bench_train_reports_the_reference_loop(tmp_path, monkeypatch):
    monkeypatch.setenv("CTLABEL_CACHE", str(tmp_path / "cache"))
    result = runner.invoke(
        app,
        [
            "bench",
            "train",
            "--backbone",
            BACKBONE,
            "--image-size",
            "32",
            "--images",
            "24",
            "--epochs",
            "1",
            "--batch-size",
            "8",
            "--amp",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["precision"]["dtype"] == "bfloat16" and report["train_images"] == 21
    assert report["reference"]["images"] == 21 and report["speedup"] > 0 and report["speedup_cpu_time"] > 0
    assert report["epochs"][0]["cpu_s"] > 0 and report["threads"] >= 1
    assert [e["epoch"] for e in report["epochs"]] == [1]
