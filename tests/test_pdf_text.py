"""PDF text that keeps its words: PDFs made here the way typesetters print text (each word placed on
its own, no space characters; small type, justified lines, letter-spacing, kerning, small caps,
overprinted bold, ligature glyphs, line-break hyphens), read back as captions."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from fpdf import FPDF
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from typer.testing import CliRunner

from ctlabel.cli.main import app
from ctlabel.pdf.bench import pdf_captions
from ctlabel.pdf.words import clean_char

runner = CliRunner()
DEJAVU = next(
    (
        p
        for p in (Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"), Path("/usr/share/fonts/TTF/DejaVuSans.ttf"))
        if p.exists()
    ),
    None,
)
needs_dejavu = pytest.mark.skipif(
    DEJAVU is None, reason="no DejaVuSans.ttf on this system: ligature glyphs need a TTF font that has them"
)


def _doc(font: str = "helvetica") -> FPDF:
    pdf = FPDF(unit="pt", format="A4")
    pdf.add_page()
    if font == "dejavu":
        pdf.add_font("dejavu", "", str(DEJAVU))
    return pdf


def _words(pdf: FPDF, x: float, y: float, words: str, gap: float) -> float:
    """Place each word of ``words`` on its own at baseline ``y`` with ``gap`` points between words
    (no space characters, as TeX prints); returns where the line ends."""
    for word in words.split():
        pdf.text(x, y, word)
        x += pdf.get_string_width(word) + gap
    return x - gap


def _caption(path: Path) -> tuple[str, list]:
    captions, _ = pdf_captions(path)
    assert len(captions) == 1, [c.text for c in captions]
    return captions[0].text, captions[0].char_boxes()


def test_small_tight_type_keeps_its_spaces(tmp_path):
    """6.5-point type with 0.22 em between words (1.4 points: under pdfplumber's fixed 3-point
    tolerance) reads with its spaces."""
    text = "Figure 3. Coronal reformats of two adults show peripheral opacities in both lower lobes."
    pdf = _doc()
    pdf.set_font("helvetica", size=6.5)
    _words(pdf, 60, 200, text, 0.22 * 6.5)
    pdf.output(str(tmp_path / "tight.pdf"))
    assert _caption(tmp_path / "tight.pdf")[0] == text


def test_justified_wide_spaces_and_letter_spacing(tmp_path):
    """A justified line with wide gaps stays one line of single-spaced words; a letter-spaced
    (tracked) caption keeps its words whole: the gap rule follows the line's own letter gap."""
    pdf = _doc()
    pdf.set_font("helvetica", size=9)
    _words(pdf, 60, 100, "Figure 1. Thin-section scans at admission reveal", 0.9 * 9)  # stretched to the column width
    _words(pdf, 60, 111, "scattered nodules.", 0.28 * 9)
    pdf.set_font("helvetica", size=8)
    pdf.set_char_spacing(0.15 * 8)  # tracking: every letter 0.15 em apart
    x = 60.0
    for word in ("Figure", "2.", "Airway", "walls", "appear", "thickened"):
        pdf.text(x, 300, word)
        x += pdf.get_string_width(word) + 0.15 * 8 * len(word) + 0.3 * 8
    pdf.set_char_spacing(0)
    pdf.output(str(tmp_path / "spacing.pdf"))
    captions, _ = pdf_captions(tmp_path / "spacing.pdf")
    assert [c.text for c in captions] == [
        "Figure 1. Thin-section scans at admission reveal scattered nodules.",
        "Figure 2. Airway walls appear thickened",
    ]


