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
from spacy.attrs import IDX, LENGTH
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokenizer import Tokenizer
from spacy.tokens import Doc
from spacy.util import compile_infix_regex, compile_suffix_regex

from ctlabel.lexicon import CueRule, Lexicon
from ctlabel.schema import POSITIVE, UNCERTAIN

# Phrases matched only to be ignored ("no change") or to end scopes ("but", "which").
PSEUDO, TERMINATE = "pseudo", "terminate"
_BOUNDARY = re.compile(r"[.;:!?•](?=\s|$)")


@dataclass(slots=True)
class Mention:
    """A concept or cue found in a text; ``start``/``end`` are character offsets.

    ``code`` is the concept code (GGO, covid, other…) or the cue rule's name (negation.pre…);
    ``hedged``: the term is one of the concept's ``uncertain`` terms, so it asserts it as uncertain.
    """

    code: str
    start: int
    end: int
    tok_start: int
    tok_end: int
    term: str
    hedged: bool = False
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


def mentions_of(doc: Doc) -> list[Mention]:
    """The concept mentions the pipeline found in ``doc``, with their states."""
    return doc.user_data.get("ctl_mentions", [])


def doc_text(doc: Doc) -> str:
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
    """Find concept mentions and context cues (a lower-case PhraseMatcher over every term form)."""

    def __init__(self, nlp: Language, lexicon: Lexicon):
        self.matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.keys: dict[int, tuple[str, bool, bool]] = {}  # match key → (code, hedged, is a cue)

        def add(code: str, terms: tuple[str, ...], hedged: bool = False, cue: bool = False) -> None:
            key = f"{code}|{int(hedged)}"
            self.matcher.add(key, [nlp.make_doc(v) for t in terms for v in term_variants(t)])
            self.keys[nlp.vocab.strings[key]] = (code, hedged, cue)

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
        concepts: list[Mention] = []
        cues: list[Mention] = []
        matches = self.matcher(doc)
        if matches:
            text = doc_text(doc)
            offsets = cast(list[list[int]], doc.to_array([IDX, LENGTH]).tolist())
            for key, start, end in matches:
                code, hedged, cue = self.keys[key]
                lo, hi = offsets[start][0], offsets[end - 1][0] + offsets[end - 1][1]
                (cues if cue else concepts).append(Mention(code, lo, hi, start, end, text[lo:hi].lower(), hedged))
        doc.user_data["ctl_mentions"] = _longest_first(concepts)
        doc.user_data["ctl_cues"] = _longest_first(cues)
        return doc


class ContextAssigner:
    """Give each concept mention a state from the nearest cue whose rule's scope reaches it."""

    def __init__(self, rules: tuple[CueRule, ...]):
        self.rules = {rule.name: rule for rule in rules}

    def __call__(self, doc: Doc) -> Doc:
        mentions: list[Mention] = mentions_of(doc)
        if not mentions:
            return doc
        cues = [c for c in doc.user_data.get("ctl_cues", []) if c.code in self.rules]
        if cues:
            text = doc_text(doc)
            scope = _ScopeEnds(
                boundaries=[(b.start(), b.group()) for b in _BOUNDARY.finditer(text)],
                terminators=[c.start for c in doc.user_data["ctl_cues"] if c.code == TERMINATE],
                concept_starts={m.tok_start for m in mentions},
            )
        for m in mentions:
            cue = self._nearest_cue(doc, m, cues, scope) if cues else None
            m.state, m.rule = self._state(m, cue)
        return doc

    def _nearest_cue(self, doc: Doc, m: Mention, cues: list[Mention], scope: _ScopeEnds) -> Mention | None:
        best, best_dist = None, None
        for cue in cues:
            rule = self.rules[cue.code]
            if rule.forward and cue.tok_end <= m.tok_start:
                lo, hi, chars = cue.tok_end, m.tok_start, (cue.end, m.start)
            elif not rule.forward and cue.tok_start >= m.tok_end:
                lo, hi, chars = m.tok_end, cue.tok_start, (m.end, cue.start)
            else:
                continue
            dist = hi - lo
            if (rule.scope is not None and dist > rule.scope) or (best_dist is not None and dist >= best_dist):
                continue
            if not scope.open(doc, rule, lo, hi, chars):
                continue
            best, best_dist = cue, dist
        return best

    def _state(self, m: Mention, cue: Mention | None) -> tuple[str, str]:
        term_rule = f"{m.code}:{m.term}" + (" (hedged)" if m.hedged else "")
        own = UNCERTAIN if m.hedged else POSITIVE
        if cue is None:
            return own, term_rule
        state = self.rules[cue.code].state
        return (own if state == POSITIVE else state), f"{term_rule} | {cue.code}:{cue.term}"


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


@Language.factory("ctlabel_lexicon", assigns=["doc.user_data"], default_config={"lexicon": ""})
def _make_lexicon_matcher(nlp: Language, name: str, lexicon: str) -> LexiconMatcher:
    return LexiconMatcher(nlp, _LEXICONS[lexicon])


@Language.factory("ctlabel_context", assigns=["doc.user_data"], default_config={"lexicon": ""})
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
