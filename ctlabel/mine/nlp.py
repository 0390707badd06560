"""The spaCy pipeline of the miner: a blank English tokenizer and two rule components.

``ctlabel_lexicon`` finds concept mentions and context cues with a PhraseMatcher built from the
lexicon (text damaged by PDF extraction is repaired before, by :mod:`ctlabel.mine.repair`) and
writes them to ``doc.spans["ctlabel"]`` and ``doc.spans["ctlabel_cues"]`` (the span's label is the
concept code or the cue rule's name); ``ctlabel_context`` gives each concept mention its state
(positive, negative, uncertain) from the negation, uncertainty and resolution cues whose scope
covers it, in the span extensions ``ctlabel_state`` and ``ctlabel_rule``. ``ctlabel_hedged`` says
the term is one of the concept's ``uncertain`` terms. :func:`mentions_of` returns the mentions.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import cast

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
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc, Span
from spacy.util import compile_infix_regex, compile_suffix_regex

from ctlabel.lexicon import CueRule, Lexicon
from ctlabel.schema import POSITIVE, UNCERTAIN

# Phrases matched only to be ignored ("no change") or to end scopes ("but", "which").
PSEUDO, TERMINATE = "pseudo", "terminate"
_BOUNDARY = re.compile(r"[.;:!?•](?=\s|$)")
MENTIONS, CUES = "ctlabel", "ctlabel_cues"  # the doc.spans keys
for _name, _default in (("ctlabel_hedged", False), ("ctlabel_state", POSITIVE), ("ctlabel_rule", "")):
    if not Span.has_extension(_name):
        Span.set_extension(_name, default=_default)


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
    forms |= {" ".join([*words[:i], words[i] + "-" + words[i + 1], *words[i + 2 :]]) for i in range(len(words) - 1)}
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


def mentions_of(doc: Doc) -> list[Span]:
    """The concept mentions the pipeline found in ``doc`` (label: the concept code), with their states."""
    return list(doc.spans[MENTIONS]) if MENTIONS in doc.spans else []


def doc_text(doc: Doc) -> str:
    """The text ``doc`` was made from (kept by the tokenizer), else spaCy's rebuilt ``doc.text``."""
    return doc.user_data.get("text") or doc.text


def make_tokenizer_nlp() -> Language:
    """A blank English pipeline whose tokenizer also splits on brackets, slashes and double quotes,
    and a final period after a mixed-case name."""
    nlp = spacy.blank("en")
    infixes = [*(nlp.Defaults.infixes or ()), r"[\(\)\[\]/\"]", r"(?<=[a-zA-Z])[–—](?=[a-zA-Z0-9])"]
    # a sentence's period after a mixed-case name ("infected with 2019-nCoV.") is a token of its own
    suffixes = [*(nlp.Defaults.suffixes or ()), r"(?<=[a-z][A-Z])\."]
    tokenizer = cast(Tokenizer, nlp.tokenizer)
    tokenizer.infix_finditer = compile_infix_regex(infixes).finditer
    tokenizer.suffix_search = compile_suffix_regex(suffixes).search
    nlp.tokenizer = _TextKeepingTokenizer(tokenizer)
    return nlp


def _longest_first(spans: list[Span], same_twice: bool) -> list[Span]:
    """Drop spans overlapping a longer one (ties: the earlier one wins); with ``same_twice``, a
    span matched under two labels (a cue that is both "pre" and "post") keeps both."""
    if len(spans) < 2:
        return spans
    chosen: list[Span] = []
    taken = bytearray(max(m.end_char for m in spans))
    kept_spans: set[tuple[int, int]] = set()
    for m in sorted(spans, key=lambda m: (m.start_char - m.end_char, m.start_char)):
        lo, hi = m.start_char, m.end_char
        if (same_twice and (lo, hi) in kept_spans) or taken.find(1, lo, hi) < 0:
            chosen.append(m)
            taken[lo:hi] = b"\x01" * (hi - lo)
            kept_spans.add((lo, hi))
    return sorted(chosen, key=lambda m: m.start_char)


class LexiconMatcher:
    """Find concept mentions and context cues (a lower-case PhraseMatcher over every term form)."""

    def __init__(self, nlp: Language, lexicon: Lexicon):
        self.matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.keys: dict[int, tuple[int, bool, bool]] = {}  # match key → (the code's hash, hedged, is a cue)

        def add(code: str, terms: tuple[str, ...], hedged: bool = False, cue: bool = False) -> None:
            key = f"{code}|{int(hedged)}"
            self.matcher.add(key, [nlp.make_doc(v) for t in terms for v in term_variants(t)])
            self.keys[nlp.vocab.strings[key]] = (nlp.vocab.strings.add(code), hedged, cue)  # the code labels spans

        for concept in lexicon.concepts.values():
            add(concept.code, concept.terms)
            if concept.uncertain:
                add(concept.code, concept.uncertain, hedged=True)
        for rule in lexicon.cues:
            add(rule.name, rule.terms, cue=True)
        for code, terms in ((PSEUDO, lexicon.pseudo), (TERMINATE, lexicon.terminate)):
            if terms:
                add(code, terms, cue=True)

    def __call__(self, doc: Doc) -> Doc:
        concepts: list[Span] = []
        cues: list[Span] = []
        for key, start, end in self.matcher(doc):
            code, hedged, cue = self.keys[key]
            span = Span(doc, start, end, label=code)
            if hedged:
                span._.ctlabel_hedged = True
            (cues if cue else concepts).append(span)
        if concepts:
            # one concept per stretch of text: a span's extensions are keyed by its offsets
            doc.spans[MENTIONS] = _longest_first(concepts, same_twice=False)
        if cues:
            doc.spans[CUES] = _longest_first(cues, same_twice=True)
        return doc


