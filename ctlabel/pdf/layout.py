"""Page text as lines in reading order; running headers and footers; figure captions.

pdfplumber's own text lines run across both columns of a two-column page, so lines are rebuilt
from words: words on one baseline, split where the horizontal gap is wider than a column gutter.
"""

from __future__ import annotations

import itertools
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field

from ctlabel.pdf.words import SOFT_HYPHEN, Box, Vocabulary, join_lines

CAPTION_START = re.compile(  # "Figure 2.", "Fig. S3:", "FiGure 1." (small caps), "Extended Data Fig. 3 |", "Fig. A.5."
    r"^(?:(Supplementary|Supplemental|Extended\s+Data)\s+)?F\s?ig(?:ure)?\.?\s*"
    r"((?:S|[A-Z]\.)?\d+[A-Za-z]?|Supplementary(?=[.:]))(?=[\s.:|\-–—)]|$)\s*([.:|\-–—)])?",
    re.IGNORECASE,
)
GUTTER = 12.0  # points: a wider gap between words on one baseline splits two columns
MARGIN = 0.07  # share of the page height where running headers and footers live


@dataclass
class Line:
    """A line of text on a page: its text, box and type size, column and band, and the box of each character."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    column: int = 0  # 0 full width, 1 left, 2 right
    band: int = 0  # index of the full-width line above (bands are read one after another)
    boxes: list[Box | None] = field(default_factory=list, repr=False)  # per character of text; None between words
    vocabulary: Vocabulary | None = field(default=None, repr=False, compare=False)  # the document's words

    @property
    def height(self) -> float:
        return self.bottom - self.top


@dataclass
class Caption:
    """A figure caption: its label (as ``caption_label`` writes it), page number and lines."""

    label: str
    page: int
    lines: list[Line] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The caption's lines joined, words broken by a line-break hyphen made whole."""
        return join_lines(self.lines, self.first.vocabulary)[0]

    def char_boxes(self) -> list[Box | None]:
        """The page box of each character of ``text`` (None for a space put between words)."""
        return join_lines(self.lines, self.first.vocabulary)[1]

    def word_boxes(self) -> list[list[float]]:
        """``[start, end, x0, top, x1, bottom]`` for each printed piece of a word: ``text[start:end]``
        and its box on the page (a word broken over two lines has two pieces)."""
        return printed_runs(self.char_boxes())

    @property
    def first(self) -> Line:
        return self.lines[0]


def page_lines(words: list[dict], width: float, vocabulary: Vocabulary | None = None) -> list[Line]:
    """Lines from words (``ctlabel.pdf.words``), with their column and band, sorted in reading
    order; the lines' words are added to the document's ``vocabulary`` (which captions use to join
    words broken over two lines)."""
    rows: list[list[dict]] = []
    for word in sorted(words, key=lambda w: (round(w["top"]), w["x0"])):
        if rows and abs(rows[-1][0]["top"] - word["top"]) < 2.5:
            rows[-1].append(word)
        else:
            rows.append([word])
    lines = []
    for row in rows:
        row.sort(key=lambda w: w["x0"])
        gaps = [b["x0"] - a["x1"] for a, b in itertools.pairwise(row)]
        usual = statistics.median(gaps) if len(gaps) >= 4 else float("inf")
        segment = [row[0]]
        for word, gap in zip(row[1:], gaps):
            if _gutter(segment[-1], word, gap, usual):
                lines.append(_line(segment))
                segment = []
            segment.append(word)
        lines.append(_line(segment))
    mid = width / 2
    for line in lines:
        line.column = 1 if line.x1 <= mid + 6 else (2 if line.x0 >= mid - 6 else 0)
    band = 0
    for line in sorted(lines, key=lambda ln: ln.top):
        if line.column == 0:
            band += 1
        line.band = band
    lines.sort(key=lambda ln: (ln.band, ln.column, ln.top, ln.x0))
    if vocabulary is not None:
        vocabulary.add(line.text for line in lines)
        for line in lines:
            line.vocabulary = vocabulary
    return lines


def _gutter(left: dict, right: dict, gap: float, usual: float) -> bool:
    """Is the gap between two words on one baseline a gutter between columns? Wider than GUTTER;
    or wider than the type size and than three of the row's usual word gaps, or than the type
    size between two sizes of type (a narrow gutter between columns set differently)."""
    if gap > GUTTER:
        return True
    sizes = (float(left.get("size") or 0), float(right.get("size") or 0))
    em = min(sizes) or 10.0
    return gap > em and (gap > 3 * usual or abs(sizes[0] - sizes[1]) > 0.1 * em)


def _line(words: list[dict]) -> Line:
    """Words joined by single spaces; a soft hyphen is kept only at the end of the line."""
    texts: list[str] = []
    boxes: list[Box | None] = []
    for k, word in enumerate(words):
        text, pieces = word["text"], word.get("boxes") or [None] * len(word["text"])
        if text.endswith(SOFT_HYPHEN) and k < len(words) - 1 and len(text) > 1:
            text, pieces = text[:-1], pieces[:-1]
        if texts:
            boxes.append(None)
        texts.append(text)
        boxes.extend(pieces)
    return Line(
        " ".join(texts),
        min(w["x0"] for w in words),
        max(w["x1"] for w in words),
        min(w["top"] for w in words),
        max(w["bottom"] for w in words),
        max(float(w.get("size") or 0) for w in words),
        boxes=boxes,
    )


