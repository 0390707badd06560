"""Split a figure caption into panel parts and pick the part of one panel.

A caption names its panels in two ways: a *leading* marker opens a part that runs to the next
leading marker ("A. CT showed …", "(B) 41-year-old woman: …", "a Chest CT images …",
"C and D were day 7"), and a *trailing* marker tags the clause it sits in ("… ground-glass
opacities (a and b) on day 1, and consolidation (c-e) on day 5"). Text before the first leading
marker and clauses with no marker are shared by every panel. When the caption never names the
record's panel, the whole caption applies.
"""

from __future__ import annotations

import re
import string
from functools import lru_cache

_ITEM = r"[A-La-l]\d?"
_LIST = rf"{_ITEM}(?:\s*(?:,|(?i:and|to)|&|-|–)\s*{_ITEM})*"
_FIG = r"(?:(?i:supplementary\s+)?(?i:fig(?:ure)?)\.?\s*S?\d+\s*[.:]?\s*)?"
_LEADING = re.compile(
    rf"^\s*{_FIG}(?:\(({_LIST})\)|({_LIST})(?:[.:,)](?=\s|$)|\s+(?=(?i:were|was|is|are|shows?|showed)\b))"
    rf"|([a-l]|[B-HJ-L])\s+(?=[A-Z][a-z]))"
)
_TRAILING = re.compile(rf"\((?:(?i:fig(?:ure)?)\.?\s*S?\d+\s*)?({_LIST})\)")
_CLAUSE_BREAK = re.compile(
    r"(?<=[.!?])\s+(?=[A-Z(]|[a-l]\s+[A-Z])|;\s*"
    r"|,\s+(?=(?i:and|while|whereas|but)\s(?!(?i:in|on|at|of|to|the)\b))"  # "…, and in both lobes (C)" goes on
)
# "… 2019-CoV A and B were day 2; C and D were day 7": a panel list opening a clause mid-sentence.
# Searched from its letters (fast), then checked for what precedes it.
_LIST_CLAUSE = re.compile(rf"\b{_LIST}\s+(?i:were|was|is|are)\b")
_LIST_CONTINUES = re.compile(r"(?:[,&\-–]|\b(?i:and|to))\s*$")
_AND_NEXT = re.compile(r"\s+(?i:and)\s+(?!(?i:in|on|at|of|to|the)\b)(?!(?:\S+\s+){0,2}\()")
_SEPARATOR = re.compile(r"\s*(,|(?i:and|to)|&|-|–)\s*")

Range = tuple[int, int]


def panel_letter(index: int) -> str:
    """The panel letter of the k-th image of a figure (COVID-CT's ``%k`` suffix): 0 → A."""
    return string.ascii_uppercase[index] if 0 <= index < 26 else str(index)


def expand_panels(marker: str) -> set[str]:
    """'A-C' → {A, B, C}; 'a and b' → {A, B}; 'D, E and F' → {D, E, F}."""
    parts = _SEPARATOR.split(marker.strip())
    letters: set[str] = set()
    i = 0
    while i < len(parts):
        item = parts[i][:1].upper()
        if i + 2 < len(parts) and parts[i + 1].lower() in ("-", "–", "to"):
            end = parts[i + 2][:1].upper()
            letters |= {chr(c) for c in range(ord(item), ord(end) + 1)} if item <= end else {item, end}
            i += 3
            continue
        if item.isalpha():
            letters.add(item)
        i += 2
    return letters


@lru_cache(maxsize=4096)
def clauses(text: str) -> tuple[Range, ...]:
    """Character ranges of the clauses of ``text``; a trailing marker followed by "and" ends one."""
    breaks = [(b.start(), b.end()) for b in _CLAUSE_BREAK.finditer(text)]
    for m in _LIST_CLAUSE.finditer(text):
        before = text[: m.start()]
        gap = len(before) - len(before.rstrip())
        if gap and not _LIST_CONTINUES.search(before[-12:].rstrip()):
            breaks.append((m.start() - gap, m.start()))
    breaks += [(m.end(), m.end()) for m in _TRAILING.finditer(text) if _AND_NEXT.match(text, m.end())]
    ranges, start = [], 0
    for lo, hi in sorted(breaks):
        if lo < start:
            continue
        if lo > start:
            ranges.append((start, lo))
        start = hi
    if start < len(text):
        ranges.append((start, len(text)))
    return tuple(ranges)


@lru_cache(maxsize=4096)
def panel_parts(text: str) -> tuple[tuple[Range, frozenset[str] | None], ...]:
    """Each clause with the panels it describes (None: shared by every panel)."""
    parts: list[tuple[Range, frozenset[str] | None]] = []
    carried: frozenset[str] | None = None
    for lo, hi in clauses(text):
        clause = text[lo:hi]
        lead = _LEADING.match(clause)
        if lead:
            carried = frozenset(expand_panels(next(g for g in lead.groups() if g)))
            parts.append(((lo, hi), carried))
            continue
        tagged = frozenset(p for m in _TRAILING.finditer(clause) for p in expand_panels(m.group(1)))
        parts.append(((lo, hi), tagged or carried))
    return tuple(parts)


def panel_ranges(text: str, panel: str | None) -> list[Range] | None:
    """The character ranges of ``text`` that describe ``panel``; None means the whole text."""
    if not panel:
        return None
    panel = panel.strip().upper()
    parts = panel_parts(text)
    if not any(panels and panel in panels for _, panels in parts):
        return None
    return [rng for rng, panels in parts if panels is None or panel in panels]