class ContextAssigner:
    """Give each concept mention a state from the nearest cue whose rule's scope reaches it."""

    def __init__(self, rules: tuple[CueRule, ...]):
        self.rules = {rule.name: rule for rule in rules}

    def __call__(self, doc: Doc) -> Doc:
        mentions = mentions_of(doc)
        if not mentions:
            return doc
        text = doc_text(doc)
        all_cues = list(doc.spans[CUES]) if CUES in doc.spans else []
        cues = [c for c in all_cues if c.label_ in self.rules]
        if cues:
            scope = _ScopeEnds(
                boundaries=[(b.start(), b.group()) for b in _BOUNDARY.finditer(text)],
                terminators=[c.start_char for c in all_cues if c.label_ == TERMINATE],
                concept_starts={m.start for m in mentions},
            )
        for m in mentions:
            cue = self._nearest_cue(doc, m, cues, scope) if cues else None
            ext = m._
            ext.ctlabel_state, ext.ctlabel_rule = self._state(text, m, ext.ctlabel_hedged, cue)
        return doc

    def _nearest_cue(self, doc: Doc, m: Span, cues: list[Span], scope: _ScopeEnds) -> Span | None:
        best, best_dist = None, None
        for cue in cues:
            rule = self.rules[cue.label_]
            if rule.forward and cue.end <= m.start:
                lo, hi, chars = cue.end, m.start, (cue.end_char, m.start_char)
            elif not rule.forward and cue.start >= m.end:
                lo, hi, chars = m.end, cue.start, (m.end_char, cue.start_char)
            else:
                continue
            dist = hi - lo
            if (rule.scope is not None and dist > rule.scope) or (best_dist is not None and dist >= best_dist):
                continue
            if not scope.open(doc, rule, lo, hi, chars):
                continue
            best, best_dist = cue, dist
        return best

    def _state(self, text: str, m: Span, hedged: bool, cue: Span | None) -> tuple[str, str]:
        term = text[m.start_char : m.end_char].lower()
        term_rule = f"{m.label_}:{term}" + (" (hedged)" if hedged else "")
        own = UNCERTAIN if hedged else POSITIVE
        if cue is None:
            return own, term_rule
        state = self.rules[cue.label_].state
        cue_term = text[cue.start_char : cue.end_char].lower()
        return (own if state == POSITIVE else state), f"{term_rule} | {cue.label_}:{cue_term}"


@dataclass(slots=True)
class _ScopeEnds:
    """What ends a cue's scope in one text: punctuation, terminate words, commas."""

    boundaries: list[tuple[int, str]]  # (offset, mark) of punctuation followed by a space or the end
    terminators: list[int]
    concept_starts: set[int]

    def open(self, doc: Doc, rule: CueRule, lo: int, hi: int, chars: tuple[int, int]) -> bool:
        """Whether nothing between the cue and the concept ends ``rule``'s scope."""
        a, b = chars
        if any(a <= pos < b and mark in rule.ends for pos, mark in self.boundaries):
            return False
        if rule.terminators and any(a <= pos < b for pos in self.terminators):
            return False
        if rule.commas == "pass":
            return True
        commas = (i for i in range(lo, hi) if doc[i].text == ",")
        if rule.commas == "end":
            return next(commas, None) is None
        return all(self._list_continues(doc, i) for i in commas)

    def _list_continues(self, doc: Doc, comma: int) -> bool:
        """A comma inside a list of concepts ("no GGO, consolidation or ...") keeps the scope."""
        nxt = comma + 1
        if nxt < len(doc) and doc[nxt].lower_ in ("and", "or", "nor"):
            nxt += 1
        return nxt in self.concept_starts


# The components take a registered lexicon (by its hash), so a Lexicon built in memory is the
# one that runs, and the TOML is read once.
_LEXICONS: dict[str, Lexicon] = {}


@Language.factory("ctlabel_lexicon", assigns=["doc.spans"], default_config={"lexicon": ""})
def _make_lexicon_matcher(nlp: Language, name: str, lexicon: str) -> LexiconMatcher:
    return LexiconMatcher(nlp, _LEXICONS[lexicon])


@Language.factory(
    "ctlabel_context", assigns=["span._.ctlabel_state", "span._.ctlabel_rule"], default_config={"lexicon": ""}
)
def _make_context(nlp: Language, name: str, lexicon: str) -> ContextAssigner:
    return ContextAssigner(_LEXICONS[lexicon].cues)


def build_nlp(lexicon: Lexicon) -> Language:
    """The miner's pipeline for ``lexicon``: tokenizer → ctlabel_lexicon → ctlabel_context."""
    key = lexicon.hash or str(id(lexicon))
    _LEXICONS[key] = lexicon
    nlp = make_tokenizer_nlp()
    nlp.add_pipe("ctlabel_lexicon", config={"lexicon": key})
    nlp.add_pipe("ctlabel_context", config={"lexicon": key})
    return nlp
