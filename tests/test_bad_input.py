"""Bad input, the way people give it: each mistake is one line and exit 2 (or a clean skip that is
named), and no file that existed before is lost or half-written. The table of what was tried is
docs/bad-input.md."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from typer.testing import CliRunner

from ctlabel.cli.main import app
from ctlabel.errors import CtlabelError
from ctlabel.export.formats import read_label_file
from ctlabel.export.splits import read_split_file
from ctlabel.io import read_records, read_table, read_toml
from ctlabel.lexicon import load_lexicon
from ctlabel.pipeline.runner import plan
from ctlabel.pipeline.spec import load_pipeline

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "annotations" / "sample" / "captions.csv"
runner = CliRunner()


def fails(args: list[str], *needles: str, code: int = 2) -> str:
    """Run ctlabel; it must exit ``code`` with exactly one error line holding every needle."""
    result = runner.invoke(app, [str(a) for a in args])
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == code, result.output
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def ok(args: list[str]):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


def mine_args(table: Path, out: Path) -> list[str]:
    """``ctlabel mine captions`` of a table with an image and a caption column."""
    return ["mine", "captions", str(table), "-o", str(out), "--id-col", "image", "--text-col", "caption"]


def mine(table: Path, out: Path, *extra: str):
    return runner.invoke(app, [*mine_args(table, out), "--json", *extra])


def write_rows(path: Path, rows: list[str], header: str = "image,caption") -> Path:
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def mined(tmp_path) -> Path:
    """20 mined records with patients (through the real miner)."""
    table = write_rows(
        tmp_path / "c.csv",
        [f"s{i}.png,patchy ground glass and consolidation,p{i}" for i in range(20)],
        "image,caption,patient_id",
    )
    out = tmp_path / "mined.jsonl"
    assert mine(table, out, "--patient-col", "patient_id").exit_code == 0
    return out


# --- 1. an output that is an input -------------------------------------------------------------------


def test_an_output_that_is_an_input_is_refused_and_the_input_kept(tmp_path, mined):
    table = write_rows(tmp_path / "t.csv", ["a.png,no consolidation"])
    before = table.read_bytes()
    (tmp_path / "sub").mkdir()
    (tmp_path / "alias.csv").symlink_to(table)
    for output in (table, tmp_path / "alias.csv", tmp_path / "sub" / ".." / "t.csv"):
        fails(
            mine_args(table, output),
            "the output is the input",
        )
        assert table.read_bytes() == before
    records = mined.read_bytes()
    fails(["export", mined, "-o", mined], "the output is the input")
    assert mined.read_bytes() == records


def test_mine_pdf_refuses_to_write_over_the_pdf(tmp_path):
    from ctlabel.testing.papers import make_paper

    pdf = tmp_path / "paper.pdf"
    make_paper(pdf, seed=3)
    before = pdf.read_bytes()
    fails(["mine", "pdf", pdf, "-o", pdf, "--figures-dir", tmp_path / "f"], "the output is the input")
    assert pdf.read_bytes() == before


# --- 2. a stray quote ----------------------------------------------------------------------------------


def test_a_stray_quote_loses_only_its_row(tmp_path):
    rows = [f"r{i}.jpg,consolidation in the left lower lobe {i}" for i in range(1000)]
    rows[40] = 'r40.jpg,"Bilateral crazy paving'  # opens a quote that nothing closes properly
    rows[700] = 'r700.jpg,the so-called "white lung" pattern'
    out = tmp_path / "out.jsonl"
    result = mine(write_rows(tmp_path / "notes.csv", rows), out)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["records"] == 999
    assert len(summary["skipped"]) == 1 and summary["skipped"][0].startswith("row 42: unmatched quote")
    ids = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    assert "r40.jpg" not in ids and {"r41.jpg", "r700.jpg", "r999.jpg"} <= set(ids)
    strict = mine(tmp_path / "notes.csv", tmp_path / "strict.jsonl", "--strict")
    assert strict.exit_code == 1  # --strict fails on the lost row


def test_a_quoted_file_with_one_broken_row_keeps_the_others(tmp_path):
    path = tmp_path / "q.tsv"
    lines = ['"image"\t"caption"'] + [f'"t{i}.png"\t"GGO, grade {i}"' for i in range(6)]
    lines[3] = '"t2.png"\t"GGO, grade 2'  # its closing quote is missing
    path.write_text("\n".join(lines) + "\n")
    table = read_table(path)
    got = [row["image"] for _, row in table.rows]
    assert got == ["t0.png", "t1.png", "t3.png", "t4.png", "t5.png"]
    (problem,) = table.skipped
    assert problem.startswith("row 4: unmatched quote") and problem.endswith("line 5 read again")


def test_a_quoted_caption_over_two_lines_stays_one_caption(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text('image,caption\nx.png,"Figure 2.\nCT, axial: consolidation, right"\ny.png,GGO\n')
    table = read_table(path)
    assert [r["caption"] for _, r in table.rows] == ["Figure 2.\nCT, axial: consolidation, right", "GGO"]
    assert table.skipped == []


# --- 3. a failed export keeps the previous files -----------------------------------------------------


def test_a_failed_export_keeps_the_labels_and_splits_it_wrote_before(tmp_path, mined):
    labels = tmp_path / "release" / "labels.csv"
    ok(["export", mined, "-o", labels, "--split", "70/15/15"])
    before = {p.name: p.read_bytes() for p in labels.parent.iterdir()}
    assert set(before) == {"labels.csv", "train.csv", "val.csv", "test.csv", "split.csv"}
    bad_split = tmp_path / "bad-split.csv"
    bad_split.write_text("image,split\ns1.png,train\ns2.png,holdout\n")
    fails(["export", mined, "-o", labels, "--split=7/1"], "--split")
    fails(["export", mined, "-o", labels, "--split-file", bad_split], "row 3", "unknown split 'holdout'")
    fails(["export", mined, "-o", labels, "--split-file", tmp_path / "absent.csv"], "absent.csv")
    fails(["export", mined, "-o", labels, "--negatives", tmp_path / "no-such-folder"], "no-such-folder")
    assert {p.name: p.read_bytes() for p in labels.parent.iterdir()} == before  # and no temporary file left


# --- 4. same-named papers ---------------------------------------------------------------------------


def test_papers_with_one_file_name_keep_apart(tmp_path):
    from ctlabel.testing.papers import make_paper

    for folder, seed in (("2020", 1), ("2021", 2)):
        (tmp_path / folder).mkdir()
        make_paper(tmp_path / folder / "preprint.pdf", seed=seed)
    out, figures = tmp_path / "m.jsonl", tmp_path / "figures"
    ok(["mine", "pdf", tmp_path / "2020", tmp_path / "2021", "-o", out, "--figures-dir", figures])
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["doc_id"] for r in records} == {"2020-preprint", "2021-preprint"}
    assert len({r["id"] for r in records}) == len(records) == len(list(figures.glob("*.png")))
    # another paper of that name, later, into the same folder: refused, the first paper's figures intact
    (tmp_path / "other").mkdir()
    make_paper(tmp_path / "other" / "2020-preprint.pdf", seed=9)
    kept = {p.name: p.read_bytes() for p in figures.glob("*.png")}
    fails(
        ["mine", "pdf", tmp_path / "other", "-o", tmp_path / "o.jsonl", "--figures-dir", figures],
        "no PDF could be read",
        "exists",
        "2020/preprint.pdf",
    )
    assert {p.name: p.read_bytes() for p in figures.glob("*.png")} == kept


# --- 5. a caption too long for the miner ---------------------------------------------------------------


def test_a_huge_caption_is_skipped_with_its_row_and_the_rest_mined(tmp_path):
    rows = ["a.png,ground glass opacity", "b.png," + "opacity " * 130_000, "c.png,no consolidation"]
    out = tmp_path / "o.jsonl"
    result = mine(write_rows(tmp_path / "big.csv", rows), out)
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == ["a.png", "c.png"]
    assert json.loads(result.stdout)["skipped"] == [
        "row 3: column 'caption' holds 1,040,000 characters, more than the 900,000 the miner takes per text"
    ]


# --- 6. the image cache --------------------------------------------------------------------------------


def test_a_broken_image_cache_entry_is_decoded_again(tmp_path, capsys):
    from PIL import Image

    from ctlabel.train.images import decode_all

    paths = []
    for i in range(4):
        paths.append(tmp_path / f"{i}.png")
        Image.new("L", (20, 16), 40 * i).save(paths[-1])
    cache = tmp_path / "cache"
    pixels, bad = decode_all(paths, 12, cache)
    (entry,) = cache.iterdir()  # one entry, no temporary file beside it
    entry.write_bytes(entry.read_bytes()[: entry.stat().st_size // 3])  # as a killed write would leave it
    again, bad_again = decode_all(paths, 12, cache)
    assert (again == pixels).all() and bad_again == bad == []
    assert "unreadable image cache" in capsys.readouterr().err
    assert decode_all(paths, 12, cache)[0].equal(pixels)  # rewritten whole


# --- 7. an interrupted mine pdf -----------------------------------------------------------------------


def test_an_interrupted_mine_pdf_leaves_whole_papers_and_resumes(tmp_path):
    from ctlabel.pdf.batch import mine_pdfs
    from ctlabel.testing.papers import make_paper

    (tmp_path / "in").mkdir()
    for k in range(3):
        make_paper(tmp_path / "in" / f"p{k}.pdf", seed=20 + k)
    out, figures = tmp_path / "m.jsonl", tmp_path / "figures"
    seen = []

    def stop_after_one(n: int) -> None:
        seen.append(n)
        if len(seen) == 3:  # the third paper is extracted, not yet moved into place
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        mine_pdfs([tmp_path / "in"], out, figures, progress=stop_after_one)
    assert not out.exists()
    notes = sorted((figures / ".ctlabel-pdf").glob("*.json"))
    assert [n.stem for n in notes] == ["p0", "p1"]  # two papers finished and noted
    for note in map(json.loads, (n.read_text() for n in notes)):
        assert note["key"] and all((figures / name).exists() for name in note["images"])
    summary = mine_pdfs([tmp_path / "in"], out, figures)
    assert summary.resumed == 2 and summary.pdfs == 3
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["doc_id"] for r in records} == {"p0", "p1", "p2"}
    assert sorted(p.name for p in figures.glob("*.png")) == sorted(Path(r["image"]).name for r in records)
    assert not list((figures / ".ctlabel-pdf").glob("staging-*"))


# --- tracebacks that are now one line ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "line", "needles"),
    [
        ("train", 'epochz = 2\nimages = "i"', ["[train]", "'epochz'", "did you mean 'epochs'", "allowed:"]),
        ("export", 'spilt = "60/20/20"', ["[export]", "did you mean 'split'"]),
        ("mine", 'captions = { input = "c.csv" }\nfigure_dir = "f"', ["[mine]", "did you mean 'figures_dir'"]),
        ("pipeline", 'workdri = "w"', ["[pipeline]", "did you mean 'workdir'"]),
        ("train", 'epochs = "one"\nimages = "i"', ["[train] epochs = 'one' should be a whole number"]),
        (
            "mine",
            'captions = { input = "c.csv", text_col = ["caption"] }',
            ["[mine.captions]", "did you mean 'text_cols'"],
        ),
    ],
)
def test_a_pipeline_mistake_is_named_before_any_stage_runs(tmp_path, table, line, needles):
    pipeline = tmp_path / "p.toml"
    stages = {
        "mine": f'[mine]\ncaptions = {{ input = "{SAMPLE}", id_col = "image" }}\n',
        "export": '[export]\noutput = "labels.csv"\n',
    }
    text = f'[pipeline]\nworkdir = "{tmp_path / "work"}"\n' if table != "pipeline" else ""
    for name, body in stages.items():
        text += f"[{name}]\n{line}\n" if name == table else body
    if table not in stages:
        text = f"[{table}]\n{line}\n" + text
    pipeline.write_text(text)
    fails(["run", pipeline], str(pipeline), *needles)
    assert not (tmp_path / "work").exists()  # no stage ran


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (lambda r: r["lesions"].pop("Csld"), "no 'lesions.Csld' state"),
        (lambda r: r.pop("lesions"), "no 'lesions' table"),
        (lambda r: r["lesions"].update(Aibr=r["lesions"].pop("AirBr")), "unknown lesion code 'Aibr'"),
        (lambda r: r["covid"].update(state="maybe"), "'covid' has unknown state 'maybe'"),
    ],
)
def test_export_refuses_a_malformed_record_by_id(tmp_path, mined, change, needle):
    records = [json.loads(line) for line in mined.read_text().splitlines()]
    change(records[7])
    broken = tmp_path / "broken.jsonl"
    broken.write_text("".join(json.dumps(r) + "\n" for r in records))
    fails(["export", broken, "-o", tmp_path / "l.csv"], f"record {records[7]['id']!r}", needle)
    assert not (tmp_path / "l.csv").exists()


def test_an_output_that_is_a_folder_is_refused_before_the_work(tmp_path, mined):
    folder = tmp_path / "out"
    folder.mkdir()
    fails(mine_args(SAMPLE, folder), "is a folder")
    fails(["export", mined, "-o", folder], "is a folder")
    fails(
        ["review", "pull", "--from-export", ROOT / "annotations/sample/review-export.json", "-o", folder], "is a folder"
    )
    assert list(folder.iterdir()) == []


def test_an_output_that_cannot_be_written_is_one_line(tmp_path, mined):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    fails(["export", mined, "-o", blocker / "labels.csv"], "labels.csv: cannot be written")
    fails(
        mine_args(SAMPLE, blocker / "m.jsonl"),
        "m.jsonl: cannot be written",
    )
    assert blocker.read_text() == "not a folder"


@pytest.mark.parametrize("url", ["not a url", "localhost:8080", "http://", "http://host:port/"])
def test_a_bad_label_studio_url_is_one_line(tmp_path, mined, url):
    fails(["review", "push", mined, "--project", "p", "--url", url], repr(url), "http(s)")


def test_bad_numbers_are_one_line(tmp_path, mined):
    fails(["train", tmp_path / "l.csv", "--images", tmp_path, "--out", tmp_path / "r", "--lr", "-1"], "--lr -1")
    fails(["train", tmp_path / "l.csv", "--images", tmp_path, "--out", tmp_path / "r", "--lr", "0"], "--lr 0")
    fails(
        [
            "mine",
            "pdf",
            ROOT / "annotations/sample/pdfs",
            "-o",
            tmp_path / "o.jsonl",
            "--figures-dir",
            tmp_path / "f",
            "--timeout",
            "-1",
        ],
        "--timeout -1",
    )


def test_usage_errors_are_one_line(tmp_path):
    fails(["mine", "captions", SAMPLE, "--bogus"], "No such option: --bogus", "mine captions --help'")
    fails(["mine", "captions"], "Missing argument", "mine captions --help'")
    fails(["nosuch"], "No such command", "--help'")
    fails(["export", tmp_path / "m.jsonl", "-o", tmp_path / "l.csv", "--format", "csv"], "--format is one of")
    assert runner.invoke(app, ["mine"]).exit_code == 0  # no arguments: the help, not an error


def test_resume_with_other_settings_is_refused(tmp_path, monkeypatch):
    from PIL import Image

    monkeypatch.setenv("CTLABEL_CACHE", str(tmp_path / "cache"))
    (tmp_path / "img").mkdir()
    rows, split = [], ["image,split"]
    for i in range(8):
        Image.new("L", (24, 24), 30 * i).save(tmp_path / "img" / f"i{i}.png")
        rows.append(f"i{i}.png,{'CVD19' if i % 2 else ''},,,,,")
        split.append(f"i{i}.png,{('train', 'train', 'train', 'train', 'val', 'val', 'test', 'test')[i]}")
    (tmp_path / "l.csv").write_text("imgname,CVD19,GGO,Csld,CrPa,AirBr,InSepThi\n" + "\n".join(rows) + "\n")
    (tmp_path / "s.csv").write_text("\n".join(split) + "\n")
    base = [
        "train",
        tmp_path / "l.csv",
        "--images",
        tmp_path / "img",
        "--split-file",
        tmp_path / "s.csv",
        "--backbone",
        "test_resnet",
        "--batch-size",
        "4",
        "--out",
        tmp_path / "run",
    ]
    ok([*base, "--image-size", "32", "--epochs", "1"])
    last = (tmp_path / "run" / "last.pt").read_bytes()
    result = runner.invoke(app, [str(a) for a in [*base, "--image-size", "48", "--epochs", "2", "--resume"]])
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]  # after the data summary
    assert result.exit_code == 2 and len(errors) == 1 and "last.pt: was trained with image_size 32, not 48" in errors[0]
    assert not any("Traceback" in line for line in result.stderr.splitlines())
    assert (tmp_path / "run" / "last.pt").read_bytes() == last


def test_ctrl_c_with_two_processes_is_one_line(tmp_path):
    table = tmp_path / "many.csv"
    with table.open("w") as fh:
        fh.write("image,caption\n")
        for i in range(200_000):
            fh.write(f"n{i}.png,patchy consolidation with air bronchogram and no ground glass {i}\n")
    out = tmp_path / "out.jsonl"
    out.write_text("the previous run\n")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ctlabel",
            *mine_args(table, out),
            "--processes",
            "2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".out.jsonl.*.tmp")) and time.monotonic() < deadline:
        time.sleep(0.1)  # until the workers are writing
    os.killpg(proc.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches the whole process group
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert err.strip().splitlines() == ["interrupted; nothing half-written was kept"]
    assert out.read_text() == "the previous run\n" and not list(tmp_path.glob(".out.jsonl.*"))


# --- quieter mistakes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_files_with_a_bom(tmp_path, encoding):
    path = tmp_path / "u.csv"
    text = "image,caption\nü1.png,Konsolidierung: consolidation\n"
    path.write_bytes(("\ufeff" + text).encode(encoding) if encoding.endswith("-be") else text.encode(encoding))
    table = read_table(path)
    assert [r for _, r in table.rows] == [{"image": "ü1.png", "caption": "Konsolidierung: consolidation"}]


def test_a_workbook_sheet_is_chosen_and_named(tmp_path):
    book = Workbook()
    book.active.title = "notes"
    book.active.append(["remark"])
    second = book.create_sheet("captions")
    second.append(["image", "caption"])
    second.append(["w.png", "ground glass opacity"])
    path = tmp_path / "b.xlsx"
    book.save(path)
    fails(
        mine_args(path, tmp_path / "o.jsonl"),
        "no column 'image'",
    )
    result = mine(path, tmp_path / "o.jsonl", "--sheet", "captions")
    assert result.exit_code == 0 and json.loads(result.stdout)["note"] == "sheet 'captions'"
    fails(
        [*mine_args(path, tmp_path / "o.jsonl"), "--sheet", "Captions"],
        "no sheet 'Captions'",
        "'notes', 'captions'",
    )
    assert read_table(path).note == "sheet 'notes' of 2 (choose with --sheet)"


def test_jsonl_columns_come_from_every_line(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text(
        '{"image": "a.png", "caption": "GGO"}\n{"image": "b.png", "caption": "x", "report": "no consolidation"}\n'
    )
    out = tmp_path / "o.jsonl"
    result = runner.invoke(
        app,
        [*mine_args(path, out), "--text-col", "report"],
    )
    assert result.exit_code == 0, result.output
    assert len(out.read_text().splitlines()) == 2


def test_diff_refuses_a_duplicate_with_other_labels(tmp_path):
    header = "imgname,CVD19,GGO,Csld,CrPa,AirBr,InSepThi\n"
    old = tmp_path / "old.csv"
    old.write_text(header + "a.png,CVD19,GGO,,,,\nb.png,,,,,,\n")
    new = tmp_path / "new.csv"
    new.write_text(header + "a.png,CVD19,GGO,,,,\nb.png,,,,,,\na.png,CVD19,,,,,\n")
    fails(["diff", old, new], "new.csv", "row 4", "'a.png' appears again with other labels")
    new.write_text(header + "a.png,CVD19,GGO,,,,\nb.png,,,,,,\nb.png,,,,,,\n")
    result = ok(["diff", old, new])
    assert "repeats 1 image(s) with the same labels (first: b.png)" in result.stderr


def test_split_checks_are_said(tmp_path, mined):
    result = ok(["export", mined, "-o", tmp_path / "a.csv", "--split", "60/15/20"])
    assert "--split 60/15/20 sums to 95, not 100; rescaled to 63.2/15.8/21.1" in result.stderr
    split = tmp_path / "given" / "split.csv"
    split.parent.mkdir()
    split.write_text(
        "image,split\n" + "".join(f"s{i}.png,{'train' if i < 15 else 'test'}\n" for i in range(20)) + "ghost.png,val\n"
    )
    result = ok(["export", mined, "-o", tmp_path / "b.csv", "--split-file", split])
    assert "1 images of" in result.stderr and "not in the labels (first: ghost.png)" in result.stderr
    split.write_text("image,split\ns1.png,train\ns1.png,test\n")
    fails(["export", mined, "-o", tmp_path / "c.csv", "--split-file", split], "'s1.png' is in train and test")


def test_an_empty_negatives_folder_is_refused(tmp_path, mined):
    (tmp_path / "neg").mkdir()
    (tmp_path / "neg" / "readme.txt").write_text("images to come")
    fails(["export", mined, "-o", tmp_path / "l.csv", "--negatives", tmp_path / "neg"], "neg", "no image")
    assert not (tmp_path / "l.csv").exists()


def test_when_every_pdf_is_bad_mine_pdf_fails_and_keeps_the_previous_output(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.pdf").write_bytes(b"%PDF-1.4 not really")
    (tmp_path / "in" / "b.pdf").write_text("hello")
    out = tmp_path / "m.jsonl"
    out.write_text('{"id": "kept"}\n')
    fails(
        ["mine", "pdf", tmp_path / "in", "-o", out, "--figures-dir", tmp_path / "f"], "no PDF could be read (2 skipped"
    )
    assert out.read_text() == '{"id": "kept"}\n'


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_outputs_follow_the_umask(tmp_path, mined, mask, mode):
    old = os.umask(mask)
    try:
        ok(["export", mined, "-o", tmp_path / "l.csv", "--split", "80/10/10"])
    finally:
        os.umask(old)
    for name in ("l.csv", "train.csv", "split.csv"):
        assert (tmp_path / name).stat().st_mode & 0o777 == mode, name


def test_csv_reader_reads_what_csv_writer_wrote(tmp_path):
    """A plain check of the dialect test's premise, with line ends and quoting mixed."""
    path = tmp_path / "d.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        writer.writerows([["image", "caption"], ["a", 'say "GGO"\r\nnext'], ["b", ""]])
    assert [r for _, r in read_table(path).rows] == [
        {"image": "a", "caption": 'say "GGO"\r\nnext'},
        {"image": "b", "caption": ""},
    ]


