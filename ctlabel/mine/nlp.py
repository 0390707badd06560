"""The spaCy pipeline of the miner: a blank English tokenizer and two rule components.

``ctlabel_lexicon`` finds concept mentions and context cues with a PhraseMatcher built from the
lexicon (text damaged by PDF extraction is repaired before, by :mod:`ctlabel.mine.repair`);
``ctlabel_context`` gives each concept mention its state (positive, negative, uncertain) from the
negation, uncertainty and resolution cues whose scope covers it. :func:`mentions_of` returns the
result: a list of :class:`Mention`, with character offsets into the text.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass

# thinc (under spaCy) imports torch whenever it is installed: ~2 s and ~650 MB that the miner never
# uses. Hide torch while spaCy loads; code that needs torch later imports it as usual.
_hide_torch = "torch" not in sys.modules
if _hide_torch:
    sys.modules["torch"] = None  # type: ignore[assignment]
try:
    import spacy
finally:
    if _hide_torch:
        del sys.modules["torch"]
from spacy.attrs import IDX, LENGTH
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc
from spacy.util import compile_infix_regex

from ctlabel.lexicon import Lexicon
from ctlabel.schema import NEGATIVE, POSITIVE, UNCERTAIN

# Cue kinds. "pseudo" cues only exist to shadow a negation such as "no change".
NEG_PRE, NEG_POST, NEG_RESULT = "negation.pre", "negation.post", "negation.result"
UNC_PRE, UNC_POST = "uncertainty.pre", "uncertainty.post"
EXPOSURE = "exposure.pre"  # scope: the rest of the sentence
RES_PRE, RES_POST = "resolution.pre", "resolution.post"
PARTIAL_PRE, PARTIAL_POST = "partial.pre", "partial.post"
PSEUDO, TERMINATE = "pseudo", "terminate"
_BOUNDARY = re.compile(r"[.;:!•](?=\s|$)")
_SENTENCE_END = re.compile(r"[.;!?](?=\s|$)")



@dataclass(slots=True)
class Mention:
    """A concept or cue found in a text; ``start``/``end`` are character offsets."""

    label: str
    start: int
    end: int
    tok_start: int
    tok_end: int
    term: str
    weak: bool = False
    state: str = POSITIVE
    rule: str = ""


def _plural(word: str) -> str:
    if word.endswith("y") and len(word) > 2 and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "sh", "ch")):
        return word + "es"
    return word + "s"


def _plural_phrase(form: str) -> str:
    head, sep, last = form.rpartition(" ")
    return head + sep + _plural(last)


def term_variants(term: str) -> set[str]:
    """Lower-case forms matched for a term: hyphen/space variants and the plural."""
    base = " ".join(term.lower().split())
    words = base.split(" ")
    forms = {base, base.replace("-", " "), base.replace(" ", "-")}
    forms |= {" ".join(words[:i] + [words[i] + "-" + words[i + 1]] + words[i + 2 :]) for i in range(len(words) - 1)}
    forms |= {_plural_phrase(f) for f in forms if f[-1].isalpha() and len(f) > 2}
    return {" ".join(f.split()) for f in forms}


class _TextKeepingTokenizer:
    """The tokenizer, keeping the input string on the Doc (``doc.text`` rebuilds it, slowly)."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer

    def __call__(self, text: str) -> Doc:
        doc = self.tokenizer(text)
        doc.user_data["text"] = text
        return doc


def mentions_of(doc: Doc) -> list[Mention]:
    """The concept mentions the pipeline found in ``doc``, with their states."""
    return doc.user_data.get("ctl_mentions", [])


def doc_text(doc: Doc) -> str:
    return doc.user_data.get("text") or doc.text


def make_tokenizer_nlp() -> Language:
    """A blank English pipeline whose tokenizer also splits on brackets, slashes and double quotes."""
    nlp = spacy.blank("en")
    infixes = list(nlp.Defaults.infixes) + [r"[\(\)\[\]/\"]", r"(?<=[a-zA-Z])[–—](?=[a-zA-Z0-9])"]
    nlp.tokenizer.infix_finditer = compile_infix_regex(infixes).finditer
    nlp.tokenizer = _TextKeepingTokenizer(nlp.tokenizer)
    return nlp


