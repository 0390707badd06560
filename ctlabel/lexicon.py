"""Load the lexicon (terms and context cues, as TOML data) and fingerprint it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from ctlabel.errors import CtlabelError
from ctlabel.io import read_toml
from ctlabel.resources import resource
from ctlabel.schema import COVID, LESIONS, NEGATIVE, POSITIVE, UNCERTAIN

DEFAULT_LEXICON = resource("lexicon.toml")
REQUIRED_CONCEPTS = (*LESIONS, COVID)
SOURCE_ROLES = ("primary", "supporting", "fallback", "ignore")
FORMAT_VERSION = 2
CUE_KEYS = ("name", "state", "direction", "scope", "ends", "commas", "terminators", "terms")
DEFAULT_ENDS = ". ; : ! •"
CONTEXT_KEYS = ("max_scope", "pseudo", "terminate", "cues")


@dataclass(frozen=True)
class CueRule:
    """A typed context rule (one ``[[context.cues]]`` table): cue phrases and their effect.

    ``scope`` is a token count or None (to the end of the sentence); ``ends`` the punctuation that
    ends it; ``commas`` "list", "end" or "pass"; ``terminators``: whether the ``terminate`` words end it.
    """

    name: str
    state: str
    forward: bool
    scope: int | None
    ends: frozenset[str]
    commas: str
    terminators: bool
    terms: tuple[str, ...]


@dataclass(frozen=True)
class Concept:
    """A lexicon concept: its code, display name, and the terms that name it as certain and as ``uncertain``."""

    code: str
    name: str
    terms: tuple[str, ...]
    uncertain: tuple[str, ...] = ()


@dataclass(frozen=True)
class Lexicon:
    """The parsed lexicon; ``hash`` identifies its content in every mined record."""

    concepts: dict[str, Concept]
    cues: tuple[CueRule, ...]
    pseudo: tuple[str, ...]
    terminate: tuple[str, ...]
    lesion_sources: dict[str, str] = field(default_factory=dict)
    covid_sources: dict[str, str] = field(default_factory=dict)
    path: str = ""
    hash: str = ""

    def source_role(self, label: str, source: str) -> str:
        """How text from ``source`` counts for ``label``: primary, supporting, fallback or ignore."""
        table = self.covid_sources if label == COVID else self.lesion_sources
        return table.get(source, "primary")


def _strings(table: dict, key: str, where: str) -> tuple[str, ...]:
    values = table.get(key, [])
    if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
        raise CtlabelError(f"{where}: '{key}' must be a list of non-empty strings")
    return tuple(values)


def _choice(table: dict, key: str, allowed: tuple, default: object, where: str) -> object:
    value = table.get(key, default)
    if value not in allowed:
        raise CtlabelError(f"{where}: {key} = {value!r}; expected one of {', '.join(map(repr, allowed))}")
    return value


def _cue_rule(table: dict, max_scope: int, where: str) -> CueRule:
    unknown = sorted(set(table) - set(CUE_KEYS))
    if unknown:
        raise CtlabelError(f"{where}: unknown key(s) {', '.join(unknown)}; a cue rule has {', '.join(CUE_KEYS)}")
    name = table.get("name")
    if not isinstance(name, str) or not name.strip():
        raise CtlabelError(f"{where}: every cue rule needs a name")
    where = f"{where} {name!r}"
    scope = table.get("scope", max_scope)
    if scope != "sentence" and (not isinstance(scope, int) or isinstance(scope, bool) or scope < 0):
        raise CtlabelError(f'{where}: scope = {scope!r}; expected a number of tokens or "sentence"')
    ends = table.get("ends", DEFAULT_ENDS)
    if not isinstance(ends, str):
        raise CtlabelError(f"{where}: ends must be a string of punctuation marks")
    terminators = table.get("terminators", True)
    if not isinstance(terminators, bool):
        raise CtlabelError(f"{where}: terminators must be true or false")
    return CueRule(
        name=name,
        state=str(_choice(table, "state", (NEGATIVE, UNCERTAIN, POSITIVE), None, where)),
        forward=_choice(table, "direction", ("forward", "backward"), None, where) == "forward",
        scope=None if scope == "sentence" else scope,
        ends=frozenset(ends.split()),
        commas=str(_choice(table, "commas", ("list", "end", "pass"), "list", where)),
        terminators=terminators,
        terms=_strings(table, "terms", where),
    )


def _sources(data: dict, kind: str, path: Path) -> dict[str, str]:
    roles = data.get("sources", {}).get(kind, {})
    for source, role in roles.items():
        if role not in SOURCE_ROLES:
            raise CtlabelError(
                f"{path}: [sources.{kind}] {source} = {role!r}; expected one of {', '.join(SOURCE_ROLES)}"
            )
    return dict(roles)


def _check_terms_unique(concepts: dict[str, Concept], path: Path) -> None:
    """A term names one concept, as certain or as uncertain: a mention has one code and one state."""
    owner: dict[str, str] = {}
    for concept in concepts.values():
        for kind, terms in (("terms", concept.terms), ("uncertain", concept.uncertain)):
            for term in terms:
                key, place = " ".join(term.lower().replace("-", " ").split()), f"[concepts.{concept.code}] {kind}"
                if owner.setdefault(key, place) != place:
                    raise CtlabelError(f"{path}: the term {term!r} is in {owner[key]} and in {place}; keep it in one")


def load_lexicon(path: str | Path | None = None) -> Lexicon:
    """Read and check a lexicon file (the bundled one by default)."""
    path = Path(path) if path else DEFAULT_LEXICON
    data = read_toml(path, "lexicon")
    if data.get("version", FORMAT_VERSION) != FORMAT_VERSION:
        raise CtlabelError(
            f"{path}: lexicon format version {data.get('version')!r}, this ctlabel reads version {FORMAT_VERSION} "
            "(context cues are [[context.cues]] rules; see docs/mining.md)"
        )
    concepts_raw = data.get("concepts", {})
    missing = [c for c in REQUIRED_CONCEPTS if c not in concepts_raw]
    if missing:
        raise CtlabelError(f"{path}: lexicon lacks the concept(s) {', '.join(missing)}")
    concepts = {
        code: Concept(
            code=code,
            name=str(table.get("name", code)),
            terms=_strings(table, "terms", f"{path} [concepts.{code}]"),
            uncertain=_strings(table, "uncertain", f"{path} [concepts.{code}]"),
        )
        for code, table in concepts_raw.items()
    }
    _check_terms_unique(concepts, path)
    ctx = data.get("context", {})
    where = f"{path} [context]"
    unknown = sorted(set(ctx) - set(CONTEXT_KEYS))
    if unknown:
        raise CtlabelError(
            f"{where}: unknown key(s) {', '.join(unknown)}; [context] has {', '.join(CONTEXT_KEYS)} "
            "(cues are [[context.cues]] rules with name, state, direction and terms; see docs/mining.md)"
        )
    max_scope = ctx.get("max_scope", 6)
    if not isinstance(max_scope, int) or max_scope < 0:
        raise CtlabelError(f"{where}: max_scope = {max_scope!r}; expected a number of tokens")
    cues_raw = ctx.get("cues", [])
    if not isinstance(cues_raw, list) or not all(isinstance(c, dict) for c in cues_raw):
        raise CtlabelError(f"{where}: cues must be [[context.cues]] tables")
    cues = tuple(_cue_rule(table, max_scope, f"{path} [[context.cues]]") for table in cues_raw)
    names = [c.name for c in cues]
    if len(set(names)) != len(names):
        raise CtlabelError(
            f"{where}: two cue rules share a name ({', '.join(sorted({n for n in names if names.count(n) > 1}))})"
        )
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return Lexicon(
        concepts=concepts,
        cues=cues,
        pseudo=_strings(ctx, "pseudo", where),
        terminate=_strings(ctx, "terminate", where),
        lesion_sources=_sources(data, "lesions", path),
        covid_sources=_sources(data, "covid", path),
        path=str(path),
        hash=hashlib.sha256(canonical).hexdigest()[:12],
    )