def printed_runs(boxes: list[Box | None]) -> list[list[float]]:
    """Runs of characters printed side by side on one line (no space between, no jump back to the
    left or to another line) as ``[start, end, x0, top, x1, bottom]``."""
    runs: list[list[float]] = []
    prev: Box | None = None
    for k, box in enumerate(boxes):
        if box is None:
            prev = None
            continue
        same_line = prev is not None and box[0] >= prev[0] - 0.5 and abs(box[1] - prev[1]) < 0.5 * (prev[3] - prev[1])
        if same_line:
            run = runs[-1]
            run[1] = k + 1
            run[2:] = [min(run[2], box[0]), min(run[3], box[1]), max(run[4], box[2]), max(run[5], box[3])]
        else:
            runs.append([k, k + 1, *box])
        prev = box
    return [[int(r[0]), int(r[1]), *(round(v, 2) for v in r[2:])] for r in runs]


def _signature(text: str) -> str:
    return re.sub(r"\d+", "#", text.strip().lower())


def running_lines(pages: list[list[Line]], heights: list[float]) -> set[str]:
    """Signatures of header/footer lines: in the page margins on at least half of the pages (two
    pages at least); :func:`is_running` also catches the preprint servers' stamp."""
    counts: Counter = Counter()
    for lines, height in zip(pages, heights):
        counts.update(
            {_signature(ln.text) for ln in lines if ln.top < height * MARGIN or ln.bottom > height * (1 - MARGIN)}
        )
    need = max(2, (len(pages) + 1) // 2)
    return {sig for sig, n in counts.items() if n >= need}


def is_running(line: Line, height: float, running: set[str]) -> bool:
    """Whether ``line`` is a running header or footer (a ``running`` signature in the margin) or a preprint stamp."""
    in_margin = line.top < height * MARGIN or line.bottom > height * (1 - MARGIN)
    stamp = re.search(
        r"(medrxiv|biorxiv) preprint|the copyright holder for this preprint|all rights reserved", line.text, re.I
    )
    return bool(stamp) or (in_margin and _signature(line.text) in running)


def caption_label(match: re.Match) -> str:
    """The label as the key writes it: "3", "A.5", "S2" for Supplementary Figure 2 (or "Figure
    Supplementary."), "ED3" for Extended Data Fig. 3."""
    prefix, label = (match.group(1) or "").lower(), match.group(2)
    if label.lower() == "supplementary":
        return "S"
    if prefix.startswith("extended"):
        return "ED" + label
    if prefix and not label.upper().startswith("S"):
        return "S" + label
    return label[0].upper() + label[1:] if label[0] in "sS" else label


def find_captions(lines: list[Line], page: int, near_figure) -> list[Caption]:
    """Captions that start on this page, each with its continuation lines (also into the next column).

    A line starting "Figure 2." (or ":", "|", "-") starts a caption; so does "Figure 2 …" without
    punctuation when it sits right under a figure region (``near_figure(line)``) and no lower-case
    word follows. Running text that cites a figure mid-line, or starts "Figure 2 shows", is not a caption.
    A caption goes on with the line right below that starts where it starts, until a gap, a new
    caption, or the bottom of its column (then at the top of the next column, mid-sentence only).
    """
    captions: list[Caption] = []
    used: set[int] = set()
    for line in lines:
        match = CAPTION_START.match(line.text)
        if (
            id(line) in used
            or not match
            or not (match.group(3) or (near_figure(line) and not _cites(line.text, match)))
        ):
            continue
        caption = Caption(caption_label(match), page, [line])
        used.add(id(line))
        rest = _label_alone_rest(line, match, lines, used)
        if rest is not None:  # "Figure 4:" set apart from its text by a justified gap
            caption.lines.append(rest)
            used.add(id(rest))
        while True:
            prev = caption.lines[-1]
            nxt = _line_below(prev, lines, used)
            if nxt is None:
                nxt = _next_column_top(caption, prev, lines, used)
            if nxt is None or CAPTION_START.match(nxt.text):
                break
            caption.lines.append(nxt)
            used.add(id(nxt))
        captions.append(caption)
    return captions


def _cites(text: str, match: re.Match) -> bool:
    """ "Figure 3 presents …": an unpunctuated label followed by a lower-case word is running text."""
    return bool(re.match(r"\s*[a-z]", text[match.end() :]))


def _label_alone_rest(line: Line, match: re.Match, lines: list[Line], used: set[int]) -> Line | None:
    """The text right of a line that holds only a caption label, on the same baseline, close by."""
    if match.end() < len(line.text.rstrip()):
        return None
    right = [
        ln for ln in lines if id(ln) not in used and abs(ln.top - line.top) < 2 and 0 < ln.x0 - line.x1 <= 3 * GUTTER
    ]
    return min(right, key=lambda ln: ln.x0, default=None)


def _line_below(prev: Line, lines: list[Line], used: set[int]) -> Line | None:
    """The unused line right under ``prev`` that starts where it starts (same column or aligned)."""
    below = [
        ln
        for ln in lines
        if id(ln) not in used
        and 0 <= ln.top - prev.bottom <= max(prev.height, 6) * 0.9
        and (abs(ln.x0 - prev.x0) < 8 or (ln.column == prev.column and ln.column and ln.x0 < prev.x1))
    ]
    return min(below, key=lambda ln: ln.top, default=None)


def _next_column_top(caption: Caption, prev: Line, lines: list[Line], used: set[int]) -> Line | None:
    """A caption cut mid-sentence at the bottom of the left column goes on atop the right one."""
    if prev.column != 1 or caption.text.rstrip().endswith((".", ":")):
        return None
    if any(ln.column == 1 and ln.band == prev.band and ln.top > prev.bottom for ln in lines):
        return None  # not at the bottom of its column
    right = [ln for ln in lines if ln.column == 2 and ln.band == prev.band]
    top = min(right, key=lambda ln: ln.top, default=None)
    return top if top is not None and id(top) not in used else None