# --- random input: a clean error or the right result, never a traceback --------------------------------

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
READERS = {
    ".csv": lambda p: list(read_table(p).rows),
    ".tsv": lambda p: list(read_table(p).rows),
    ".jsonl": lambda p: list(read_table(p).rows),
    ".xlsx": lambda p: list(read_table(p).rows),
    ".records": lambda p: list(read_records(p, [])),
    ".toml": lambda p: read_toml(p, "settings"),
    ".lexicon": load_lexicon,
    ".pipeline": lambda p: plan(load_pipeline(p)),
    ".labels": read_label_file,
    ".split": read_split_file,
}
BOMS = [b"", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xff\xfe\x00\x00"]


@FUZZ
@given(data=st.binary(max_size=400), bom=st.sampled_from(BOMS), reader=st.sampled_from(sorted(READERS)))
def test_random_bytes_give_a_clean_error_or_a_result(tmp_path, data, bom, reader):
    path = tmp_path / f"f{reader}"
    path.write_bytes(bom + data)
    try:
        READERS[reader](path)
    except CtlabelError as exc:
        assert "\n" not in str(exc).strip() and str(path) in str(exc)


CELL = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\ufeff"), max_size=12)


@FUZZ
@given(
    width=st.integers(1, 4),
    cells=st.lists(CELL, min_size=1, max_size=40),
    suffix=st.sampled_from([".csv", ".tsv"]),
    quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]),
    terminator=st.sampled_from(["\n", "\r\n"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]),
)
def test_any_csv_dialect_reads_back_exactly(tmp_path, width, cells, suffix, quoting, terminator, encoding):
    header = [f"col{k}" for k in range(width)]
    if terminator == "\n":  # csv.writer then leaves a lone \r unquoted: a file no reader can read back
        cells = [c.replace("\r", "") for c in cells]
    rows = [cells[i : i + width] for i in range(0, len(cells) - width + 1, width)]
    rows = [r for r in rows if any(r) or width > 1]  # a one-column empty row is a blank line
    path = tmp_path / f"t{suffix}"
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh, delimiter="," if suffix == ".csv" else "\t", quoting=quoting, lineterminator=terminator)
        writer.writerows([header, *rows])
    table = read_table(path)
    assert table.columns == header and table.skipped == []
    assert [list(row.values()) for _, row in table.rows] == rows