def _longest_first(spans: list[Mention]) -> list[Mention]:
    """Drop mentions overlapping a longer one (ties: the earlier one wins); a span matched
    under two labels (a cue that is both "pre" and "post") keeps both."""
    if len(spans) < 2:
        return spans
    chosen: list[Mention] = []
    taken = bytearray(max(m.end for m in spans))
    kept_spans: set[tuple[int, int]] = set()
    for m in sorted(spans, key=lambda m: (m.start - m.end, m.start)):
        if (m.start, m.end) in kept_spans or taken.find(1, m.start, m.end) < 0:
            chosen.append(m)
            taken[m.start : m.end] = b"\x01" * (m.end - m.start)
            kept_spans.add((m.start, m.end))
    return sorted(chosen, key=lambda m: m.start)


class LexiconMatcher:
    """Find concept mentions and context cues; store them on ``doc._``."""

    def __init__(self, nlp: Language, lexicon: Lexicon):
        self.matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.keys: dict[int, tuple[str, bool]] = {}

        def add(label: str, terms: tuple[str, ...], weak: bool = False) -> None:
            key = f"{label}|{int(weak)}"
            patterns = [nlp.make_doc(v) for t in terms for v in term_variants(t)]
            self.matcher.add(key, patterns)
            self.keys[nlp.vocab.strings[key]] = (label, weak)

        for concept in lexicon.concepts.values():
            add(concept.code, concept.terms)
            if concept.uncertain:
                add(concept.code, concept.uncertain, weak=True)
        resolution_pre = tuple(t for t in lexicon.resolution_complete if t.endswith(" of"))
        partial_pre = tuple(t for t in lexicon.resolution_partial if t.endswith(" of"))
        for kind, terms in (
            (NEG_PRE, lexicon.negation_pre),
            (NEG_POST, lexicon.negation_post),
            (NEG_RESULT, lexicon.negation_result),
            (UNC_PRE, lexicon.uncertainty_pre),
            (UNC_POST, lexicon.uncertainty_post),
            (EXPOSURE, lexicon.exposure),
            (PSEUDO, lexicon.pseudo),
            (TERMINATE, lexicon.terminate),
            (RES_PRE, resolution_pre),
            (RES_POST, tuple(t for t in lexicon.resolution_complete if t not in resolution_pre)),
            (PARTIAL_PRE, partial_pre),
            (PARTIAL_POST, tuple(t for t in lexicon.resolution_partial if t not in partial_pre)),
        ):
            if terms:
                add(kind, terms)

    def __call__(self, doc: Doc) -> Doc:
        concepts: list[Mention] = []
        cues: list[Mention] = []
        matches = self.matcher(doc)
        if matches:
            text = doc_text(doc)
            offsets = doc.to_array([IDX, LENGTH]).tolist()
            for key, start, end in matches:
                label, weak = self.keys[key]
                lo, hi = offsets[start][0], offsets[end - 1][0] + offsets[end - 1][1]
                m = Mention(label, lo, hi, start, end, text[lo:hi].lower(), weak)
                (cues if "." in label or label in (PSEUDO, TERMINATE) else concepts).append(m)
        doc.user_data["ctl_mentions"] = _longest_first(concepts)
        doc.user_data["ctl_cues"] = _longest_first(cues)
        return doc

