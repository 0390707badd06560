"""Words from a page's characters, and lines joined into clean text that maps back to the page.

pdfplumber's ``extract_words`` splits words where the gap between two characters exceeds a fixed
``x_tolerance`` (3 points). Papers set in small type with tight spacing then lose their spaces
(``Axialchestimagesofthreepatients``), and letter-spaced text falls apart. Here a gap separates
two words when it exceeds the line's usual gap between letters (its median) by a share of the
font size, so the rule holds at any type size, for justified, kerned, tracked and bold text.

Every character of a word's text keeps the box of the printed character it came from
(``boxes``), through ligature expansion (``ﬁ`` → ``fi``: both letters keep the ligature's box)
and dropped soft hyphens and zero-width characters; the spaces put between words have no box.
"""

from __future__ import annotations

import itertools
import re
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

Box = tuple[float, float, float, float]  # x0, top, x1, bottom in page points

WORD_GAP = 0.1  # em: a gap this much wider than the line's usual letter gap starts a new word
MAX_LETTER_GAP = 0.2  # em: a line whose usual gap is wider has no letter gaps to learn from
LINE_TOLERANCE = 3.0  # points: characters whose tops are this close are on one line (as pdfplumber)
SPACES = frozenset(
    " \t\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
)
INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff")
SOFT_HYPHEN = "\u00ad"
REPLACE = {
    "\ufb00": "ff",
    "\ufb01": "fi",
    "\ufb02": "fl",
    "\ufb03": "ffi",
    "\ufb04": "ffl",
    "\ufb05": "st",
    "\ufb06": "st",
    "\u2010": "-",
    "\u2011": "-",  # Unicode hyphens are hyphens
}
BREAKS = ("-", SOFT_HYPHEN, "\u2013", "/")  # a line ending in one of these goes on without a space
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
_LAST_LETTERS = re.compile(r"[^\W\d_]*$")
_FIRST_LETTERS = re.compile(r"[^\W\d_]*")


def page_words(page: Any) -> list[dict[str, Any]]:
    """The words of a pdfplumber page: upright text by the gap rule; rotated text (margin stamps,
    vertical axis labels) as pdfplumber groups it."""
    upright = [c for c in page.chars if c.get("upright", True)]
    rotated = [c for c in page.chars if not c.get("upright", True)]
    words = build_words(upright)
    if rotated:
        from pdfplumber.utils.text import WordExtractor

        extractor = WordExtractor(extra_attrs=["size"])
        words += [w for _, chars in extractor.iter_extract_tuples(rotated) if (w := _word(chars))]
    return words