def test_kerning_small_caps_and_bold_runs(tmp_path):
    """Letters set closer or wider by kerning (±0.04 em), a small-caps label (capitals in two
    sizes), a bold run and a word overprinted a hair to the right (fake bold) neither glue nor
    split words."""
    pdf = _doc()
    x, y = 60.0, 150.0
    pdf.set_font("helvetica", size=10)
    pdf.text(x, y, "F")
    x += pdf.get_string_width("F")
    pdf.set_font("helvetica", size=7.5)  # small caps: the rest of the word in smaller capitals
    pdf.text(x, y, "IGURE")
    x += pdf.get_string_width("IGURE") + 0.3 * 10
    pdf.set_font("helvetica", size=10)
    x = _words(pdf, x, y, "5. Lower", 0.3 * 10) + 0.3 * 10
    for k, letter in enumerate("lobes"):  # kerned: letter gaps of -0.04 to +0.04 em
        pdf.text(x, y, letter)
        x += pdf.get_string_width(letter) + (0.4 if k % 2 else -0.4)
    x += 0.3 * 10
    pdf.set_font("helvetica", "B", size=10)
    x = _words(pdf, x, y, "show striking", 0.3 * 10) + 0.3 * 10
    pdf.set_font("helvetica", size=10)
    pdf.text(x, y, "bands")  # overprinted: the same word drawn twice, 0.3 points apart
    pdf.text(x + 0.3, y, "bands")
    x += pdf.get_string_width("bands") + 0.3 * 10
    _words(pdf, x, y, "today.", 0.3 * 10)
    pdf.output(str(tmp_path / "kern.pdf"))
    assert _caption(tmp_path / "kern.pdf")[0] == "FIGURE 5. Lower lobes show striking bands today."


def test_line_break_hyphens_joined_and_compounds_kept(tmp_path):
    """A hyphen at a line end breaks a word (dropped) or belongs to it (kept); the document's own
    words decide, and a line-break hyphen never leaves a space behind."""
    pdf = _doc()
    pdf.set_font("helvetica", size=9)
    body = [  # running text elsewhere in the document: its vocabulary
        "Pleural thickening was frequent and crazy-paving was rare in this series.",
        "Without exception we follow every patient up to the end of the study.",
        "Paving stones and crazy ideas are unrelated words here, as is formation.",
    ]
    for k, line in enumerate(body):
        _words(pdf, 60, 80 + 11 * k, line, 0.3 * 9)
    caption = [
        "Figure 4. Pleural thick-",  # a word broken by hyphenation: the document prints "thickening"
        "ening with crazy-",  # a compound the document prints with its hyphen
        "paving, seen with-",  # both halves are words, but the document prints "without"
        "out contrast at follow-",  # never printed either way; both halves are words: a compound
        "up, in-",  # a two-letter piece: hyphenation ("in-" + "formation")
        "formation of SARS-",  # capitals: a hyphenated name
        "CoV-2 and COVID-",
        "19-related changes.",
    ]
    for k, line in enumerate(caption):
        _words(pdf, 60, 300 + 10.5 * k, line, 0.3 * 9)
    pdf.output(str(tmp_path / "hyphens.pdf"))
    text, boxes = _caption(tmp_path / "hyphens.pdf")
    assert text == (
        "Figure 4. Pleural thickening with crazy-paving, seen without contrast at follow-up, information of "
        "SARS-CoV-2 and COVID-19-related changes."
    )
    assert len(boxes) == len(text)


@needs_dejavu
def test_ligatures_soft_hyphens_and_special_spaces(tmp_path):
    """Ligature glyphs spelled out (each letter keeps the glyph's box), non-breaking and thin
    spaces as spaces, a soft hyphen at a line end joining the word, zero-width spaces dropped."""
    pdf = _doc("dejavu")
    pdf.set_font("dejavu", size=9)
    pdf.text(
        60, 120, "Figure 6. Su\ufb03cient \ufb01brotic \ufb02uid e\ufb00ects at 10\u00a0mm and 5\u2009cm in recon\u00ad"
    )
    pdf.text(60, 131, "struc\u200btions.")
    pdf.output(str(tmp_path / "glyphs.pdf"))
    text, boxes = _caption(tmp_path / "glyphs.pdf")
    assert text == "Figure 6. Sufficient fibrotic fluid effects at 10 mm and 5 cm in reconstructions."
    ffi = text.index("ffi")
    assert boxes[ffi] == boxes[ffi + 1] == boxes[ffi + 2] and boxes[ffi] != boxes[ffi + 3]
    assert boxes[text.index("10 mm") + 2] is None  # the NBSP is a space between words