class ContextAssigner:
    """Give each concept mention a state from the cues whose scope reaches it."""

    def __init__(self, max_scope: int, result_scope: int):
        self.max_scope = max_scope
        self.result_scope = result_scope

    def __call__(self, doc: Doc) -> Doc:
        mentions: list[Mention] = mentions_of(doc)
        cues: list[Mention] = [c for c in doc.user_data.get("ctl_cues", []) if c.label != PSEUDO]
        if not mentions:
            return doc
        concept_starts = {m.tok_start for m in mentions}
        text = doc_text(doc)
        stops = [b.start() for b in _BOUNDARY.finditer(text)]
        stops += [c.start for c in cues if c.label == TERMINATE]
        sentence_ends = [b.start() for b in _SENTENCE_END.finditer(text)] if any(c.label == EXPOSURE for c in cues) else []
        for m in mentions:
            cue = self._nearest_cue(doc, m, cues, stops, concept_starts, sentence_ends)
            m.state, m.rule = self._state(m, cue)
        return doc

    def _nearest_cue(self, doc, m, cues, stops, concept_starts, sentence_ends) -> Mention | None:
        best, best_dist = None, None
        for cue in cues:
            if cue.label == TERMINATE:
                continue
            if cue.label == EXPOSURE:
                if cue.end <= m.start and not any(cue.end <= s < m.start for s in sentence_ends):
                    dist = m.tok_start - cue.tok_end
                    if best_dist is None or dist < best_dist:
                        best, best_dist = cue, dist
                continue
            if cue.label == NEG_RESULT:  # a result right after its concept; a colon does not end it
                dist = cue.tok_start - m.tok_end
                between = doc_text(doc)[m.end : cue.start]
                if 0 <= dist <= self.result_scope and not any(c in between for c in ".;!,") and (
                    best_dist is None or dist < best_dist
                ):
                    best, best_dist = cue, dist
                continue
            if cue.label.endswith(".pre") and cue.tok_end <= m.tok_start:
                lo, hi, chars = cue.tok_end, m.tok_start, (cue.end, m.start)
            elif cue.label.endswith(".post") and cue.tok_start >= m.tok_end:
                lo, hi, chars = m.tok_end, cue.tok_start, (m.end, cue.start)
            else:
                continue
            dist = hi - lo
            if dist > self.max_scope or any(chars[0] <= s < chars[1] for s in stops):
                continue
            if any(doc[i].text == "," and not self._list_continues(doc, i, concept_starts) for i in range(lo, hi)):
                continue
            if best_dist is None or dist < best_dist:
                best, best_dist = cue, dist
        return best

    @staticmethod
    def _list_continues(doc: Doc, comma: int, concept_starts: set[int]) -> bool:
        """A comma inside a list of concepts ("no GGO, consolidation or ...") keeps the scope."""
        nxt = comma + 1
        if nxt < len(doc) and doc[nxt].lower_ in ("and", "or", "nor"):
            nxt += 1
        return nxt in concept_starts

    @staticmethod
    def _state(m: Mention, cue: Mention | None) -> tuple[str, str]:
        term_rule = f"{m.label}:{m.term}" + (" (weak)" if m.weak else "")
        if cue is None or cue.label in (PARTIAL_PRE, PARTIAL_POST):
            partial = f" | resolution.partial:{cue.term}" if cue else ""
            return (UNCERTAIN if m.weak else POSITIVE), term_rule + partial
        kind = cue.label.split(".")[0]
        state = {"negation": NEGATIVE, "resolution": NEGATIVE, "uncertainty": UNCERTAIN, "exposure": UNCERTAIN}[kind]
        return state, f"{term_rule} | {cue.label}:{cue.term}"


@Language.factory("ctlabel_lexicon", default_config={"lexicon_path": None})
def _make_lexicon_matcher(nlp: Language, name: str, lexicon_path: str | None) -> LexiconMatcher:
    from ctlabel.lexicon import load_lexicon

    return LexiconMatcher(nlp, load_lexicon(lexicon_path))


@Language.factory("ctlabel_context", default_config={"max_scope": 6, "result_scope": 3})
def _make_context(nlp: Language, name: str, max_scope: int, result_scope: int) -> ContextAssigner:
    return ContextAssigner(max_scope, result_scope)


def build_nlp(lexicon: Lexicon) -> Language:
    """The miner's pipeline for ``lexicon``: tokenizer → ctlabel_lexicon → ctlabel_context."""
    nlp = make_tokenizer_nlp()
    nlp.add_pipe("ctlabel_lexicon", config={"lexicon_path": lexicon.path or None})
    nlp.add_pipe("ctlabel_context", config={"max_scope": lexicon.max_scope, "result_scope": lexicon.result_scope})
    return nlp
