"""Load the lexicon (terms and context cues, as TOML data) and fingerprint it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from ctlabel.errors import CtlabelError
from ctlabel.io import read_toml
from ctlabel.resources import resource
from ctlabel.schema import COVID, LESIONS

DEFAULT_LEXICON = resource("lexicon.toml")
REQUIRED_CONCEPTS = (*LESIONS, COVID)
SOURCE_ROLES = ("primary", "supporting", "fallback", "ignore")


@dataclass(frozen=True)
class Concept:
    code: str
    name: str
    terms: tuple[str, ...]
    uncertain: tuple[str, ...] = ()


@dataclass(frozen=True)
class Lexicon:
    """The parsed lexicon; ``hash`` identifies its content in every mined record."""

    concepts: dict[str, Concept]
    negation_pre: tuple[str, ...]
    negation_post: tuple[str, ...]
    negation_result: tuple[str, ...]
    uncertainty_pre: tuple[str, ...]
    uncertainty_post: tuple[str, ...]
    exposure: tuple[str, ...]
    pseudo: tuple[str, ...]
    terminate: tuple[str, ...]
    resolution_complete: tuple[str, ...]
    resolution_partial: tuple[str, ...]
    max_scope: int
    result_scope: int
    lesion_sources: dict[str, str] = field(default_factory=dict)
    covid_sources: dict[str, str] = field(default_factory=dict)
    path: str = ""
    hash: str = ""

    def source_role(self, label: str, source: str) -> str:
        """How text from ``source`` counts for ``label``: primary, supporting or ignore."""
        table = self.covid_sources if label == COVID else self.lesion_sources
        return table.get(source, "primary")


def _strings(table: dict, key: str, where: str) -> tuple[str, ...]:
    values = table.get(key, [])
    if not isinstance(values, list) or not all(isinstance(v, str) and v.strip() for v in values):
        raise CtlabelError(f"{where}: '{key}' must be a list of non-empty strings")
    return tuple(values)


def _sources(data: dict, kind: str, path: Path) -> dict[str, str]:
    roles = data.get("sources", {}).get(kind, {})
    for source, role in roles.items():
        if role not in SOURCE_ROLES:
            raise CtlabelError(
                f"{path}: [sources.{kind}] {source} = {role!r}; expected one of {', '.join(SOURCE_ROLES)}"
            )
    return dict(roles)


def load_lexicon(path: str | Path | None = None) -> Lexicon:
    """Read and check a lexicon file (the bundled one by default)."""
    path = Path(path) if path else DEFAULT_LEXICON
    data = read_toml(path, "lexicon")
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
    ctx = data.get("context", {})
    where = f"{path} [context]"
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return Lexicon(
        concepts=concepts,
        negation_pre=_strings(ctx.get("negation", {}), "pre", where),
        negation_post=_strings(ctx.get("negation", {}), "post", where),
        negation_result=_strings(ctx.get("negation", {}), "result", where),
        uncertainty_pre=_strings(ctx.get("uncertainty", {}), "pre", where),
        uncertainty_post=_strings(ctx.get("uncertainty", {}), "post", where),
        exposure=_strings(ctx.get("exposure", {}), "pre", where),
        pseudo=_strings(ctx.get("pseudo", {}), "terms", where),
        terminate=_strings(ctx.get("terminate", {}), "terms", where),
        resolution_complete=_strings(ctx.get("resolution", {}), "complete", where),
        resolution_partial=_strings(ctx.get("resolution", {}), "partial", where),
        max_scope=int(ctx.get("max_scope", 6)),
        result_scope=int(ctx.get("negation", {}).get("result_scope", 3)),
        lesion_sources=_sources(data, "lesions", path),
        covid_sources=_sources(data, "covid", path),
        path=str(path),
        hash=hashlib.sha256(canonical).hexdigest()[:12],
    )
