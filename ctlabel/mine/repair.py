"""Repair text damaged by PDF extraction before it is mined, with a map back to the original.

Captions reach the miner through PDF extractors (ours and other tools'), and arrive damaged in a
few general ways: words glued together (``noconsolidationinbothlungs``, ``Figure1.Chest``), a
line-break hyphen left with a space (``ground- glass``, ``consoli-\\ndation``), Unicode variants
(``‐ – —`` for ``-``, NBSP and thin spaces, soft hyphens, ligatures, curly quotes), mojibake
(``â€“``, ``Ã©``, ``�C``) and stray control characters. :class:`TextRepairer` undoes them and
returns a :class:`Repaired` text whose every character knows the span of the original it came
from, so evidence found in the repaired text points at the original exactly.

Each repair runs only where a cheap trigger sees its damage, so clean text costs one pass of
a few regular expressions. Glued words are cut with a word-frequency model (the English
dictionary that ships with ``symspellpy``, plus the lexicon's own words): the split with the
most probable words wins, and a run is left alone when it is a word or no split beats it.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources

Edit = tuple[int, int, str]  # replace text[start:end] with the string

# --- single characters ----------------------------------------------------------------------
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\ufe58\ufe63\uff0d"
_SPACES = "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
_INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
_QUOTES = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u2032": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u201f": '"',
    "\u2033": '"',
    "\u00b4": "'",
}
_CONTROLS = "".join(map(chr, [*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0)]))


def _char_table() -> dict[str, str]:
    table = {c: "-" for c in _DASHES} | {c: " " for c in _SPACES} | _QUOTES
    table |= {c: "" for c in _INVISIBLE + _CONTROLS}
    table |= {chr(c): unicodedata.normalize("NFKC", chr(c)) for c in range(0xFB00, 0xFB07)}  # ligatures
    table |= {chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)}  # full-width ASCII
    return table


_CHARS = _char_table()
_CHAR_RE = re.compile("[" + re.escape("".join(_CHARS)) + "]")
_SUSPECT_ASCII = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# --- mojibake: UTF-8 bytes read as cp1252/latin-1 ("â€“" for "–"), a GBK dash read as UTF-8 ("�C")
_MOJIBAKE_LEAD = re.compile("[\u00c2-\u00f4]")
_GBK_DASH = re.compile("\ufffd(?:C|\ufffd)")  # GBK en dash A8 43 / em dash A1 AA, read as UTF-8
_REPLACEMENT = re.compile("\ufffd+")


def _byte(ch: str) -> int | None:
    try:
        return ch.encode("cp1252")[0]
    except UnicodeEncodeError:
        return ord(ch) if ord(ch) < 256 else None


def _mojibake_edits(text: str) -> list[Edit]:
    edits: list[Edit] = []
    pos = 0
    for lead in _MOJIBAKE_LEAD.finditer(text):
        i = lead.start()
        if i < pos:
            continue
        first = _byte(text[i])
        assert first is not None
        n = 2 if first < 0xE0 else 3 if first < 0xF0 else 4
        raw = [_byte(c) for c in text[i : i + n]]
        if len(raw) < n or None in raw or not all(0x80 <= b <= 0xBF for b in raw[1:]):  # type: ignore[operator]
            continue
        try:
            fixed = bytes(raw).decode("utf-8")  # type: ignore[arg-type]
        except UnicodeDecodeError:
            continue
        edits.append((i, i + n, _CHARS.get(fixed, fixed)))
        pos = i + n
    for dash in _GBK_DASH.finditer(text):
        edits.append((dash.start(), dash.end(), "-"))
    taken = {i for start, end, _ in edits for i in range(start, end)}
    for junk in _REPLACEMENT.finditer(text):
        if junk.start() not in taken:
            edits.append((junk.start(), junk.end(), " "))
    return sorted(edits)


# --- whitespace and hyphens ---------------------------------------------------------------------
_ODD_SPACE = re.compile(r"[\t\n\r\f\v]|  ")
_SPACE_RUN = re.compile(r"\s{2,}|[\t\n\r\f\v]")
_LINE_HYPHEN = re.compile(r"([A-Za-z]+)-[ \t]*\r?\n\s*([a-z]+)")
_HYPHEN_GAP = re.compile(
    r"(?<=[A-Za-z0-9]-)\s+(?!(?:and|or|nor|to|&)\b)(?=[A-Za-z0-9])|(?<=[A-Za-z0-9])\s+(?=-[A-Za-z0-9])"
)

# --- glued words ----------------------------------------------------------------------------------
# Signs of glued text: case or digit changes inside a word, punctuation without a space, a
# glued panel pair, or (checked against the word model) a run of letters too long to be a word.
# Looked for in the text's character classes (a lower, A upper, 0 digit): plain substring tests.
_CLASSES = str.maketrans(
    {c: ("a" if c.islower() else "A" if c.isupper() else "0" if c.isdigit() else " ") for c in map(chr, range(128))}
    | {".": ".", ";": ".", ":": ".", "(": "(", ")": ")"}
)
_CASE_SIGNS = (
    "aaAA",
    "aaaAaa",
    "AAaaa",
    "AAAaa",
    "aa0",
    "0AA",
    *("0" + a + b + c for a in "aA" for b in "aA" for c in "aA"),
)
_PUNCT_GAP = re.compile(r"[aA0)]\.[aA(][aA]")  # "Figure1.Chest", "day 5;CT"


def _glue_signs(text: str) -> bool:
    classes = text.translate(_CLASSES)
    if any(sign in classes for sign in _CASE_SIGNS):
        return True
    if "." in classes and _PUNCT_GAP.search(classes):
        return True
    return "(" in text and _PANEL_PAIR.search(text) is not None


# Where a space is missing: each pattern ends at the gap; it starts with a rare character, or runs
# only when the text's character classes hold its sign (a pattern that starts with any letter would
# try every letter of a long note).
_GLUE_POINTS = tuple(
    (sign, re.compile(p))
    for sign, p in (
        ("", r"(?<=[A-Za-z0-9)])[.;:](?=[A-Za-z(][A-Za-z])"),  # "Figure1.Chest", "day 5;CT"
        ("", r"[,)](?=[A-Za-z])"),  # "onset,and", "(A)Case"
        ("", r"(?<=[A-Za-z])(?=\()"),  # "lung(A)"
        ("", r"\d(?=[A-Za-z]{3}|[A-Z]{2})"),  # "19pneumonia", "19RT-PCR"
        ("aa0", r"[a-z][a-z](?=\d)"),  # "with2019"
        ("aaAA", r"[a-z][a-z](?=[A-Z]{2})"),  # "noGGO"
        ("aaaAaa", r"[a-z]{3}(?=[A-Z][a-z]{2})"),  # "lungsChest"
        ("AAaaa", r"[A-Z][A-Z](?=[a-z]{3})"),  # "CTimages"
        ("AAAaa", r"[A-Z]{3}(?=[a-z]{2})"),  # "GGOin"
    )
)


def _glue_points(text: str) -> set[int]:
    """Offsets in ``text`` where a space is missing."""
    classes = text.translate(_CLASSES)
    return {m.end() for sign, pattern in _GLUE_POINTS if sign in classes for m in pattern.finditer(text)}


_LETTER_RUN = re.compile(r"[A-Za-z]{4,}")
_PANEL_PAIR = re.compile(r"\([A-La-l](and|or|to)[A-La-l]\)")  # "(candd)" → "(c and d)"
_MAX_WORD = 24
_MAX_UNKNOWN = 12
_GLUED_RUN = 16
_LONG_RUN = re.compile(r"[A-Za-z]{12,}")  # longer than most words: checked against the word model
_UNKNOWN_PER_CHAR = math.log(10)
_PIECE_COST = math.log(3000)
_PLURAL_COST = math.log(4)
_PANEL_LETTER_COST = 12.0  # as a word of moderate frequency
_SINGLE_LETTERS = {"a", "i"}


@dataclass(frozen=True, slots=True)
class Repaired:
    """A repaired text; ``lo[i]:hi[i]`` is the span of the original that character ``i`` came from."""

    text: str
    lo: list[int]
    hi: list[int]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of the repaired span ``start:end``."""
        return self.lo[start], self.hi[end - 1]

    @classmethod
    def identity(cls, text: str) -> Repaired:
        return cls(text, list(range(len(text))), list(range(1, len(text) + 1)))

    def edited(self, edits: list[Edit]) -> Repaired:
        """Apply sorted, non-overlapping edits; new characters map to the span they replace."""
        if not edits:
            return self
        parts, lo, hi, pos = [], [], [], 0
        for start, end, new in edits:
            parts.append(self.text[pos:start])
            lo += self.lo[pos:start]
            hi += self.hi[pos:start]
            if new:
                if end > start:
                    a, b = self.lo[start], self.hi[end - 1]
                else:  # an insertion: a zero-width point of the original
                    a = b = self.lo[start] if start < len(self.text) else (self.hi[-1] if self.hi else 0)
                parts.append(new)
                lo += [a] * len(new)
                hi += [b] * len(new)
            pos = end
        parts.append(self.text[pos:])
        lo += self.lo[pos:]
        hi += self.hi[pos:]
        return Repaired("".join(parts), lo, hi)