def build_words(chars: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Upright characters → words (dicts with ``text``, ``x0``, ``x1``, ``top``, ``bottom``,
    ``size`` and ``boxes``, one box per character of ``text``), line by line, left to right."""
    words: list[dict[str, Any]] = []
    for row in _rows(chars):
        current: list[dict[str, Any]] = []
        for char, new_word in zip(row, _starts(row)):
            if new_word and current:
                if word := _word(current):
                    words.append(word)
                current = []
            if char["text"] not in SPACES:
                current.append(char)
        if current and (word := _word(current)):
            words.append(word)
    return words


def _rows(chars: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Characters grouped into lines (tops within LINE_TOLERANCE, chained), each sorted left to
    right, with overprinted copies (fake bold) dropped."""
    rows: list[list[dict[str, Any]]] = []
    last_top = None
    for char in sorted(chars, key=lambda c: c["top"]):
        if not char["text"]:
            continue
        if last_top is None or char["top"] - last_top > LINE_TOLERANCE:
            rows.append([])
        rows[-1].append(char)
        last_top = char["top"]
    out = []
    for row in rows:
        row.sort(key=lambda c: c["x0"])
        kept = [row[0]]
        for char in row[1:]:
            prev = kept[-1]
            width = max(prev["x1"] - prev["x0"], 0.1)
            if (
                char["text"] == prev["text"]
                and abs(char["x0"] - prev["x0"]) < 0.3 * width
                and abs(char["top"] - prev["top"]) < 1
            ):
                continue
            kept.append(char)
        out.append(kept)
    return out


def _em(a: dict[str, Any], b: dict[str, Any]) -> float:
    size = max(a.get("size") or 0.0, b.get("size") or 0.0)
    return size if size > 0 else max(a["bottom"] - a["top"], b["bottom"] - b["top"], 1.0)


def _starts(row: list[dict[str, Any]]) -> list[bool]:
    """For each character of a sorted line: does a new word start at it (or is it a space)?"""
    gaps: list[float | None] = [None]
    for a, b in itertools.pairwise(row):
        gaps.append(None if a["text"] in SPACES or b["text"] in SPACES else (b["x0"] - a["x1"]) / _em(a, b))
    letter_gaps = [g for g in gaps if g is not None]
    usual = statistics.median(letter_gaps) if len(letter_gaps) >= 4 else 0.0
    if not -MAX_LETTER_GAP <= usual <= MAX_LETTER_GAP:
        usual = 0.0
    return [char["text"] in SPACES or (g is not None and g > usual + WORD_GAP) for char, g in zip(row, gaps)]


def clean_char(text: str) -> str:
    """A printed character's text as words use it: ligatures spelled out, Unicode hyphens as
    ``-``, zero-width characters dropped (soft hyphens are handled by the word builder)."""
    if text in INVISIBLE:
        return ""
    return REPLACE.get(text, text)


def _word(chars: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """A word from its characters; a soft hyphen survives only at the end (a line-break hyphen)."""
    text: list[str] = []
    boxes: list[Box] = []
    last = len(chars) - 1
    for k, char in enumerate(chars):
        if char["text"] == SOFT_HYPHEN and k != last:
            continue
        piece = clean_char(char["text"])
        box = (char["x0"], char["top"], char["x1"], char["bottom"])
        text.extend(piece)
        boxes.extend([box] * len(piece))
    if not text:
        return None
    x0s, tops, x1s, bottoms = zip(*boxes)
    return {
        "text": "".join(text),
        "boxes": boxes,
        "x0": min(x0s),
        "x1": max(x1s),
        "top": min(tops),
        "bottom": max(bottoms),
        "size": max(float(c.get("size") or 0.0) for c in chars),
        "upright": bool(chars[0].get("upright", True)),
    }


class Vocabulary:
    """Words a document prints (lower case), to tell a line-break hyphen (``consoli-`` +
    ``dation``) from a compound broken at its hyphen (``ground-`` + ``glass``)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def add(self, line_texts: Iterable[str]) -> None:
        """Count the words of lines in reading order, leaving out the pieces of words broken over
        two lines: a last word ending in a hyphen, and the first word of the line after it."""
        broken = False
        for text in line_texts:
            tokens = text.split()
            first = 1 if broken else 0
            broken = bool(tokens) and tokens[-1].endswith(BREAKS)
            for token in tokens[first : len(tokens) - broken]:
                for word in _WORD.findall(token.lower()):
                    self.counts[word] += 1
                    if "-" in word:
                        parts = word.split("-")
                        self.counts.update(parts)
                        if len(parts) > 2:
                            self.counts.update(f"{a}-{b}" for a, b in itertools.pairwise(parts))

    def keeps_hyphen(self, before: str, after: str) -> bool:
        """Is ``before-`` + ``after`` (letters around a hyphen at a line end) a hyphenated word?
        Yes unless both sides are lower-case letters; then the document decides: the spelling it
        prints more often; unseen both ways, a compound when both halves are words it prints
        (the first of three letters or more: hyphenation leaves ``in-``, ``re-``), else a word
        broken by hyphenation."""
        if not (before[-1:].isalpha() and before[-1:].islower() and after[:1].isalpha() and after[:1].islower()):
            return True
        before, after = before.lower(), after.lower()
        joined, hyphenated = self.counts[before + after], self.counts[f"{before}-{after}"]
        if joined != hyphenated:
            return hyphenated > joined
        return len(before) >= 3 and self.counts[before] > 0 and self.counts[after] > 0


def join_lines(lines: Sequence[Any], vocabulary: Vocabulary | None = None) -> tuple[str, list[Box | None]]:
    """Lines (with ``text`` and ``boxes``) → one text and its boxes. A line that ends in a word
    and a hyphen joins the next one without a space: the hyphen dropped where it breaks a word
    (always for a soft hyphen), kept where the word is hyphenated (``Vocabulary.keeps_hyphen``);
    after an en dash or a slash the next line follows without a space too (``2019–2020``, URLs)."""
    vocabulary = vocabulary or Vocabulary()
    text = ""
    boxes: list[Box | None] = []
    for line in lines:
        line_text, line_boxes = line.text, list(line.boxes) or [None] * len(line.text)
        if not text:
            text, boxes = line_text, line_boxes
        elif text.endswith(BREAKS) and len(text) > 1 and not text[-2].isspace():
            if _breaks_word(text, line_text, vocabulary):
                text, boxes = text[:-1], boxes[:-1]
            text, boxes = text + line_text, boxes + line_boxes
        else:
            text, boxes = f"{text} {line_text}", [*boxes, None, *line_boxes]
    if text.endswith(SOFT_HYPHEN):
        text = text[:-1] + "-"
    return text, boxes


def _breaks_word(text: str, next_text: str, vocabulary: Vocabulary) -> bool:
    """Does the hyphen that ends ``text`` break a word that ``next_text`` goes on with?"""
    if text[-1] != "-":
        return text[-1] == SOFT_HYPHEN
    before = _LAST_LETTERS.search(text[:-1])
    after = _FIRST_LETTERS.match(next_text)
    return not vocabulary.keeps_hyphen(before.group(0) if before else "", after.group(0) if after else "")
