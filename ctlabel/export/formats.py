"""The three label-file formats and how a record's states become cells (and back).

- ``ladnn``: ``imgname,CVD19,GGO,Csld,CrPa,AirBr,InSepThi``; a cell holds its own code when
  positive and is empty otherwise (the LA-DNN reference files).
- ``binary``: the same columns as 0/1.
- ``chexpert``: 1 / 0 / -1 / blank for positive / negative / uncertain / absent.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from ctlabel.errors import CtlabelError
from ctlabel.io import detect_encoding
from ctlabel.schema import ABSENT, LESIONS, NEGATIVE, POSITIVE, UNCERTAIN

COVID_CODE = "CVD19"
CODES: tuple[str, ...] = (COVID_CODE, *LESIONS)
HEADER: tuple[str, ...] = ("imgname", *CODES)
FORMATS = ("ladnn", "binary", "chexpert")

Cells = dict[str, str]
States = dict[str, str]


def apply_uncertain(state: str, policy: str) -> str:
    """Resolve ``uncertain`` by the export policy; keep only where the format has a value for it."""
    if state != UNCERTAIN or policy == "keep":
        return state
    return {"positive": POSITIVE, "negative": NEGATIVE, "blank": ABSENT}[policy]


def to_cells(states: States, fmt: str) -> Cells:
    """Cells of one row from label states (keyed by CSV code)."""
    if fmt == "ladnn":
        return {c: c if states[c] == POSITIVE else "" for c in CODES}
    if fmt == "binary":
        return {c: "1" if states[c] == POSITIVE else ("" if states[c] == UNCERTAIN else "0") for c in CODES}
    if fmt == "chexpert":
        return {c: {POSITIVE: "1", NEGATIVE: "0", UNCERTAIN: "-1", ABSENT: ""}[states[c]] for c in CODES}
    raise CtlabelError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


@dataclass
class LabelFile:
    """A label file read back: its format, rows (name → states) and the problems found."""

    path: Path
    format: str
    rows: dict[str, States] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)  # duplicates whose labels differ from the first row's


def _cell_state(cell: str, code: str, fmt: str) -> str | None:
    cell = cell.strip()
    if fmt == "ladnn":
        return POSITIVE if cell == code else (ABSENT if cell == "" else None)
    if fmt == "binary":
        return {"1": POSITIVE, "0": ABSENT, "": ABSENT}.get(cell)
    return {
        "1": POSITIVE,
        "1.0": POSITIVE,
        "0": NEGATIVE,
        "0.0": NEGATIVE,
        "-1": UNCERTAIN,
        "-1.0": UNCERTAIN,
        "": ABSENT,
    }.get(cell)


def sniff_format(rows: list[list[str]]) -> str:
    """ladnn when any cell holds a letter code, chexpert when any holds -1, else binary."""
    cells = {c.strip() for row in rows for c in row[1:]}
    if cells & {"-1", "-1.0"}:
        return "chexpert"
    if any(c and not c.lstrip("-").replace(".", "").isdigit() for c in cells):
        return "ladnn"
    return "binary"


def read_label_file(path: str | Path, fmt: str | None = None) -> LabelFile:
    """Read a label file; bad header is an error, bad cells and duplicates are collected."""
    path = Path(path)
    if not path.exists():
        raise CtlabelError(f"{path}: file not found")
    with path.open(encoding=detect_encoding(path), newline="") as fh:
        reader = csv.reader(fh)
        header = [h.strip() for h in next(reader, [])]
        if tuple(header) != HEADER:
            raise CtlabelError(f"{path}: header is {','.join(header) or '(empty)'}; expected {','.join(HEADER)}")
        rows = [(reader.line_num, row) for row in reader if row]
    labels = LabelFile(path, fmt or sniff_format([r for _, r in rows]))
    for line, row in rows:
        if len(row) != len(HEADER):
            labels.errors.append(f"row {line}: {len(row)} fields, expected {len(HEADER)}")
            continue
        name, states = row[0].strip(), {}
        for code, cell in zip(CODES, row[1:]):
            state = _cell_state(cell, code, labels.format)
            if state is None:
                labels.errors.append(f"row {line} ({name}), column {code}: unknown code {cell.strip()!r}")
                state = ABSENT
            states[code] = state
        if name in labels.rows:
            labels.duplicates.append(name)
            if labels.rows[name] != states:
                labels.conflicts.append(f"row {line}: {name!r} appears again with other labels")
            continue
        labels.rows[name] = states
        labels.order.append(name)
    return labels
