"""Figures on layouts the generated papers never had: tables under figures, unlettered diagrams,
one raster holding several lettered panels, sub-captions, vector charts with axis labels, side
captions, supplementary labels; the scorer and the overlay. Every PDF is built here with fpdf2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from typer.testing import CliRunner

from ctlabel.cli.main import app
from ctlabel.pdf.extract import extract_pdf
from ctlabel.testing.images import ct_like
from ctlabel.testing.papers import answer_key, make_paper

FPDF = pytest.importorskip("fpdf").FPDF
runner = CliRunner()
BODY = "The scans were read by two radiologists who agreed on every finding after discussion. " * 4


def _page(pdf=None):
    if pdf is None:
        pdf = FPDF(unit="pt", format="A4")
        pdf.set_auto_page_break(False)
    pdf.add_page()
    pdf.set_font("helvetica", size=9)
    return pdf


def _text(pdf, x: float, y: float, text: str, width: float = 235.0, size: float = 9.0) -> float:
    pdf.set_font("helvetica", size=size)
    pdf.set_xy(x, y)
    pdf.multi_cell(width, size * 1.3, text)
    return pdf.get_y()


def _image(pdf, pixels: np.ndarray, x: float, y: float, w: float) -> tuple[float, float, float, float]:
    h = w * pixels.shape[0] / pixels.shape[1]
    pdf.image(Image.fromarray(pixels), x=x, y=y, w=w, h=h)
    return (x, y, x + w, y + h)


def _extract(pdf, tmp_path: Path, name: str = "paper") -> list[dict]:
    path = tmp_path / f"{name}.pdf"
    pdf.output(str(path))
    return extract_pdf(path, tmp_path / "figures").figures


def _within(inner, outer, tol: float = 1.5) -> bool:
    return (
        inner[0] >= outer[0] - tol
        and inner[1] >= outer[1] - tol
        and inner[2] <= outer[2] + tol
        and inner[3] <= outer[3] + tol
    )


def test_a_ruled_table_under_a_figure_is_neither_panel_nor_figure(tmp_path):
    pdf = _page()
    box = _image(pdf, ct_like(1, "ggo"), 50, 60, 200)
    _text(pdf, 50, box[3] + 8, "Figure 1. Axial CT of a patient with bilateral opacities.")
    _text(pdf, 50, box[3] + 40, "Table 1. Scores of the readers.")
    top = box[3] + 56
    for r in range(5):  # a grid: rows of cells with text, ruled all round
        pdf.line(50, top + 16 * r, 250, top + 16 * r)
        if r < 4:
            for c, word in enumerate(("reader", "score", "day")):
                pdf.text(56 + 66 * c, top + 16 * r + 11, f"{word} {r}")
    for c in range(4):
        pdf.line(50 + 66.6 * c, top, 50 + 66.6 * c, top + 64)
    _text(pdf, 310, 60, BODY)
    figures = _extract(pdf, tmp_path)
    assert [(f["figure"], f["panel"]) for f in figures] == [("1", None)]
    assert _within(figures[0]["bbox"], box)  # the table below the caption is not part of it


def test_a_drawing_next_to_a_table_caption_is_a_table(tmp_path):
    pdf = _page()
    _text(pdf, 50, 60, "Table 2. Hyper-parameters of the runs.")
    pdf.set_draw_color(0, 0, 0)
    for k in range(4):  # a table with bracket-like curves: not only thin rules
        pdf.rect(60 + 40 * k, 80, 30, 40)
        pdf.text(64 + 40 * k, 100, f"{k}e-3")
    box = _image(pdf, ct_like(2), 50, 200, 160)
    _text(pdf, 50, box[3] + 8, "Figure 2. A slice without findings.")
    figures = _extract(pdf, tmp_path)
    assert [(f["figure"], f["panel"]) for f in figures] == [("2", None)]
    assert _within(figures[0]["bbox"], box)


def test_an_unlettered_diagram_and_unlettered_plots_stay_whole(tmp_path):
    pdf = _page()
    labels = ("Input", "Encoder", "Decoder", "Mask")
    for k, label in enumerate(labels):  # boxes joined by arrows, text inside
        pdf.rect(60 + 110 * k, 80, 80, 40)
        pdf.text(70 + 110 * k, 104, label)
        if k:
            pdf.line(140 + 110 * (k - 1), 100, 170 + 110 * (k - 1), 100)
    _text(pdf, 50, 140, "Figure 1. Overview of the segmentation pipeline.", width=495)
    y = 300
    for k in range(3):  # three plots side by side, no letter anywhere
        _image(pdf, ct_like(10 + k), 50 + 165 * k, y, 150)
    _text(pdf, 50, y + 125, "Figure 2. Three follow-up scans of one patient.", width=495)
    figures = _extract(pdf, tmp_path)
    assert [(f["figure"], f["panel"]) for f in figures] == [("1", None), ("2", None)]
    diagram = figures[0]
    assert diagram["kind"] == "diagram"
    assert diagram["bbox"][0] <= 60 and diagram["bbox"][2] >= 60 + 110 * 3 + 80  # every box and its text
    assert figures[1]["bbox"][0] <= 50.5 and figures[1]["bbox"][2] >= 50 + 165 * 2 + 149


def _lettered_raster(letters: str) -> np.ndarray:
    """CT tiles side by side in one picture, 10 px white gutters, a letter painted on each."""
    tiles = []
    for k, letter in enumerate(letters):
        tile = Image.fromarray(ct_like(20 + k, "consolidation"))
        ImageDraw.Draw(tile).text((4, 2), letter, fill=(255, 255, 255))
        tiles.append(np.asarray(tile))
    gutter = np.full((tiles[0].shape[0], 10, 3), 255, np.uint8)
    row = [tiles[0]]
    for tile in tiles[1:]:
        row += [gutter, tile]
    return np.concatenate(row, axis=1)


def test_one_raster_is_split_at_its_gutters_when_the_caption_names_as_many_panels(tmp_path):
    pdf = _page()
    box = _image(pdf, _lettered_raster("ABC"), 50, 60, 450)
    _text(
        pdf,
        50,
        box[3] + 8,
        "Figure 3. Chest CT of one patient. (A) Day 1. (B) Day 5, consolidation. (C) Day 9.",
        width=450,
    )
    figures = _extract(pdf, tmp_path)
    assert [f["panel"] for f in figures] == ["A", "B", "C"]
    lefts = [f["bbox"][0] for f in figures]
    assert lefts == sorted(lefts) and all(_within(f["bbox"], box) for f in figures)
    widths = [f["bbox"][2] - f["bbox"][0] for f in figures]
    assert max(widths) - min(widths) < 6 and all(f["kind"] == "ct" for f in figures)


def test_panel_counts_that_disagree_keep_the_figure_whole_with_a_note(tmp_path):
    pdf = _page()
    box = _image(pdf, _lettered_raster("ABC"), 50, 60, 450)
    _text(pdf, 50, box[3] + 8, "Figure 4. Chest CT. (A) Day 1. (B) Day 9.", width=450)
    for k in range(3):
        _image(pdf, ct_like(40 + k), 50 + 165 * k, 400, 150)
    _text(pdf, 50, 525, "Figure 5. Follow-up CT: (a) day 2 and (b) day 6.", width=450)
    figures = _extract(pdf, tmp_path)
    assert [(f["figure"], f["panel"]) for f in figures] == [("4", None), ("5", None)]
    assert "names 2 panels" in figures[0]["notes"] and "splits into 3" in figures[0]["notes"]
    assert "names 2 panels" in figures[1]["notes"] and "3 pictures" in figures[1]["notes"]


def test_sub_captions_letter_sub_images_in_reading_order(tmp_path):
    pdf = _page()
    right = _image(pdf, ct_like(50), 300, 60, 200)  # the taller right image comes first in the file
    left = _image(pdf, ct_like(51, size=(60, 128)), 60, 80, 200)
    _text(pdf, 120, left[3] + 4, "(a) Loss per epoch", width=120, size=8)
    _text(pdf, 360, right[3] + 4, "(b) Dice per epoch", width=120, size=8)
    _text(pdf, 50, right[3] + 24, "Figure 6: Training curves of the best run.", width=450)
    figures = _extract(pdf, tmp_path)
    assert [f["panel"] for f in figures] == ["a", "b"]
    assert _within(figures[0]["bbox"], left) and _within(figures[1]["bbox"], right)


def test_printed_text_letters_beside_images_letter_them(tmp_path):
    pdf = _page()
    boxes = [_image(pdf, ct_like(60 + k), 60 + 160 * k, 80, 140) for k in range(3)]
    pdf.set_font("helvetica", "B", 10)
    for letter, box in zip("bac", boxes):  # letters printed as text at each top-left corner
        pdf.text(box[0] - 10, box[1] + 8, letter)
    _text(pdf, 50, boxes[0][3] + 10, "Figure 7. Three slices of one scan.", width=450)
    figures = _extract(pdf, tmp_path)
    assert [f["panel"] for f in figures] == ["b", "a", "c"]  # the printed letter, not the position


def test_a_vector_chart_keeps_its_axis_labels_ticks_and_legend(tmp_path):
    pdf = _page()
    x0, base = 80.0, 220.0
    pdf.line(x0, base, x0 + 180, base)
    pdf.line(x0, base, x0, base - 140)
    pdf.polyline([(x0 + 10 * k, base - 10 - 6 * k - (k % 3) * 8) for k in range(18)])
    pdf.set_font("helvetica", size=7)
    for k in range(4):
        pdf.text(x0 + 60 * k - 3, base + 9, str(20 * k))  # x ticks under the axis
        pdf.text(x0 - 16, base - 40 * k + 2, f"{k / 4:.2f}")  # y ticks left of it
    pdf.text(x0 + 70, base + 19, "Epoch")  # axis title under the ticks
    pdf.text(x0 + 120, base - 147, "train loss")  # legend just over the plot
    _text(pdf, 50, base + 34, "Figure 8. Training loss of the network.")
    _text(pdf, 310, 60, BODY)
    figures = _extract(pdf, tmp_path)
    assert [(f["figure"], f["panel"], f["kind"]) for f in figures] == [("8", None, "chart")]
    x_left, top, x_right, bottom = figures[0]["bbox"]
    assert x_left <= x0 - 16 and bottom >= base + 19 and top <= base - 147 - 6  # ticks, title, legend
    assert bottom < base + 34 and x_right < 300  # not the caption, not the body text beside it


def test_a_caption_beside_its_figure(tmp_path):
    pdf = _page()
    box = _image(pdf, ct_like(70), 200, 80, 300)
    _text(pdf, 50, box[3] - 50, "Fig. 1. Axial CT (from the archive of the hospital).", width=130)
    _text(pdf, 50, box[3] + 40, BODY, width=450)
    figures = _extract(pdf, tmp_path)
    assert [(f["figure"], f["panel"]) for f in figures] == [("1", None)]
    assert _within(figures[0]["bbox"], box)


@pytest.mark.parametrize(
    ("caption", "label"),
    [
        ("Supplementary Figure 2: Scans of the control group.", "S2"),
        ("Extended Data Fig. 3 | Scans of the control group.", "ED3"),
        ("FIGURE S4. Scans of the control group.", "S4"),
        ("Figure Supplementary. Scans of the control group.", "S"),
        ("Fig. A.5. Scans of the control group.", "A.5"),
    ],
)
def test_supplementary_and_unnumbered_labels(tmp_path, caption, label):
    pdf = _page()
    box = _image(pdf, ct_like(80), 50, 60, 200)
    _text(pdf, 50, box[3] + 8, caption)
    figures = _extract(pdf, tmp_path)
    assert [f["figure"] for f in figures] == [label]


def _mine(tmp_path: Path, pdf, *options: str) -> list[dict]:
    papers = tmp_path / "papers"
    papers.mkdir(exist_ok=True)
    pdf.output(str(papers / "paper.pdf"))
    out = tmp_path / "out" / "mined.jsonl"
    result = runner.invoke(
        app, ["mine", "pdf", str(papers), "-o", str(out), "--figures-dir", str(tmp_path / "out" / "fig"), *options]
    )
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_evaluate_pdf_scores_against_a_key_and_refuses_a_bad_one(tmp_path):
    pdf = _page()
    box = _image(pdf, _lettered_raster("ABC"), 50, 60, 450)
    _text(pdf, 50, box[3] + 8, "Figure 1. CT of a COVID-19 patient. (A) Day 1. (B) Day 5. (C) Day 9.", width=450)
    chart = _image(pdf, np.full((60, 120, 3), 255, np.uint8), 50, 400, 120)
    _text(pdf, 50, chart[3] + 8, "Figure 2. Accuracy per epoch.")
    records = _mine(tmp_path, pdf)
    assert len(records) == 4
    gold = [
        {
            "pdf": "paper.pdf",
            "page": 1,
            "figure": "1",
            "caption_start": "Figure 1. CT of a COVID-19 patient.",
            "panels": ["A", "B", "C"],
            "bbox": list(box),
            "covid": "positive",
        },
        {
            "pdf": "paper.pdf",
            "page": 1,
            "figure": "2",
            "caption_start": "Figure 2. Accuracy per epoch.",
            "panels": [],
            "bbox": [0, 0, 10, 10],
            "covid": "absent",
        },  # a wrong box: IoU 0
        {
            "pdf": "paper.pdf",
            "page": 1,
            "figure": "3",
            "caption_start": "Figure 3. Not in the paper.",
            "panels": [],
            "bbox": [0, 0, 10, 10],
            "covid": "absent",
        },
    ]
    key = tmp_path / "gold.json"
    key.write_text(json.dumps(gold))
    result = runner.invoke(app, ["evaluate-pdf", str(key), str(tmp_path / "out" / "mined.jsonl"), "--json"])
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)
    assert scores["caption_recall"] == pytest.approx(2 / 3) and scores["caption_precision"] == 1.0
    assert scores["panels_exact"] == pytest.approx(2 / 3)
    assert scores["records_inside"] == pytest.approx(3 / 4)  # the chart lies outside its (wrong) box
    assert 0.9 < scores["figures"][0]["iou"] <= 1.0 and scores["figures"][1]["iou"] == 0.0
    assert scores["covid_precision"] == 1.0 and scores["covid_flagged"] == 1
    del gold[0]["bbox"]
    key.write_text(json.dumps(gold))
    result = runner.invoke(app, ["evaluate-pdf", str(key), str(tmp_path / "out" / "mined.jsonl")])
    assert result.exit_code == 2 and "gold.json: figure 0 lacks bbox" in result.output.replace("\n", "")


def test_overlay_draws_each_page_with_its_figures(tmp_path):
    pdf = _page()
    box = _image(pdf, ct_like(90), 50, 60, 200)
    _text(pdf, 50, box[3] + 8, "Figure 1. A slice.")
    _page(pdf)
    _text(pdf, 50, 60, BODY)
    records = _mine(tmp_path, pdf, "--overlay", str(tmp_path / "overlay"))
    assert [r["kind"] for r in records] == ["ct"] and records[0]["notes"] is None
    pages = sorted(p.name for p in (tmp_path / "overlay").iterdir())
    assert pages == ["paper-p1.png", "paper-p2.png"]
    drawn = np.asarray(Image.open(tmp_path / "overlay" / "paper-p1.png").convert("RGB")).astype(int)
    red = (drawn[..., 0] > 200) & (drawn[..., 1] < 60) & (drawn[..., 2] < 60)
    assert red.sum() > 100  # the figure's frame
    plain = np.asarray(Image.open(tmp_path / "overlay" / "paper-p2.png").convert("RGB")).astype(int)
    assert not ((plain[..., 0] > 200) & (plain[..., 1] < 60) & (plain[..., 2] < 60)).any()


def test_export_keeps_only_the_kinds_asked_for(tmp_path):
    pdf = _page()
    box = _image(pdf, ct_like(95, "ggo"), 50, 60, 200)
    _text(pdf, 50, box[3] + 8, "Figure 1. Chest CT with ground-glass opacity.")
    x0, base = 80.0, 520.0
    pdf.line(x0, base, x0 + 180, base)
    pdf.line(x0, base, x0, base - 140)
    for k in range(5):
        pdf.rect(x0 + 10 + 34 * k, base - 20 * (k + 1), 24, 20 * (k + 1), style="F")
    _text(pdf, 50, base + 10, "Figure 2. Accuracy of the readers.")
    records = _mine(tmp_path, pdf)
    assert sorted((r["figure"], r["kind"]) for r in records) == [("1", "ct"), ("2", "chart")]
    labels = tmp_path / "labels.csv"
    result = runner.invoke(
        app, ["export", str(tmp_path / "out" / "mined.jsonl"), "-o", str(labels), "--kind", "ct", "--json"]
    )
    assert result.exit_code == 0, result.output
    rows = labels.read_text().splitlines()[1:]
    ct = next(r for r in records if r["kind"] == "ct")
    assert len(rows) == 1 and rows[0].startswith(ct["id"])
    assert json.loads(result.stdout)["other_kinds"] == 1
    result = runner.invoke(app, ["export", str(tmp_path / "out" / "mined.jsonl"), "-o", str(labels), "--kind", "mri"])
    assert result.exit_code == 2 and "--kind is one of ct, xray" in result.output


def test_generated_paper_scores_exactly(tmp_path):
    papers = tmp_path / "papers"
    papers.mkdir()
    truth = make_paper(papers / "paper.pdf", seed=3)
    key = tmp_path / "gold.json"
    key.write_text(json.dumps(answer_key(truth, "paper.pdf")))
    out = tmp_path / "mined.jsonl"
    result = runner.invoke(app, ["mine", "pdf", str(papers), "-o", str(out), "--figures-dir", str(tmp_path / "fig")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["evaluate-pdf", str(key), str(out), "--json"])
    scores = json.loads(result.stdout)
    for measure in ("caption_recall", "caption_precision", "records_inside", "panels_exact", "covid_precision"):
        assert scores[measure] == 1.0, (measure, scores["figures"])
    assert scores["mean_iou"] > 0.97


def test_a_line_citing_a_figure_under_it_is_no_caption(tmp_path):
    pdf = _page()
    box = _image(pdf, ct_like(97), 50, 60, 200)
    _text(pdf, 50, box[3] + 8, "Figure 2 shows the same slice one week later, with the opacity gone.")
    box = _image(pdf, ct_like(98), 310, 60, 200)
    _text(pdf, 310, box[3] + 8, "Figure 3 Axial CT one week later.")
    figures = _extract(pdf, tmp_path)
    assert [f["figure"] for f in figures] == ["3"]


def test_a_paragraph_end_over_a_pictures_white_margin_stays_out(tmp_path):
    pdf = _page()
    end = _text(pdf, 50, _text(pdf, 50, 60, BODY), "is shown in Figure 1.")  # a short last line
    picture = np.full((120, 200, 3), 255, np.uint8)
    picture[30:, 20:180] = ct_like(99, size=(90, 160))  # white band on top, under the paragraph's end
    box = _image(pdf, picture, 90, end - 8, 190)
    _text(pdf, 50, box[3] + 8, "Figure 1. A slice with a white margin.")
    figures = _extract(pdf, tmp_path)
    assert [f["figure"] for f in figures] == ["1"]
    assert figures[0]["bbox"][0] >= 89 and figures[0]["bbox"][1] >= end - 9  # not the text line it overlaps
