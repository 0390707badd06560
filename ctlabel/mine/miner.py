"""Decide a record's COVID flag and lesion states from the mentions in its texts.

Per label, each mention in the text parts of the record's panel has a state (from
:mod:`ctlabel.mine.nlp`); a source's role (primary, supporting, fallback, ignore; set in the
lexicon) weighs it; the strongest state wins (positive > uncertain > negative > absent). The COVID flag
also weighs what argues against it: another pathogen or a control group.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from ctlabel import __version__
from ctlabel.lexicon import Lexicon, load_lexicon
from ctlabel.mine.nlp import Mention, build_nlp, mentions_of
from ctlabel.mine.panels import clauses, panel_ranges
from ctlabel.mine.repair import Repaired, TextRepairer
from ctlabel.schema import (
    ABSENT,
    COVID,
    LESIONS,
    NEGATIVE,
    POSITIVE,
    UNCERTAIN,
    strongest,
)

OTHER = "other"
MINER_VERSION = f"ctlabel-miner {__version__}"
# Pictures that show no patient (a PDF record's ``kind``): what their caption asserts is about
# results ("ROC curves for COVID-19 cases"), so it is at most uncertain there.
NO_PATIENT_KINDS = ("chart", "diagram")
# How sure the machine is of each kind of decision; a record's confidence is its weakest label.
CONFIDENCE = {"positive": 0.95, "absent": 0.9, "negative": 0.85, "conflict": 0.6, "uncertain": 0.5}


def _evidence(source: str, m: Mention, text: str, repaired: Repaired | None, state: str, rule: str) -> dict[str, Any]:
    """Evidence for ``m``, with offsets into the original ``text`` (also when ``m`` was found in its repair)."""
    start, end = repaired.span(m.start, m.end) if repaired else (m.start, m.end)
    return {"source": source, "start": start, "end": end, "text": text[start:end], "rule": rule, "state": state}


def lexicon_words(lexicon: Lexicon) -> set[str]:
    """The words of every lexicon term, for cutting glued text into words."""
    return {
        w for c in lexicon.concepts.values() for t in (*c.terms, *c.uncertain) for w in re.findall(r"[a-z]+", t.lower())
    }


def _clause_of(m: Mention, clause_ranges: tuple[tuple[int, int], ...]) -> int:
    return next((i for i, (lo, hi) in enumerate(clause_ranges) if lo <= m.start < hi), -1)


def _in_ranges(m: Mention, ranges: list[tuple[int, int]] | None) -> bool:
    return ranges is None or any(lo <= m.start < hi for lo, hi in ranges)


class Miner:
    """Mine records with one lexicon; build once, call :meth:`mine` on batches."""

    def __init__(self, lexicon: Lexicon | str | None = None):
        self.lexicon = lexicon if isinstance(lexicon, Lexicon) else load_lexicon(lexicon)
        self.nlp = build_nlp(self.lexicon)
        self.repair = TextRepairer(lexicon_words(self.lexicon))
        self.provenance = {"miner": MINER_VERSION, "lexicon": self.lexicon.hash, "source": "machine"}

    def mine(self, records: Iterable[dict[str, Any]], batch_size: int = 256) -> Iterator[dict[str, Any]]:
        """Fill states, evidence, confidence and provenance of each record (texts given)."""
        records = list(records)
        # Sibling panels share their figure's caption: parse each distinct text once per batch.
        unique = list(dict.fromkeys(t["text"] for r in records for t in r["texts"]))
        repaired = [self.repair(text) for text in unique]
        clean = [r.text if r else text for text, r in zip(unique, repaired)]
        parsed_texts = dict(zip(unique, zip(repaired, self.nlp.pipe(clean, batch_size=batch_size))))
        for record in records:
            parsed = [(t["source"], t["text"], *parsed_texts[t["text"]]) for t in record["texts"]]
            yield self._decide(record, parsed)

    def mine_one(self, record: dict[str, Any]) -> dict[str, Any]:
        return next(self.mine([record]))

    def _decide(self, record: dict[str, Any], parsed: list) -> dict[str, Any]:
        per_label: dict[str, list[dict[str, Any]]] = {label: [] for label in (COVID, OTHER, *LESIONS)}
        fallback: dict[str, list[dict[str, Any]]] = {label: [] for label in per_label}
        for source, text, repaired, doc in parsed:
            mentions = mentions_of(doc)
            if not mentions:
                continue  # no panel or clause work for a text that names nothing
            clean = repaired.text if repaired else text
            ranges = panel_ranges(clean, record.get("panel"))
            clause_ranges = clauses(clean) if any(m.code in (COVID, OTHER) for m in mentions) else ()
            for m in mentions:
                if m.code not in per_label or not _in_ranges(m, ranges):
                    continue
                role = self.lexicon.source_role(COVID if m.code == OTHER else m.code, source)
                if role == "ignore":
                    continue
                state, rule = m.state, m.rule
                if role in ("supporting", "fallback") and state == POSITIVE:
                    state, rule = UNCERTAIN, f"{rule} | source.{role}:{source}"
                evidence = _evidence(source, m, text, repaired, state, rule)
                if m.code in (COVID, OTHER):
                    evidence["_clause"] = (source, _clause_of(m, clause_ranges))
                (fallback if role == "fallback" else per_label)[m.code].append(evidence)
        for group in ((COVID, OTHER), *((code,) for code in LESIONS)):
            if not any(per_label[label] for label in group):  # the other sources are silent
                for label in group:
                    per_label[label] = fallback[label]
        if record.get("kind") in NO_PATIENT_KINDS:  # a chart shows results, not a patient
            for evidence in (e for label in (COVID, *LESIONS) for e in per_label[label]):
                if evidence["state"] == POSITIVE:
                    evidence["state"], evidence["rule"] = UNCERTAIN, f"{evidence['rule']} | kind.{record['kind']}"
        confidences = []
        for code in LESIONS:
            entry, conf = self._aggregate(per_label[code])
            record["lesions"][code] = entry
            confidences.append(conf)
        record[COVID], conf = self._covid(per_label[COVID], per_label[OTHER])
        confidences.append(conf)
        record["confidence"] = min(confidences)
        record["provenance"] = dict(self.provenance)
        return record

    @staticmethod
    def _aggregate(evidence: list[dict[str, Any]]) -> tuple[dict[str, Any], float]:
        if not evidence:
            return {"state": ABSENT, "evidence": []}, CONFIDENCE[ABSENT]
        states = {e["state"] for e in evidence}
        state = strongest(list(states))
        conflict = POSITIVE in states and NEGATIVE in states
        return {"state": state, "evidence": evidence}, CONFIDENCE["conflict" if conflict else state]

    def _covid(self, covid: list[dict[str, Any]], other: list[dict[str, Any]]) -> tuple[dict[str, Any], float]:
        """COVID mentions decide; another pathogen or a control in the same clause as an asserted
        COVID mention makes the flag uncertain (a mixed figure); alone, it makes it negative."""
        clause_of = {id(e): e.pop("_clause") for e in covid + other}
        against = [e for e in other if e["state"] == POSITIVE]
        entry, conf = self._aggregate(covid)
        asserted = {clause_of[id(e)] for e in covid if e["state"] == POSITIVE}
        mixed = [e for e in against if clause_of[id(e)] in asserted]
        if mixed:
            evidence = [{**e, "rule": f"{e['rule']} | covid.mixed"} for e in covid + mixed]
            return {"state": UNCERTAIN, "evidence": evidence}, CONFIDENCE[UNCERTAIN]
        if against and entry["state"] == ABSENT:
            evidence = [{**e, "state": NEGATIVE, "rule": f"{e['rule']} | covid.other"} for e in against]
            return {"state": NEGATIVE, "evidence": evidence}, CONFIDENCE[NEGATIVE]
        return entry, conf