def _printed(page, box) -> str:
    """The text of the characters whose centres lie in ``box`` (x0, top, x1, bottom), cleaned."""
    x0, top, x1, bottom = box
    inside = [
        c for c in page.chars if x0 <= (c["x0"] + c["x1"]) / 2 <= x1 and top <= (c["top"] + c["bottom"]) / 2 <= bottom
    ]
    return "".join(clean_char(c["text"]) for c in sorted(inside, key=lambda c: c["x0"]) if not c["text"].isspace())


def test_mined_caption_boxes_point_at_the_printed_words(tmp_path):
    """`ctlabel mine pdf`: the caption text has its spaces, and each ``boxes`` entry
    [start, end, x0, top, x1, bottom] frames exactly the printed characters of text[start:end]."""
    import pdfplumber

    pixels = (np.random.default_rng(3).random((80, 100, 3)) * 255).astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / "scan.png")
    pdf = _doc()
    pdf.image(str(tmp_path / "scan.png"), x=60, y=80, w=200)
    pdf.set_font("helvetica", size=7)
    lines = ["Figure 1. Axial images of a man aged 61 show bilateral consoli-", "dation and a small pleural effusion."]
    for k, line in enumerate(lines):
        _words(pdf, 60, 255 + 8.5 * k, line, 0.25 * 7)
    _words(pdf, 60, 400, "Areas of consolidation were measured by two readers.", 0.25 * 7)
    pdf.output(str(tmp_path / "paper.pdf"))
    out = tmp_path / "out" / "mined.jsonl"
    result = runner.invoke(
        app, ["mine", "pdf", str(tmp_path / "paper.pdf"), "-o", str(out), "--figures-dir", str(tmp_path / "f")]
    )
    assert result.exit_code == 0, result.output
    record = json.loads(out.read_text().splitlines()[0])
    caption = record["texts"][0]
    assert (
        caption["text"]
        == "Figure 1. Axial images of a man aged 61 show bilateral consolidation and a small pleural effusion."
    )
    page = pdfplumber.open(tmp_path / "paper.pdf").pages[record["page"] - 1]
    pieces = {caption["text"][s:e]: box for s, e, *box in caption["boxes"]}
    assert "consoli" in pieces and "dation" in pieces  # the joined word points at both printed halves
    assert pieces["consoli"][1] < pieces["dation"][1]
    for start, end, *box in caption["boxes"]:
        assert _printed(page, box) == caption["text"][start:end]
    assert "".join(caption["text"][s:e] for s, e, *_ in caption["boxes"]) == caption["text"].replace(" ", "")


LETTERS = "abcdefghijklmnopqrstuvwxyz"
word = st.text(
    alphabet=st.sampled_from([*LETTERS, *LETTERS.upper(), "\ufb01", "\ufb02", "\ufb00", "0", "7"]),
    min_size=1,
    max_size=9,
)


