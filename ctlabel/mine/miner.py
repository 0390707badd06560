"""Decide a record's COVID flag and lesion states from the mentions in its texts.

Per label, each mention in the text parts of the record's panel has a state (from
:mod:`ctlabel.mine.nlp`); a source's role (primary, supporting, fallback, ignore; set in the
lexicon) weighs it; the strongest state wins (positive > uncertain > negative > absent). The COVID flag
also weighs what argues against it: another pathogen or a control group.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import NamedTuple, TypeVar

from ctlabel import __version__
from ctlabel.lexicon import Lexicon, load_lexicon
from ctlabel.mine.nlp import Span, build_nlp, mentions_of  # spaCy as nlp loads it (without torch)
from ctlabel.mine.panels import clauses, panel_ranges
from ctlabel.mine.repair import Repaired, TextRepairer
from ctlabel.schema import (
    ABSENT,
    COVID,
    LESIONS,
    NEGATIVE,
    POSITIVE,
    UNCERTAIN,
    Evidence,
    Label,
    Record,
    empty_label,
    strongest,
)

OTHER = "other"
MINER_VERSION = f"ctlabel-miner {__version__}"
# Pictures that show no patient (a PDF record's ``kind``): what their caption asserts is about
# results ("ROC curves for COVID-19 cases"), so it is at most uncertain there.
NO_PATIENT_KINDS = ("chart", "diagram")
# How sure the machine is of each kind of decision; a record's confidence is its weakest label.
CONFIDENCE = {"positive": 0.95, "absent": 0.9, "negative": 0.85, "conflict": 0.6, "uncertain": 0.5}

R = TypeVar("R", bound=Record)


class Found(NamedTuple):
    """A mention as the miner reads it from its span: concept code, offsets in the parsed text, state, rule."""

    code: str
    start: int
    end: int
    state: str
    rule: str

    @classmethod
    def of(cls, span: Span) -> Found:
        ext = span._
        return cls(span.label_, span.start_char, span.end_char, ext.ctlabel_state, ext.ctlabel_rule)


Parsed = tuple[str, str, Repaired | None, list[Found]]  # (source, text, its repair, the mentions in it)
Clause = tuple[str, int]  # (source, clause index) of a COVID or other-pathogen mention


def _evidence(source: str, m: Found, text: str, repaired: Repaired | None) -> Evidence:
    """Evidence for ``m``, with offsets into the original ``text`` (also when ``m`` was found in its repair)."""
    start, end = repaired.span(m.start, m.end) if repaired else (m.start, m.end)
    return {"source": source, "start": start, "end": end, "text": text[start:end], "rule": m.rule, "state": m.state}


def _at_most_uncertain(evidence: Evidence, reason: str) -> None:
    """What a weak source or a picture of no patient asserts counts as uncertain."""
    if evidence["state"] == POSITIVE:
        evidence["state"], evidence["rule"] = UNCERTAIN, f"{evidence['rule']} | {reason}"


def lexicon_words(lexicon: Lexicon) -> set[str]:
    """The words of every lexicon term, for cutting glued text into words."""
    return {
        w for c in lexicon.concepts.values() for t in (*c.terms, *c.uncertain) for w in re.findall(r"[a-z]+", t.lower())
    }


@contextmanager
def _fewer_collections(young: int = 10_000) -> Iterator[None]:
    """Collect the youngest objects after ``young`` allocations instead of Python's 700 while mining:
    parsing allocates many short-lived objects and makes almost no cycles, and each collection also
    walks spaCy's and the word model's long-lived objects now and then (≈ +30 % texts/s here)."""
    old = gc.get_threshold()
    gc.set_threshold(max(young, old[0]), *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)


def _clause_of(m: Found, clause_ranges: tuple[tuple[int, int], ...]) -> int:
    return next((i for i, (lo, hi) in enumerate(clause_ranges) if lo <= m.start < hi), -1)


def _in_ranges(m: Found, ranges: list[tuple[int, int]] | None) -> bool:
    return ranges is None or any(lo <= m.start < hi for lo, hi in ranges)


class Miner:
    """Mine records with one lexicon; build once, call :meth:`mine` on batches."""

    def __init__(self, lexicon: Lexicon | str | None = None):
        self.lexicon = lexicon if isinstance(lexicon, Lexicon) else load_lexicon(lexicon)
        self.nlp = build_nlp(self.lexicon)
        self.repair = TextRepairer(lexicon_words(self.lexicon))
        self.provenance = {"miner": MINER_VERSION, "lexicon": self.lexicon.hash, "source": "machine"}

    def mine(self, records: Iterable[R], batch_size: int = 256) -> Iterator[R]:
        """Fill states, evidence, confidence and provenance of each record (texts given)."""
        records = list(records)
        with _fewer_collections():
            # Sibling panels share their figure's caption: parse each distinct text once per batch.
            unique = list(dict.fromkeys(t["text"] for r in records for t in r["texts"]))
            repaired = [self.repair(text) for text in unique]
            clean = [r.text if r else text for text, r in zip(unique, repaired)]
            docs = self.nlp.pipe(clean, batch_size=batch_size)
            parsed_texts = {
                text: (r, [Found.of(m) for m in mentions_of(doc)]) for text, r, doc in zip(unique, repaired, docs)
            }
            for record in records:
                parsed = [(t["source"], t["text"], *parsed_texts[t["text"]]) for t in record["texts"]]
                self._decide(record, parsed)
        yield from records

    def mine_one(self, record: R) -> R:
        return next(self.mine([record]))

    def _decide(self, record: R, parsed: list[Parsed]) -> R:
        per_label: dict[str, list[Evidence]] = {label: [] for label in (COVID, OTHER, *LESIONS)}
        fallback: dict[str, list[Evidence]] = {label: [] for label in per_label}
        clause_of: dict[int, Clause] = {}  # id(evidence) → its clause, for COVID and other pathogens
        kind = record.get("kind")
        for source, text, repaired, mentions in parsed:
            if not mentions:
                continue  # no panel or clause work for a text that names nothing
            clean = repaired.text if repaired else text
            ranges = panel_ranges(clean, record["panel"])
            clause_ranges = clauses(clean) if any(m.code in (COVID, OTHER) for m in mentions) else ()
            for m in mentions:
                code = m.code
                if code not in per_label or not _in_ranges(m, ranges):
                    continue
                role = self.lexicon.source_role(COVID if code == OTHER else code, source)
                if role == "ignore":
                    continue
                evidence = _evidence(source, m, text, repaired)
                if role in ("supporting", "fallback"):
                    _at_most_uncertain(evidence, f"source.{role}:{source}")
                if code in (COVID, OTHER):
                    clause_of[id(evidence)] = (source, _clause_of(m, clause_ranges))
                (fallback if role == "fallback" else per_label)[code].append(evidence)
        for group in ((COVID, OTHER), *((code,) for code in LESIONS)):
            if not any(per_label[label] for label in group):  # the other sources are silent
                for label in group:
                    per_label[label] = fallback[label]
        if kind in NO_PATIENT_KINDS:  # a chart shows results, not a patient
            for label in (COVID, *LESIONS):
                for evidence in per_label[label]:
                    _at_most_uncertain(evidence, f"kind.{kind}")
        confidences = []
        for code in LESIONS:
            entry, conf = self._aggregate(per_label[code])
            record["lesions"][code] = entry
            confidences.append(conf)
        record[COVID], conf = self._covid(per_label[COVID], per_label[OTHER], clause_of)
        confidences.append(conf)
        record["confidence"] = min(confidences)
        record["provenance"] = dict(self.provenance)
        return record

    @staticmethod
    def _aggregate(evidence: list[Evidence]) -> tuple[Label, float]:
        if not evidence:
            return empty_label(), CONFIDENCE[ABSENT]
        states = {e["state"] for e in evidence}
        state = strongest(list(states))
        conflict = POSITIVE in states and NEGATIVE in states
        return {"state": state, "evidence": evidence}, CONFIDENCE["conflict" if conflict else state]

    def _covid(self, covid: list[Evidence], other: list[Evidence], clause_of: dict[int, Clause]) -> tuple[Label, float]:
        """COVID mentions decide; another pathogen or a control in the same clause as an asserted
        COVID mention makes the flag uncertain (a mixed figure); alone, it makes it negative."""
        against = [e for e in other if e["state"] == POSITIVE]
        entry, conf = self._aggregate(covid)
        asserted = {clause_of[id(e)] for e in covid if e["state"] == POSITIVE}
        mixed = [e for e in against if clause_of[id(e)] in asserted]
        if mixed:
            evidence: list[Evidence] = [{**e, "rule": f"{e['rule']} | covid.mixed"} for e in covid + mixed]
            return {"state": UNCERTAIN, "evidence": evidence}, CONFIDENCE[UNCERTAIN]
        if against and entry["state"] == ABSENT:
            evidence = [{**e, "state": NEGATIVE, "rule": f"{e['rule']} | covid.other"} for e in against]
            return {"state": NEGATIVE, "evidence": evidence}, CONFIDENCE[NEGATIVE]
        return entry, conf
