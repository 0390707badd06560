"""`ctlabel mine pdf` on PDFs generated here: captions, panels, pixels, states, bad files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from fpdf import FPDF
from PIL import Image
from typer.testing import CliRunner

from ctlabel.cli.main import app
from ctlabel.testing.papers import make_paper

runner = CliRunner()


@pytest.fixture(scope="module")
def mined(tmp_path_factory):
    root = tmp_path_factory.mktemp("pdf")
    papers = root / "papers"
    papers.mkdir()
    truth = make_paper(papers / "2020.03.04.20030395.pdf", seed=1)
    out = root / "out" / "mined.jsonl"
    result = runner.invoke(
        app, ["mine", "pdf", str(papers), "-o", str(out), "--figures-dir", str(root / "out" / "figures"), "--json"]
    )
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    return {"truth": truth, "records": records, "summary": json.loads(result.stdout), "out": out}


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_captions_found_exactly(mined):
    found = {(r["figure"], _norm(r["texts"][0]["text"])) for r in mined["records"]}
    expected = {(t.label, _norm(t.caption)) for t in mined["truth"]}
    assert found == expected  # recall and precision 1.0: "Figure 3 shows …" in running text is no caption
    assert mined["summary"]["captions"] == len(mined["truth"])


def test_caption_continued_in_the_next_column(mined):
    record = next(r for r in mined["records"] if r["figure"] == "4")
    assert record["texts"][0]["text"].endswith("consolidation, obtained for comparison with the patients.")


def test_pages_panels_and_order(mined):
    by_figure: dict[str, list[dict]] = {}
    for r in mined["records"]:
        by_figure.setdefault(r["figure"], []).append(r)
    assert {f: r[0]["page"] for f, r in by_figure.items()} == {t.label: t.page for t in mined["truth"]}
    assert [r["panel"] for r in by_figure["1"]] == ["A", "B"]
    assert [r["panel"] for r in by_figure["2"]] == ["A", "C", "B", "D"]  # printed letters, read left to right
    assert [r["panel"] for r in by_figure["4"]] == [None]
    assert by_figure["3"][0]["page"] == 5  # the vector drawing
    assert by_figure["S1"][0]["page"] == 6  # the rotated page
    assert all(
        r["id"] == Path(r["image"]).stem and re.fullmatch(r"2020\.03\.04\.20030395-p\d+-\d+", r["id"])
        for r in mined["records"]
    )
    assert all(
        r["doi"] == "10.1101/2020.03.04.20030395" and r["doc_id"] == "2020.03.04.20030395" for r in mined["records"]
    )


def test_pixels_match_the_source_images(mined):
    truth = {(t.label, p.letter): p.pixels for t in mined["truth"] if t.kind == "image" for p in t.panels}
    checked = 0
    for r in mined["records"]:
        source = truth.get((r["figure"], r["panel"]))
        if source is None:
            continue
        path = mined["out"].parent / r["image"]
        image = np.asarray(Image.open(path).convert("RGB").resize(source.shape[1::-1]), dtype=float)
        assert np.abs(image - source).mean() < 12, r["id"]  # not inverted, not black, the right image
        checked += 1
    assert checked == 8


def test_states_use_the_panel_part_and_the_document(mined):
    rec = {(r["figure"], r["panel"]): r for r in mined["records"]}
    b = rec[("1", "B")]
    assert b["lesions"]["Csld"]["state"] == "positive" and b["lesions"]["AirBr"]["state"] == "positive"
    assert b["lesions"]["GGO"]["state"] == "absent"
    assert rec[("1", "A")]["lesions"]["GGO"]["state"] == "positive"
    assert rec[("2", "C")]["lesions"]["Csld"]["state"] == "positive"
    assert rec[("2", "B")]["lesions"]["GGO"]["state"] == "positive"
    assert rec[("S1", None)]["lesions"]["CrPa"]["state"] == "positive"
    four = rec[("4", None)]
    assert four["covid"]["state"] == "negative" and four["lesions"]["GGO"]["state"] == "negative"
    fig3 = rec[
        ("3", None)
    ]  # a chart: the abstract (source "document") names SARS-CoV-2 but speaks for chest images only
    assert fig3["kind"] == "chart" and fig3["covid"]["state"] == "absent"
    assert [t["source"] for t in fig3["texts"]] == ["caption"]
    assert all(
        r["kind"] == "ct" and r["texts"][-1]["source"] == "document" for r in mined["records"] if r["figure"] != "3"
    )
    assert not any("medRxiv" in r["texts"][0]["text"] for r in mined["records"])


def test_bad_pdfs_are_skipped_and_reported(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    make_paper(folder / "good.pdf", seed=2)
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 20)
    locked = FPDF()
    locked.set_encryption(owner_password="owner", user_password="secret")
    locked.add_page()
    locked.set_font("helvetica", size=12)
    locked.cell(0, 10, "Figure 1. Secret.")
    locked.output(str(folder / "locked.pdf"))
    plain = FPDF()
    plain.add_page()
    plain.set_font("helvetica", size=12)
    plain.cell(0, 10, "Only text, no figure here.")
    plain.output(str(folder / "textonly.pdf"))
    out = tmp_path / "out.jsonl"
    result = runner.invoke(
        app, ["mine", "pdf", str(folder), "-o", str(out), "--figures-dir", str(tmp_path / "f"), "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    reasons = {Path(line.split(":")[0]).name: line for line in summary["skipped"]}
    assert set(reasons) == {"broken.pdf", "locked.pdf", "textonly.pdf"}
    assert (
        "broken" in reasons["broken.pdf"]
        and "encrypted" in reasons["locked.pdf"]
        and "no figure" in reasons["textonly.pdf"]
    )
    assert summary["images"] == 9 and len(out.read_text().splitlines()) == 9  # the good PDF is all there
    strict = runner.invoke(
        app, ["mine", "pdf", str(folder), "-o", str(out), "--figures-dir", str(tmp_path / "f"), "--strict"]
    )
    assert strict.exit_code == 1


def test_processes_give_the_same_records(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for seed in (3, 4):
        make_paper(folder / f"paper{seed}.pdf", seed=seed)
    outputs = []
    for n in ("1", "2"):
        out = tmp_path / f"out{n}" / "mined.jsonl"
        assert (
            runner.invoke(
                app, ["mine", "pdf", str(folder), "-o", str(out), "--figures-dir", str(out.parent / "figures"), "-p", n]
            ).exit_code
            == 0
        )
        outputs.append(out.read_text())
    assert outputs[0] == outputs[1]


def test_cmyk_and_masked_images_render_as_printed(tmp_path):
    """A CMYK JPEG is not inverted; a soft-masked PNG shows the page, not black, where it is transparent."""
    Image.new("RGB", (120, 90), (200, 40, 40)).convert("CMYK").save(tmp_path / "red_cmyk.jpg", quality=95)
    rgba = np.zeros((90, 120, 4), np.uint8)
    rgba[..., 1] = 180
    rgba[15:75, 20:100, 3] = 255
    Image.fromarray(rgba, "RGBA").save(tmp_path / "green_alpha.png")
    pdf = FPDF(unit="pt", format="A4")
    pdf.add_page()
    pdf.set_font("helvetica", size=10)
    pdf.image(str(tmp_path / "red_cmyk.jpg"), x=60, y=80, w=120)
    pdf.set_xy(60, 175)
    pdf.multi_cell(200, 12, "Figure 1. A CMYK image.")
    pdf.image(str(tmp_path / "green_alpha.png"), x=60, y=260, w=120)
    pdf.set_xy(60, 355)
    pdf.multi_cell(200, 12, "Figure 2. An image with a soft mask.")
    pdf.output(str(tmp_path / "c.pdf"))
    out = tmp_path / "out" / "m.jsonl"
    assert (
        runner.invoke(
            app, ["mine", "pdf", str(tmp_path / "c.pdf"), "-o", str(out), "--figures-dir", str(out.parent / "f")]
        ).exit_code
        == 0
    )
    records = {r["figure"]: r for r in map(json.loads, out.read_text().splitlines())}
    red = np.asarray(Image.open(out.parent / records["1"]["image"]).convert("RGB"), dtype=float)
    r, g, b = red[red.shape[0] // 2, red.shape[1] // 2]
    assert r > 150 and g < 110 and b < 110  # red, not its inverse (cyan)
    green = np.asarray(Image.open(out.parent / records["2"]["image"]).convert("RGB"), dtype=float)
    assert tuple(green[green.shape[0] // 2, green.shape[1] // 2]) == pytest.approx((0, 180, 0), abs=12)
    assert green[2, 2].min() > 240  # transparent corner: the white page, not black


def test_a_pdf_over_the_time_limit_is_skipped(tmp_path):
    make_paper(tmp_path / "slow.pdf", seed=5)
    out = tmp_path / "out.jsonl"
    result = runner.invoke(
        app,
        [
            "mine",
            "pdf",
            str(tmp_path / "slow.pdf"),
            "-o",
            str(out),
            "--figures-dir",
            str(tmp_path / "f"),
            "--timeout",
            "0.01",
            "--json",
        ],
    )
    assert result.exit_code == 2 and "took longer than" in result.output  # the only PDF: nothing to write
    assert not out.exists()


def test_a_picture_stored_as_strips_is_one_image(tmp_path):
    """Some producers store one picture as several strips: they come out as one image, one panel."""
    from ctlabel.testing.images import ct_like

    pixels = ct_like(42, "consolidation", size=(120, 160))
    pdf = FPDF(unit="pt", format="A4")
    pdf.add_page()
    pdf.set_font("helvetica", size=10)
    for k in range(4):  # four 30-px strips, 22.5 pt each, no gap
        pdf.image(Image.fromarray(pixels[30 * k : 30 * (k + 1)]), x=60, y=80 + 22.5 * k, w=120, h=22.5)
    pdf.set_xy(60, 175)
    pdf.multi_cell(200, 12, "Figure 1. Consolidation in the right lower lobe.")
    pdf.output(str(tmp_path / "strips.pdf"))
    out = tmp_path / "out" / "m.jsonl"
    assert (
        runner.invoke(
            app, ["mine", "pdf", str(tmp_path / "strips.pdf"), "-o", str(out), "--figures-dir", str(out.parent / "f")]
        ).exit_code
        == 0
    )
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 1 and records[0]["panel"] is None and records[0]["bbox"] == [60.0, 80.0, 180.0, 170.0]
    image = np.asarray(Image.open(out.parent / records[0]["image"]).convert("RGB").resize((160, 120)), dtype=float)
    assert np.abs(image - pixels).mean() < 12
