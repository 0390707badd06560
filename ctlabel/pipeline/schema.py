"""The keys each table of a pipeline file may hold, and their types, checked before any stage runs."""

from __future__ import annotations

import difflib
from dataclasses import fields
from pathlib import Path
from typing import Any

from ctlabel.errors import CtlabelError

PATHS = (str, list)  # one path or a list of them
TABLES: dict[str, dict[str, Any]] = {
    "pipeline": {"name": str, "workdir": str, "vars": dict},
    "mine": {
        "lexicon": str,
        "captions": dict,
        "pdfs": PATHS,
        "figures_dir": str,
        "output": str,
        "processes": int,
        "dpi": int,
    },
    "mine.captions": {
        "input": str,
        "id_col": str,
        "text_cols": list,
        "doc_col": str,
        "patient_col": str,
        "image_col": str,
        "panel_col": str,
    },
    "review": {"input": str, "from_export": str, "output": str, "url": str, "api_key": str, "project": str},
    "export": {
        "input": str,
        "output": str,
        "format": str,
        "negatives": PATHS,
        "positives": PATHS,
        "split_file": str,
        "splits_dir": str,
        "uncertain": str,
        "covid": str,
        "split": str,
        "group": str,
        "seed": int,
    },
}
_NAMES = {
    str: "a string",
    int: "a whole number",
    float: "a number",
    bool: "true or false",
    list: "a list",
    dict: "a table",
}


def _train_keys() -> dict[str, Any]:
    from ctlabel.train.config import TrainConfig

    simple = {"int": int, "float": float, "str": str, "bool": bool}
    keys = {f.name: simple.get(str(f.type).split(" |")[0], str) for f in fields(TrainConfig)}
    return keys | {"images": PATHS, "out": str, "recipe": str, "labels": str, "split_file": str}


def _fits(value: Any, kind: Any) -> bool:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool):
        return bool in kinds
    if isinstance(value, int) and float in kinds:
        return True
    return isinstance(value, kinds)


def check_table(path: Path, name: str, table: Any, allowed: dict[str, Any]) -> None:
    """Every key known (with a did-you-mean) and of its type; the message names file, table and key."""
    if not isinstance(table, dict):
        raise CtlabelError(f"{path}: [{name}] must be a table, not {type(table).__name__}")
    for key, value in table.items():
        if key not in allowed:
            close = difflib.get_close_matches(key, list(allowed), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise CtlabelError(f"{path}: [{name}] unknown key {key!r}{hint} (allowed: {', '.join(sorted(allowed))})")
        kind = allowed[key]
        if not _fits(value, kind):
            want = " or ".join(_NAMES[k] for k in (kind if isinstance(kind, tuple) else (kind,)))
            raise CtlabelError(f"{path}: [{name}] {key} = {value!r} should be {want}")
        if ((kind == PATHS and isinstance(value, list)) or key == "text_cols") and not all(
            isinstance(v, str) for v in value
        ):
            raise CtlabelError(f"{path}: [{name}] {key} should list strings")


def check_pipeline(path: Path, data: dict[str, Any]) -> None:
    """Check every table of a pipeline file against its schema."""
    for name, table in data.items():
        allowed = _train_keys() if name == "train" else TABLES.get(name)
        if allowed is None:
            continue  # unknown tables are reported by the caller with the list of stages
        check_table(path, name, table, allowed)
    captions = data.get("mine", {}).get("captions")
    if captions is not None:
        check_table(path, "mine.captions", captions, TABLES["mine.captions"])