@needs_dejavu
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(st.lists(word, min_size=1, max_size=6), min_size=1, max_size=4),
    soft=st.lists(st.booleans(), min_size=4, max_size=4),
    size=st.sampled_from([5.0, 6.5, 8.0, 11.0]),
    gap=st.floats(min_value=0.22, max_value=0.8),
)
def test_every_cleaned_character_maps_to_its_printed_character(lines, soft, size, gap):
    """Random captions (ligatures, soft hyphens at line ends, any type size and word gap): the text
    is the words with single spaces, and every character of it maps back to the printed character
    it came from, in order; only the spaces between words have no box."""
    lines = [list(line) for line in lines]
    lines[0] = ["Figure", "1.", *lines[0]]
    expected = ""
    for k, line in enumerate(lines):
        broken = k < len(lines) - 1 and soft[k]
        if broken:
            line[-1] += "\u00ad"
        joined = " ".join(line)
        expected += joined[:-1] if broken else joined + (" " if k < len(lines) - 1 else "")
    expected = "".join(clean_char(ch) for ch in expected)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.pdf"
        pdf = _doc("dejavu")
        pdf.set_font("dejavu", size=size)
        for k, line in enumerate(lines):
            _words(pdf, 40, 100 + 1.2 * size * k, " ".join(line), gap * size)
        pdf.output(str(path))
        import pdfplumber

        chars = pdfplumber.open(path).pages[0].chars
        text, boxes = _caption(path)
    assert text == expected
    assert len(boxes) == len(text)
    source = {(c["x0"], c["top"], c["x1"], c["bottom"]): (k, c["text"]) for k, c in enumerate(chars)}
    order = []
    for ch, box in zip(text, boxes):
        if box is None:
            assert ch == " "
            continue
        k, printed = source[box]
        assert ch in clean_char(printed)
        order.append(k)
    assert order == sorted(order)
    hyphens = sum(c["text"] == "\u00ad" for c in chars)
    assert len(set(order)) == len(chars) - hyphens  # every printed glyph but the line-break hyphens is in the text


def _tight_paper(path: Path, label: int) -> None:
    pdf = _doc()
    pdf.set_font("helvetica", size=6.5)
    _words(pdf, 60, 200, f"Figure {label}. Sagittal views of three older patients with widespread changes.", 0.22 * 6.5)
    pdf.output(str(path))


def test_bench_text_quality_command(tmp_path):
    """`ctlabel bench pdf --text-quality`: captions found, glued share (pdfplumber's own words
    glue them, ours do not), pages/s, and the caption starts of an answer key."""
    papers = tmp_path / "papers"
    papers.mkdir()
    for k in (1, 2):
        _tight_paper(papers / f"p{k}.pdf", k)
    key = [
        {"pdf": "p1.pdf", "page": 1, "caption_start": "Figure 1. Sagittal views of three older"},
        {"pdf": "p2.pdf", "page": 1, "caption_start": "Figure 2. Sagittal views"},
    ]
    (tmp_path / "gold.json").write_text(json.dumps(key))
    ours = runner.invoke(
        app, ["bench", "pdf", "--text-quality", str(papers), "--gold", str(tmp_path / "gold.json"), "--json"]
    )
    assert ours.exit_code == 0, ours.output
    result = json.loads(ours.stdout)
    assert (result["captions"], result["glued"], result["pages"]) == (2, 0, 2) and result["pages_per_s"] > 0
    assert result["gold"] == {"captions": 2, "found": 2, "spaced_as_key": 2, "misspaced": [], "missing": []}
    theirs = json.loads(
        runner.invoke(app, ["bench", "pdf", "--text-quality", str(papers), "--pdfplumber-words", "--json"]).stdout
    )
    assert theirs["captions"] == 2 and theirs["glued"] == 2  # the fixed 3-point gap glues 1.4-point word gaps
    human = runner.invoke(app, ["bench", "pdf", "--text-quality", str(papers)])
    printed = " ".join(human.output.split())
    assert human.exit_code == 0 and "2 captions, 0 (0.0 %) with a run of 20+ characters" in printed


def test_bench_text_quality_bad_inputs(tmp_path):
    _tight_paper(tmp_path / "p.pdf", 1)
    (tmp_path / "gold.json").write_text('[{"pdf": "p.pdf"}]')
    result = runner.invoke(
        app, ["bench", "pdf", "--text-quality", str(tmp_path / "p.pdf"), "--gold", str(tmp_path / "gold.json")]
    )
    assert result.exit_code == 2 and "gold.json" in result.output and "caption_start" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(app, ["bench", "pdf", "--text-quality"])
    assert result.exit_code == 2 and "--text-quality needs PDFs" in result.output
