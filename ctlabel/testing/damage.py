"""Damage text the way PDF extraction does, to test that mining is invariant to it.

Each transformation is deterministic (seeded by the text itself), so a test or benchmark
that fails can be replayed. They are the robustness table of docs/mining.md:

1. ``squash``: the spaces inside each sentence removed (sentence ends kept);
2. ``hyphen_space``: hyphens with a space or line break beside them, line breaks inside phrases;
3. ``unicode``: dash and space variants, soft hyphens, ligatures, curly quotes;
4. ``mojibake``: dashes and accents read in the wrong encoding, stray control characters;
5. ``upper``: the text upper-cased; ``figure_label``: a figure label glued on (``Figure1.Chest``).
"""

from __future__ import annotations

import random
import re
import zlib
from collections.abc import Callable

_SENTENCE_GAP = re.compile(r"(?<=[.;!?])\s+")
_WORD_HYPHEN = re.compile(r"(?<=\w)-(?=\w)")
_LONG_WORD = re.compile(r"[A-Za-z]{6,}")
_LIGATURES = {"ffi": "\ufb03", "ffl": "\ufb04", "ff": "\ufb00", "fi": "\ufb01", "fl": "\ufb02"}


def _rng(text: str) -> random.Random:
    return random.Random(zlib.crc32(text.encode("utf-8")))


def squash(text: str) -> str:
    return " ".join(re.sub(r"\s+", "", part) for part in _SENTENCE_GAP.split(text))


def hyphen_space(text: str) -> str:
    rng = _rng(text)
    text = _WORD_HYPHEN.sub(lambda m: rng.choice(["- ", " -", "-\n", "-\n  "]), text)
    return re.sub(" ", lambda m: "\n" if rng.random() < 0.25 else " ", text)


def unicode_variants(text: str) -> str:
    rng = _rng(text)
    text = _WORD_HYPHEN.sub(lambda m: rng.choice("\u2010\u2011\u2013\u2014"), text)
    text = re.sub(" ", lambda m: rng.choice([" ", " ", "\u00a0", "\u2009", "\u202f"]), text)
    text = _LONG_WORD.sub(lambda m: m.group()[:3] + "\u00ad" + m.group()[3:] if rng.random() < 0.4 else m.group(), text)
    text = re.sub("|".join(_LIGATURES), lambda m: _LIGATURES[m.group()], text)
    return text.replace("'", "\u2019").replace('"', "\u201c")


def mojibake(text: str) -> str:
    rng = _rng(text)
    text = "".join(c.encode("utf-8").decode("cp1252", errors="replace") if ord(c) > 127 else c for c in text)
    text = _WORD_HYPHEN.sub(lambda m: rng.choice(["\u00e2\u20ac\u201c", "\ufffdC"]), text)
    return re.sub(r"(?<=\w)(?=\w)", lambda m: rng.choice("\x07\x0c\x1b") if rng.random() < 0.03 else "", text)


def upper(text: str) -> str:
    return text.upper()


def figure_label(text: str) -> str:
    return f"Figure{zlib.crc32(text.encode('utf-8')) % 9 + 1}.{text}"


TRANSFORMS: dict[str, Callable[[str], str]] = {
    "squash": squash,
    "hyphen_space": hyphen_space,
    "unicode": unicode_variants,
    "mojibake": mojibake,
    "upper": upper,
    "figure_label": figure_label,
}
