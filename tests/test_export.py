"""`ctlabel export`, `validate` and `diff` on real files: formats, negatives, splits, errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from ctlabel.cli.main import app
from ctlabel.export.diff import diff_labels
from ctlabel.export.formats import read_label_file
from ctlabel.io import dump_record
from ctlabel.schema import LESIONS, empty_record

runner = CliRunner()


def record(rid: str, covid: str = "positive", patient: str | None = None, **lesions: str) -> dict:
    rec = empty_record(rid)
    rec["covid"]["state"] = covid
    rec["patient_id"] = patient
    for code, state in lesions.items():
        rec["lesions"][code]["state"] = state
    return rec


def write_records(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(dump_record(r) for r in records))
    return path


RECORDS = [
    record("a.png", GGO="positive", Csld="uncertain"),
    record("b.png", Csld="positive", AirBr="negative"),
    record("c.png", covid="uncertain", CrPa="positive"),
]


def cli(*args: str):
    return runner.invoke(app, list(args))


@pytest.mark.parametrize("fmt", ["ladnn", "binary", "chexpert"])
def test_formats_round_trip(tmp_path, fmt):
    out = tmp_path / f"{fmt}.csv"
    result = cli("export", str(write_records(tmp_path / "r.jsonl", RECORDS)), "-o", str(out), "--format", fmt)
    assert result.exit_code == 0, result.output
    back = read_label_file(out)
    assert back.format == fmt and back.order == ["a.png", "b.png", "c.png"]
    assert back.rows["a.png"]["GGO"] == "positive" and back.rows["b.png"]["Csld"] == "positive"
    if fmt == "chexpert":  # the only format that keeps negatives and uncertainty
        assert back.rows["a.png"]["Csld"] == "uncertain" and back.rows["b.png"]["AirBr"] == "negative"
        assert back.rows["c.png"]["CVD19"] == "uncertain"
    else:
        assert back.rows["a.png"]["Csld"] == "absent" and back.rows["c.png"]["CVD19"] == "absent"


def test_ladnn_cells_hold_codes(tmp_path):
    out = tmp_path / "labels.csv"
    cli("export", str(write_records(tmp_path / "r.jsonl", RECORDS)), "-o", str(out))
    lines = out.read_text().splitlines()
    assert lines[0] == "imgname,CVD19,GGO,Csld,CrPa,AirBr,InSepThi"
    assert lines[1] == "a.png,CVD19,GGO,,,,"


def test_uncertain_policy_and_covid_positive(tmp_path):
    out = tmp_path / "labels.csv"
    src = write_records(tmp_path / "r.jsonl", RECORDS)
    assert cli("export", str(src), "-o", str(out), "--uncertain", "positive").exit_code == 0
    rows = read_label_file(out).rows
    assert rows["a.png"]["Csld"] == "positive" and rows["c.png"]["CVD19"] == "positive"
    cli("export", str(src), "-o", str(out), "--covid", "positive")
    assert read_label_file(out).rows["c.png"]["CVD19"] == "positive"


def test_negatives_from_a_folder_and_a_csv(tmp_path):
    folder = tmp_path / "NonCOVID" / "sub"
    folder.mkdir(parents=True)
    for name in ("n1.png", "n2.jpg"):
        Image.new("L", (8, 8)).save(folder / name)
    listing = tmp_path / "images.csv"
    listing.write_text("image,class,patient_id\nn3.png,NonCOVID,p9\nz.png,COVID,p1\n")
    out = tmp_path / "labels.csv"
    result = cli(
        "export",
        str(write_records(tmp_path / "r.jsonl", RECORDS)),
        "-o",
        str(out),
        "--negatives",
        str(tmp_path / "NonCOVID"),
        "--negatives",
        str(listing),
        "--format",
        "binary",
    )
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert lines[-3:] == ["n1.png,0,0,0,0,0,0", "n2.jpg,0,0,0,0,0,0", "n3.png,0,0,0,0,0,0"]
    assert "z.png" not in out.read_text()  # a COVID row of the listing is not a negative


def test_duplicate_name_is_an_error_and_writes_nothing(tmp_path):
    out = tmp_path / "labels.csv"
    listing = tmp_path / "neg.csv"
    listing.write_text("imgname\na.png\n")
    result = cli(
        "export", str(write_records(tmp_path / "r.jsonl", RECORDS)), "-o", str(out), "--negatives", str(listing)
    )
    assert result.exit_code == 2 and "'a.png' appears twice" in result.output
    assert not out.exists()


def test_bad_record_line_is_skipped_and_reported(tmp_path):
    src = write_records(tmp_path / "r.jsonl", RECORDS)
    src.write_text(src.read_text() + "{not json\n")
    out = tmp_path / "labels.csv"
    result = cli("export", str(src), "-o", str(out))
    assert result.exit_code == 0 and "line 4" in result.output
    assert len(read_label_file(out).rows) == 3


def _synthetic(n_patients: int = 60) -> list[dict]:
    records = []
    for p in range(n_patients):
        for k in range(1 + p % 3):
            lesions = {"GGO": "positive"} if p % 2 else {}
            if p % 10 == 0:
                lesions["CrPa"] = "positive"
            records.append(record(f"p{p}-{k}.png", patient=f"P{p}", **lesions))
    return records


def test_splits_are_grouped_stratified_and_deterministic(tmp_path):
    src = write_records(tmp_path / "r.jsonl", _synthetic())
    runs = []
    for name in ("one", "two"):
        out = tmp_path / name / "labels.csv"
        result = cli("export", str(src), "-o", str(out), "--split", "60/15/25", "--seed", "7", "--json")
        assert result.exit_code == 0, result.output
        runs.append({p.name: p.read_bytes() for p in out.parent.iterdir()})
        summary = json.loads(result.stdout)
    assert runs[0] == runs[1]  # byte-identical for the same seed
    split = dict(csv.reader(open(tmp_path / "one" / "split.csv")))
    patients: dict[str, set[str]] = {}
    for name, s in split.items():
        if name != "image":
            patients.setdefault(name.split("-")[0], set()).add(s)
    assert all(len(s) == 1 for s in patients.values())  # no patient in two splits
    assert all(summary["splits"][s]["CrPa"] > 0 for s in ("train", "val", "test"))  # 6 CrPa patients spread
    sizes = [summary["splits"][s]["rows"] for s in ("train", "val", "test")]
    assert abs(sizes[0] / sum(sizes) - 0.6) < 0.08
    other = tmp_path / "other" / "labels.csv"
    cli("export", str(src), "-o", str(other), "--split", "60/15/25", "--seed", "8")
    assert (other.parent / "split.csv").read_bytes() != runs[0]["split.csv"]


def test_real_data_split_by_patient(covid_ct, miner, tmp_path):
    from ctlabel.mine.captions import mine_table
    from ctlabel.mine.table import Columns

    mined = tmp_path / "mined.jsonl"
    mine_table(covid_ct / "lesion-gold-dev.csv", mined, Columns("image", ("caption", "report"), "doc_id", "patient_id"))
    out = tmp_path / "labels.csv"
    result = cli(
        "export",
        str(mined),
        "-o",
        str(out),
        "--covid",
        "positive",
        "--negatives",
        str(covid_ct / "images.csv"),
        "--split",
        "60/15/25",
        "--seed",
        "0",
        "--json",
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["rows"] == 175 + 397
    split = {r["image"]: r["split"] for r in csv.DictReader(open(tmp_path / "split.csv"))}
    patient = {r["image"]: r["patient_id"] for r in csv.DictReader(open(covid_ct / "lesion-gold-dev.csv"))}
    seen: dict[str, str] = {}
    for image, p in patient.items():
        assert seen.setdefault(p, split[image]) == split[image], f"patient {p} spans two splits"
    for code in ("CVD19", "GGO", "Csld"):
        assert all(summary["splits"][s][code] > 0 for s in ("train", "val", "test"))


def test_split_file_is_reproduced_exactly(covid_ct, tmp_path):
    given = list(csv.DictReader(open(covid_ct / "ladnn-split.csv")))
    records = [record(r["image"], covid="positive" if r["covid"] == "1" else "negative") for r in given]
    src = write_records(tmp_path / "r.jsonl", records)
    out = tmp_path / "labels.csv"
    result = cli("export", str(src), "-o", str(out), "--split-file", str(covid_ct / "ladnn-split.csv"))
    assert result.exit_code == 0, result.output
    for split in ("train", "val", "test"):
        names = [row[0] for row in csv.reader(open(tmp_path / f"{split}.csv"))][1:]
        assert names == [r["image"] for r in given if r["split"] == split]
    assert [r["split"] for r in csv.DictReader(open(tmp_path / "split.csv"))] == [r["split"] for r in given]


def test_validate_finds_each_problem(tmp_path):
    (tmp_path / "imgs").mkdir()
    Image.new("RGB", (4, 4)).save(tmp_path / "imgs" / "a.png")
    labels = tmp_path / "labels.csv"
    labels.write_text(
        "imgname,CVD19,GGO,Csld,CrPa,AirBr,InSepThi\n"
        "a.png,CVD19,GGO,,,Aibr,\n"  # the reference trainer's misspelt code
        "b.png,,GGO,,,,\n"  # a lesion on a non-COVID row; image missing
        "a.png,CVD19,,,,,\n"  # duplicate
    )
    result = cli("validate", str(labels), "--images", str(tmp_path / "imgs"), "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    text = " ".join(report["errors"])
    assert "unknown code 'Aibr'" in text and "column AirBr" in text
    assert "duplicate image name 'a.png'" in text and "image 'b.png' not found" in text
    assert report["warnings"] == ["b.png: lesion GGO marked on a non-COVID row"]
    bad_header = tmp_path / "bad.csv"
    bad_header.write_text("image,covid\n")
    result = cli("validate", str(bad_header))
    assert result.exit_code == 2 and "expected imgname,CVD19" in result.output


def test_diff_of_two_real_exports(covid_ct, tmp_path):
    from ctlabel.lexicon import DEFAULT_LEXICON
    from ctlabel.mine.captions import mine_table
    from ctlabel.mine.table import Columns

    columns = Columns("image", ("caption", "report"), "doc_id", "patient_id")
    lexicon = tmp_path / "lexicon.toml"  # a curator promotes report text to primary
    lexicon.write_text(DEFAULT_LEXICON.read_text().replace('report = "supporting"', 'report = "primary"'))
    files = {}
    for name, lex in (("old", None), ("new", str(lexicon))):
        mine_table(covid_ct / "lesion-gold-dev.csv", tmp_path / f"{name}.jsonl", columns, lex)
        files[name] = tmp_path / f"{name}.csv"
        assert cli("export", str(tmp_path / f"{name}.jsonl"), "-o", str(files[name])).exit_code == 0
    result = diff_labels(files["old"], files["new"])
    old, new = read_label_file(files["old"]).rows, read_label_file(files["new"]).rows
    for code in LESIONS:
        expected = sorted(n for n in old if old[n][code] != new[n][code])
        flips = result["flips"][code]
        assert sorted(flips["gained"] + flips["lost"] + flips["changed"]) == expected
        assert result["counts"]["new"][code] - result["counts"]["old"][code] == len(flips["gained"]) - len(
            flips["lost"]
        )
    assert result["flips"]["GGO"]["gained"]  # report-only findings now count
    shown = cli("diff", str(files["old"]), str(files["new"]))
    assert shown.exit_code == 0 and "GGO gained" in shown.output