KEYS = st.sampled_from(
    [
        "input",
        "output",
        "epochs",
        "epochz",
        "lr",
        "images",
        "split",
        "spilt",
        "captions",
        "pdfs",
        "workdir",
        "vars",
        "id_col",
        "text_cols",
        "seed",
        "format",
        "negatives",
        "backbone",
        "x",
    ]
)
SCALAR = st.one_of(
    st.text(max_size=8), st.integers(-5, 5), st.floats(allow_nan=False, allow_infinity=False), st.booleans()
)
VALUE = st.one_of(SCALAR, st.lists(SCALAR, max_size=3), st.dictionaries(KEYS, SCALAR, max_size=3))


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(map(_toml, value)) + "]"
    return "{ " + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + " }"


@FUZZ
@given(
    tables=st.dictionaries(
        st.sampled_from(["pipeline", "mine", "review", "export", "train", "trian"]),
        st.dictionaries(KEYS, VALUE, max_size=4),
        min_size=1,
        max_size=4,
    )
)
def test_random_pipeline_files_are_checked_not_crashed_on(tmp_path, tables):
    path = tmp_path / "p.toml"
    path.write_text(
        "".join(
            f"[{name}]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in body.items()) for name, body in tables.items()
        )
    )
    try:
        plans = plan(load_pipeline(path, workdir=tmp_path / "w"))
    except CtlabelError as exc:
        assert "\n" not in str(exc)
    else:
        assert [p.name for p in plans] and all(p.name in tables for p in plans)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


@FUZZ
@given(
    path=st.lists(
        st.sampled_from(["covid", "lesions", "GGO", "state", "image", "patient_id", "id", "evidence"]),
        min_size=1,
        max_size=3,
    ),
    value=JSON,
)
def test_export_of_a_record_changed_anywhere_is_an_error_or_a_label_file(tmp_path, path, value):
    from ctlabel.export.export import ExportOptions, export_labels
    from ctlabel.schema import empty_record

    record = empty_record("r1.png")
    target = record
    for key in path[:-1]:
        child = target.get(key) if isinstance(target, dict) else None
        if not isinstance(child, dict):
            child = {}
            target[key] = child
        target = child
    target[path[-1]] = value
    records = tmp_path / "r.jsonl"
    records.write_text(json.dumps(record) + "\n" + json.dumps(empty_record("r2.png")) + "\n")
    (tmp_path / "l.csv").unlink(missing_ok=True)  # from an earlier example
    try:
        summary = export_labels(records, tmp_path / "l.csv", ExportOptions(split="50/25/25"))
    except CtlabelError as exc:
        assert "\n" not in str(exc) and not (tmp_path / "l.csv").exists()
    else:
        assert summary.rows == len((tmp_path / "l.csv").read_text().splitlines()) - 1