_CUTS_KEPT = 1 << 16  # runs whose cuts are remembered


@cache
def _dictionary_counts() -> dict[str, float]:
    """Word counts of the English frequency dictionary shipped with symspellpy (83k words)."""
    text = (resources.files("symspellpy") / "frequency_dictionary_en_82_765.txt").read_text(encoding="utf-8")
    return {word: float(count) for word, count in (line.split(" ", 1) for line in text.splitlines() if line)}


class WordModel:
    """Unigram costs (-log p) of English words, for cutting glued text into words."""

    def __init__(self, extra_words: Iterable[str] = ()):
        counts = dict(_dictionary_counts())
        common = sorted(counts.values())[-2000]
        for word in extra_words:  # the lexicon's words count as common words
            counts[word] = max(counts.get(word, 0.0), common)
        total = sum(counts.values())
        self.cost = {w: math.log(total / c) for w, c in counts.items() if (len(w) > 1 or w in _SINGLE_LETTERS)}
        self.unknown = math.log(total)  # per character of a piece that is no word
        self._cuts: dict[str, list[int]] = {}  # split's answers: a corpus repeats its rare words

    def word_cost(self, word: str) -> float | None:
        """-log p of a lower-case word; a plural the dictionary lacks ("opacities") costs its
        singular's plus log 4; None for no word."""
        cost = self.cost.get(word)
        if cost is None and len(word) > 4 and word[-1] == "s":
            singular = word[:-3] + "y" if word.endswith("ies") else word[:-1]
            cost = self.cost.get(singular)
            if cost is not None:
                cost += _PLURAL_COST
        return cost

    def __contains__(self, word: str) -> bool:
        lower = word.lower()
        return lower in self.cost or self.word_cost(lower) is not None

    def split(self, run: str) -> list[int]:
        """Cut points inside ``run`` for its most probable words; [] when the run is best whole.

        Each piece costs -log p plus a price per piece, so that a rare word is not cut into common
        ones ("lymphopenia" is no "lymph open i a"); a piece that is no word pays per character (as in
        Norvig's segmenter) and is 3 to ``_MAX_UNKNOWN`` letters long; a capital letter opening the
        run may stand alone as a panel letter ("Bshowed" → "B showed").
        """
        cuts = self._cuts.get(run)
        if cuts is None:
            if len(self._cuts) >= _CUTS_KEPT:
                self._cuts.clear()
            cuts = self._cuts[run] = self._split(run)
        return cuts

    def _split(self, run: str) -> list[int]:
        s = run.lower()
        n = len(s)
        best = [0.0] + [math.inf] * n
        back = [0] * (n + 1)
        known = self.cost.get
        unknown = [math.inf] * 3 + [self.unknown + _UNKNOWN_PER_CHAR * k for k in range(3, _MAX_UNKNOWN + 1)]
        for end in range(1, n + 1):
            best_end, back_end = math.inf, 0
            for start in range(max(0, end - _MAX_WORD), end):
                before = best[start]
                if before == math.inf:
                    continue
                piece = s[start:end]
                cost = known(piece)
                if cost is None:
                    cost = self.word_cost(piece) if piece[-1] == "s" else None
                    if cost is None:
                        length = end - start
                        cost = unknown[length] if length <= _MAX_UNKNOWN else math.inf  # "o pacification"
                        if start == 0 and length == 1 and run[0].isupper():
                            cost = _PANEL_LETTER_COST
                cost += before
                if cost < best_end:
                    best_end, back_end = cost, start
            best[end], back[end] = best_end + _PIECE_COST, back_end
        whole = self.word_cost(s)
        if whole is None:
            whole = unknown[n] if n <= _MAX_UNKNOWN else math.inf
        if best[n] >= whole + _PIECE_COST:
            return []
        cuts, end = [], n
        while end > 0:
            end = back[end]
            if end:
                cuts.append(end)
        return sorted(cuts)


