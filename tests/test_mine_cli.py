"""`ctlabel mine captions` on real files of every format, and its handling of bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from ctlabel.cli.main import app

runner = CliRunner()
ROWS = [
    {
        "image": "p1-fig1%0.png",
        "doc": "paper1",
        "caption": "(A) Ground glass opacity. (B) Consolidation.",
        "report": "",
    },
    {
        "image": "p1-fig1%1.png",
        "doc": "paper1",
        "caption": "(A) Ground glass opacity. (B) Consolidation.",
        "report": "consolidation",
    },
    {"image": "p2-fig3.png", "doc": "paper2", "caption": "COVID-19 pneumonia without air bronchogram.", "report": ""},
]
ARGS = ["--id-col", "image", "--doc-col", "doc", "--text-col", "caption", "--text-col", "report"]


def write_csv(path: Path, rows: list[dict], delimiter: str = ",", encoding: str = "utf-8") -> Path:
    with path.open("w", newline="", encoding=encoding) as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)
    return path


def mine(*args: str):
    return runner.invoke(app, ["mine", "captions", *args])


def read_out(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_csv_round_trip_follows_the_schema(tmp_path):
    out = tmp_path / "mined.jsonl"
    result = mine(str(write_csv(tmp_path / "in.csv", ROWS)), "-o", str(out), *ARGS)
    assert result.exit_code == 0, result.output
    records = read_out(out)
    assert [r["id"] for r in records] == [r["image"] for r in ROWS]
    first, second, third = records
    assert first["panel"] == "A" and second["panel"] == "B"
    assert first["doc_id"] == "paper1"
    assert [t["source"] for t in first["texts"]] == ["caption", "report"]
    assert first["lesions"]["GGO"]["state"] == "positive" and first["lesions"]["Csld"]["state"] == "absent"
    assert second["lesions"]["Csld"]["state"] == "positive" and second["lesions"]["GGO"]["state"] == "absent"
    assert third["covid"]["state"] == "positive" and third["lesions"]["AirBr"]["state"] == "negative"
    assert set(third["provenance"]) == {"miner", "lexicon", "source"}
    assert 0 < third["confidence"] <= 1


@pytest.mark.parametrize("fmt", ["tsv", "xlsx", "jsonl"])
def test_other_formats_give_the_same_records(tmp_path, fmt):
    reference = tmp_path / "ref.jsonl"
    assert mine(str(write_csv(tmp_path / "in.csv", ROWS)), "-o", str(reference), *ARGS).exit_code == 0
    path = tmp_path / f"in.{fmt}"
    if fmt == "tsv":
        write_csv(path, ROWS, delimiter="\t")
    elif fmt == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    else:
        book = Workbook()
        book.active.append(list(ROWS[0]))
        for row in ROWS:
            book.active.append([row[k] or None for k in row])
        book.save(path)
    out = tmp_path / "out.jsonl"
    result = mine(str(path), "-o", str(out), *ARGS)
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == reference.read_bytes()


def test_same_input_gives_byte_identical_output_with_processes(tmp_path):
    rows = [dict(r, image=f"{k}-{r['image']}") for k in range(400) for r in ROWS]
    src = write_csv(tmp_path / "in.csv", rows)
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    assert mine(str(src), "-o", str(one), *ARGS).exit_code == 0
    assert mine(str(src), "-o", str(two), *ARGS, "--processes", "2").exit_code == 0
    assert one.read_bytes() == two.read_bytes()


def test_missing_column_names_the_existing_ones(tmp_path):
    out = tmp_path / "out.jsonl"
    result = mine(
        str(write_csv(tmp_path / "in.csv", ROWS)), "-o", str(out), "--id-col", "image", "--text-col", "legend"
    )
    assert result.exit_code == 2
    assert "no column 'legend'" in result.output and "'caption'" in result.output
    assert not out.exists()


def test_empty_file(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    result = mine(str(empty), "-o", str(tmp_path / "o.jsonl"), *ARGS)
    assert result.exit_code == 2 and "empty" in result.output


def test_malformed_row_is_skipped_and_reported(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text(
        'image,doc,caption,report\na.png,p,GGO,\nb.png,p,"consolidation",extra,cells\nc.png,p,crazy paving,\n'
    )
    out = tmp_path / "out.jsonl"
    result = mine(str(src), "-o", str(out), *ARGS)
    assert result.exit_code == 0
    assert "row 3" in result.output
    assert [r["id"] for r in read_out(out)] == ["a.png", "c.png"]
    assert mine(str(src), "-o", str(out), *ARGS, "--strict").exit_code == 1


def test_non_utf8_text_is_decoded_and_named(tmp_path):
    rows = [{"image": "a.png", "doc": "p", "caption": "Opacité en verre dépoli; consolidation", "report": ""}]
    out = tmp_path / "out.jsonl"
    result = mine(str(write_csv(tmp_path / "in.csv", rows, encoding="cp1252")), "-o", str(out), *ARGS)
    assert result.exit_code == 0 and "cp1252" in result.output
    assert read_out(out)[0]["texts"][0]["text"].startswith("Opacité")


def test_duplicate_ids_fail_without_partial_output(tmp_path):
    out = tmp_path / "out.jsonl"
    result = mine(str(write_csv(tmp_path / "in.csv", [*ROWS, ROWS[0]])), "-o", str(out), *ARGS)
    assert result.exit_code == 2 and "duplicate id 'p1-fig1%0.png'" in result.output
    assert not out.exists() and not list(tmp_path.glob(".out.jsonl*"))
    assert mine(str(tmp_path / "in.csv"), "-o", str(out), *ARGS, "--number-duplicates").exit_code == 0
    assert read_out(out)[-1]["id"] == "p1-fig1%0.png#2"


def test_empty_text_gives_absent_everywhere(tmp_path):
    rows = [{"image": "a.png", "doc": "p", "caption": "", "report": ""}]
    out = tmp_path / "out.jsonl"
    assert mine(str(write_csv(tmp_path / "in.csv", rows)), "-o", str(out), *ARGS).exit_code == 0
    record = read_out(out)[0]
    assert record["covid"]["state"] == "absent"
    assert {v["state"] for v in record["lesions"].values()} == {"absent"}


def test_json_summary_counts_states(tmp_path):
    result = mine(str(write_csv(tmp_path / "in.csv", ROWS)), "-o", str(tmp_path / "o.jsonl"), *ARGS, "--json")
    summary = json.loads(result.stdout)
    assert summary["records"] == 3 and summary["states"]["GGO"]["positive"] == 1


def test_version_and_help():
    assert runner.invoke(app, ["--version"]).stdout.startswith("ctlabel ")
    assert "mine" in runner.invoke(app, ["--help"]).stdout
