"""`ctlabel run`: the bundled demo end to end, skipping what is current, re-running after a lexicon change."""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ctlabel.cli.main import app
from ctlabel.export.formats import read_label_file
from ctlabel.lexicon import DEFAULT_LEXICON

runner = CliRunner()
ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> dict:
    result = runner.invoke(app, ["run", *args, "--json"])
    assert result.exit_code == 0, result.output
    return {s["stage"]: s for s in json.loads(result.stdout)["stages"]}


def statuses(stages: dict) -> dict[str, str]:
    return {name: s["status"] for name, s in stages.items()}


@pytest.mark.slow
def test_demo_end_to_end_then_skip_then_lexicon_change(tmp_path, monkeypatch):
    monkeypatch.setenv("CTLABEL_CACHE", str(tmp_path / "cache"))
    # the demo with its own copy of the lexicon, so the test can edit it
    lexicon = tmp_path / "lexicon.toml"
    shutil.copy(DEFAULT_LEXICON, lexicon)
    pipeline = tmp_path / "demo.toml"
    text = (ROOT / "pipelines" / "demo.toml").read_text()
    text = text.replace("[mine]\n", f"[mine]\nlexicon = {json.dumps(str(lexicon))}\n", 1).replace('"../', f'"{ROOT}/')
    pipeline.write_text(text)
    work = tmp_path / "work"

    first = run(str(pipeline), "--workdir", str(work))
    assert statuses(first) == {"mine": "ran", "review": "ran", "export": "ran", "train": "ran"}
    mined = [json.loads(line) for line in (work / "mined.jsonl").read_text().splitlines()]
    assert len(mined) == 12 + 18 and sum(r["id"].startswith("demo-preprint") for r in mined) == 18
    assert all((work / r["image"]).exists() for r in mined if r.get("image"))  # the PDF figures were cut out
    reviewed = {r["id"]: r for r in map(json.loads, (work / "reviewed.jsonl").read_text().splitlines())}
    assert len(reviewed) == 30
    corrected = reviewed["demo02-p2-1%1.png"]  # the reviewer confirmed the crazy-paving the miner hedged
    assert corrected["lesions"]["CrPa"]["state"] == "positive" and corrected["provenance"]["source"] == "human"
    assert reviewed["demo03-p8-3.png"]["lesions"]["GGO"]["state"] == "uncertain"  # a tie between two reviewers
    labels = read_label_file(work / "labels.csv")
    assert len(labels.rows) == 42 and labels.rows["demo02-p2-1%1.png"]["CrPa"] == "positive"
    split = {r["image"]: r["split"] for r in csv.DictReader((work / "splits" / "split.csv").open())}
    assert set(split.values()) == {"train", "val", "test"}
    metrics = json.loads((work / "run" / "metrics.json").read_text())
    assert (work / "run" / "best.pt").exists() and metrics["val"]["covid"]["n"] > 0

    second = run(str(pipeline), "--workdir", str(work))
    assert set(statuses(second).values()) == {"skipped"}

    figure = next((work / "figures").glob("*.png"))  # an image the model trains on changes: train again
    figure.write_bytes(figure.read_bytes())
    os.utime(figure, ns=(figure.stat().st_atime_ns, figure.stat().st_mtime_ns + 10**9))
    assert statuses(run(str(pipeline), "--workdir", str(work))) == {
        "mine": "skipped",
        "review": "skipped",
        "export": "skipped",
        "train": "ran",
    }

    lexicon.write_text(lexicon.read_text().replace('"ground glass",', '"ground glass", "milky glass",', 1))
    third = run(str(pipeline), "--workdir", str(work))
    assert statuses(third) == {"mine": "ran", "review": "ran", "export": "ran", "train": "ran"}

    only = run(str(pipeline), "--workdir", str(work), "--only", "export", "--force")
    assert statuses(only) == {
        "mine": "not selected",
        "review": "not selected",
        "export": "ran",
        "train": "not selected",
    }


def test_a_failing_stage_is_named_and_earlier_outputs_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("CTLABEL_CACHE", str(tmp_path / "cache"))
    pipeline = tmp_path / "p.toml"
    pipeline.write_text(
        f'[pipeline]\nworkdir = "{tmp_path / "w"}"\n'
        f'[mine]\ncaptions = {{ input = "{ROOT}/annotations/sample/captions.csv", id_col = "image", text_cols = ["caption"] }}\n'
        '[export]\noutput = "labels.csv"\nsplit_file = "missing-split.csv"\n'
    )
    result = runner.invoke(app, ["run", str(pipeline)])
    assert result.exit_code == 2 and "stage export failed" in result.output and "missing-split.csv" in result.output
    assert (tmp_path / "w" / "mined.jsonl").exists()
