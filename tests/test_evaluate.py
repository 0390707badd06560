"""`ctlabel evaluate`: metrics against a hand-computed case, both gold formats, and the dev-gold floor."""

import json

import pytest
from typer.testing import CliRunner

from ctlabel.cli.main import app
from ctlabel.io import dump_record
from ctlabel.mine.evaluate import evaluate
from ctlabel.schema import LESIONS, empty_record

runner = CliRunner()


def write_mined(path, predictions):
    with path.open("w") as fh:
        for record_id, positives in predictions.items():
            record = empty_record(record_id)
            for code in positives:
                record["lesions"][code]["state"] = "positive"
            fh.write(dump_record(record))


def test_metrics_match_a_hand_computed_case(tmp_path):
    gold = tmp_path / "gold.csv"
    gold.write_text(
        "image,covid,GGO,Csld,CrPa,AirBr,InSepThi\n"
        "a.png,1,1,0,0,0,0\nb.png,1,1,1,0,0,0\nc.png,1,0,1,0,0,0\nd.png,1,0,0,0,0,0\n"
    )
    mined = tmp_path / "mined.jsonl"
    write_mined(mined, {"a.png": ["GGO"], "b.png": ["GGO"], "c.png": ["GGO", "Csld"], "d.png": []})
    result = evaluate(gold, mined, bootstrap=0)
    # GGO: tp 2, fp 1, fn 0 -> P 2/3, R 1, F1 0.8. Csld: tp 1, fn 1 -> P 1, R 0.5, F1 2/3.
    assert result["labels"]["GGO"]["f1"] == pytest.approx(0.8)
    assert result["labels"]["Csld"]["f1"] == pytest.approx(2 / 3)
    # micro: tp 3, fp 1, fn 1 -> F1 0.75; exact match: a and d -> 0.5
    assert result["micro_f1"] == pytest.approx(0.75)
    assert result["exact_match"] == pytest.approx(0.5)
    assert result["covid_accuracy"] is None  # the gold has one class only
    lesion_errors = [(e["id"], e["label"], e["kind"]) for e in result["errors"] if e["label"] != "covid"]
    assert lesion_errors == [("b.png", "Csld", "false negative"), ("c.png", "GGO", "false positive")]


def test_ladnn_label_file_is_a_gold_format(tmp_path):
    gold = tmp_path / "labels.csv"
    gold.write_text("imgname,CVD19,GGO,Csld,CrPa,AirBr,InSepThi\na.png,CVD19,GGO,,,,\nn.png,,,,,,\n")
    mined = tmp_path / "mined.jsonl"
    write_mined(mined, {"a.png": ["GGO"], "n.png": []})
    result = evaluate(gold, mined, bootstrap=50)
    assert result["micro_f1"] == 1.0 and result["exact_match"] == 1.0
    assert result["covid_accuracy"] == 0.5  # the miner found no COVID mention in either


def test_unknown_gold_code_is_named(tmp_path):
    gold = tmp_path / "labels.csv"
    gold.write_text("imgname,CVD19,GGO,Csld,CrPa,AirBr,InSepThi\na.png,CVD19,GGO,,,Aibr,\n")
    mined = tmp_path / "mined.jsonl"
    write_mined(mined, {"a.png": []})
    result = runner.invoke(app, ["evaluate", str(gold), str(mined)])
    assert result.exit_code == 2 and "'Aibr'" in result.output


def test_dev_gold_floor(covid_ct, tmp_path):
    """The miner on the real dev gold must not fall below the floor measured at release."""
    out = tmp_path / "mined.jsonl"
    args = [
        "mine",
        "captions",
        str(covid_ct / "lesion-gold-dev.csv"),
        "-o",
        str(out),
        "--id-col",
        "image",
        "--doc-col",
        "doc_id",
        "--patient-col",
        "patient_id",
        "--text-col",
        "caption",
        "--text-col",
        "report",
    ]
    assert runner.invoke(app, args).exit_code == 0
    result = json.loads(
        runner.invoke(app, ["evaluate", str(covid_ct / "lesion-gold-dev.csv"), str(out), "--json"]).stdout
    )
    assert result["records"] == 175
    assert result["micro_f1"] >= 0.94
    assert result["exact_match"] >= 0.90
    assert all(result["labels"][c]["f1"] >= 0.70 for c in LESIONS)
