"""``ctlabel compare``: groups by head, initial weights and precision; paired differences over seeds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_train import runner

from ctlabel.cli.main import app
from ctlabel.errors import CtlabelError
from ctlabel.train.compare import paired


def _run(
    root: Path,
    name: str,
    seed: int,
    auc: float,
    baseline: bool = False,
    dtype: str = "bfloat16",
    weights: str = "scratch",
) -> Path:
    """A finished run folder as the trainer writes it (only the fields compare reads)."""
    run = root / name
    run.mkdir()
    covid = {"auc": auc, "accuracy": auc - 0.1, "f1": 0.5, "recall": 0.5, "precision": 0.5}
    (run / "metrics.json").write_text(json.dumps({"test": {"covid": covid}}))
    config = {
        "backbone": "resnet18",
        "weights_source": weights,
        "precision": {"dtype": dtype},
        "config": {"baseline": baseline, "seed": seed},
    }
    (run / "config.json").write_text(json.dumps(config))
    return run


def test_paired_difference_by_seed(tmp_path):
    runs = [
        _run(tmp_path, "l0", 0, 0.70),
        _run(tmp_path, "l1", 1, 0.74),
        _run(tmp_path, "l2", 2, 0.72),
        _run(tmp_path, "b0", 0, 0.66, baseline=True),
        _run(tmp_path, "b1", 1, 0.70, baseline=True),
        _run(tmp_path, "b2", 2, 0.69, baseline=True),
        _run(tmp_path, "f0", 0, 0.71, dtype="float32"),
        _run(tmp_path, "f1", 1, 0.735, dtype="float32"),
    ]
    pairs = {(p["setting"], p["metric"]): p for p in paired(runs)}
    head = pairs[("model", "auc")]
    assert (head["first"], head["second"], head["seeds"]) == ("baseline", "LA-DNN", [0, 1, 2])
    assert head["differences"] == pytest.approx([0.04, 0.04, 0.03])
    assert head["mean"] == pytest.approx(0.11 / 3) and head["sd"] == pytest.approx(0.005773503)
    half = 4.303 * 0.005773503 / 3**0.5  # t(0.975, 2 df)
    assert head["ci95"] == pytest.approx([0.11 / 3 - half, 0.11 / 3 + half]) and head["inside_noise"] is False
    precision = pairs[("dtype", "auc")]  # two seeds in both: bf16 vs fp32
    assert (precision["first"], precision["second"]) == ("float32", "bfloat16")
    assert precision["seeds"] == [0, 1] and precision["differences"] == pytest.approx([-0.01, 0.005])
    assert precision["inside_noise"] is True
    assert ("init", "auc") not in pairs  # one init only


def test_compare_prints_groups_and_the_paired_table(tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")  # wide tables, unwrapped
    runs = [
        _run(tmp_path, f"{h}{s}", s, 0.7 + s / 100, baseline=h == "b", weights=w)
        for h in ("l", "b")
        for s in (0, 1)
        for w in ("scratch",)
    ]
    runs += [_run(tmp_path, f"p{s}", s, 0.75 + s / 100, weights="/x/r18-simclr.pt") for s in (0, 1)]
    result = runner.invoke(app, ["compare", *map(str, runs)])
    assert result.exit_code == 0, result.output
    assert "r18-simclr.pt" in result.output and "scratch → r18-simclr.pt" in result.output
    assert "inside the noise" in result.output or "outside the noise" in result.output
    report = json.loads(runner.invoke(app, ["compare", *map(str, runs), "--json"]).stdout)
    assert {g["init"] for g in report["groups"]} == {"scratch", "r18-simclr.pt"} and report["paired"]


def test_two_runs_with_the_same_settings_and_seed_are_refused(tmp_path):
    runs = [_run(tmp_path, "a", 0, 0.7), _run(tmp_path, "b", 0, 0.8)]
    with pytest.raises(CtlabelError, match="the same settings and seed 0"):
        paired(runs)


def test_a_config_not_written_by_the_trainer_is_one_clear_error(tmp_path):
    run = _run(tmp_path, "a", 0, 0.7)
    (run / "config.json").write_text(json.dumps({"epochs": 3}))  # someone else's config.json
    result = runner.invoke(app, ["compare", str(run), str(_run(tmp_path, "b", 1, 0.8))])
    assert result.exit_code == 2 and "config.json: no 'backbone' setting" in result.output