class TextRepairer:
    """Repair damaged text for mining; ``words`` (the lexicon's) join the word model."""

    def __init__(self, words: Iterable[str] = ()):
        self._extra = frozenset(w.lower() for w in words if w.isalpha())

    @cached_property
    def words(self) -> WordModel:
        """Loaded on first need (about 0.2 s): clean text never needs it."""
        return WordModel(self._extra)

    def __call__(self, text: str) -> Repaired | None:
        """The repaired text, or None when ``text`` shows no damage (the common, fast case)."""
        rep: Repaired | None = None  # built on the first edit: clean text never pays for the map
        now = text  # the text as repaired so far

        def apply(edits: list[Edit]) -> None:
            nonlocal rep, now
            if edits:
                rep = (rep or Repaired.identity(text)).edited(edits)
                now = rep.text

        if not text.isascii() or _SUSPECT_ASCII.search(text):
            apply(_mojibake_edits(now))
            apply([(m.start(), m.end(), _CHARS[m.group()]) for m in _CHAR_RE.finditer(now)])
        if _ODD_SPACE.search(now):
            apply(self._line_hyphens(now))
            apply([(m.start(), m.end(), " ") for m in _SPACE_RUN.finditer(now)])
        if "- " in now or " -" in now:
            apply([(m.start(), m.end(), "") for m in _HYPHEN_GAP.finditer(now)])
        if _glue_signs(now) or any(run.group() not in self.words for run in _LONG_RUN.finditer(now)):
            points = _glue_points(now)
            points |= {p for m in _PANEL_PAIR.finditer(now) for p in m.span(1)}
            apply([(p, p, " ") for p in sorted(points)])
            apply(self._word_cuts(now))
        return rep if rep is not None and now != text else None

    def _line_hyphens(self, text: str) -> list[Edit]:
        """``consoli-⏎dation`` → ``consolidation``; ``ground-⏎glass`` keeps its hyphen."""
        edits = []
        for m in _LINE_HYPHEN.finditer(text):
            left, right = m.group(1), m.group(2)
            joined = left + right in self.words and not (left in self.words and right in self.words)
            edits.append((m.end(1), m.start(2), "" if joined else "-"))
        return edits

    def _word_cuts(self, text: str) -> list[Edit]:
        """Spaces inside runs of letters that are no word. In a text with a glued phrase (an
        unknown run of ``_GLUED_RUN`` letters or more) every unknown run is cut; elsewhere only
        long ones, so a rare word in clean text ("procalcitonin") stays whole."""
        unknown = [run for run in _LETTER_RUN.finditer(text) if run.group() not in self.words]
        shortest = 4 if any(len(run.group()) >= _GLUED_RUN for run in unknown) else 12
        edits = []
        for run in unknown:
            if len(run.group()) >= shortest:
                edits += [(run.start() + cut, run.start() + cut, " ") for cut in self.words.split(run.group())]
        return edits
