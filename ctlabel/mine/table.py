"""Turn the rows of a table (CSV, TSV, XLSX, JSONL) into records to mine."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from ctlabel.errors import CtlabelError
from ctlabel.io import Table
from ctlabel.mine.panels import panel_letter
from ctlabel.schema import Record, empty_record

_PANEL_SUFFIX = re.compile(r"%(\d+)$")


@dataclass(frozen=True)
class Columns:
    """Which column holds what; every text column becomes a ``texts`` entry named after it."""

    id: str
    texts: tuple[str, ...]
    doc: str | None = None
    patient: str | None = None
    image: str | None = None
    panel: str | None = None

    def check(self, table: Table) -> None:
        wanted = [self.id, *self.texts, self.doc, self.patient, self.image, self.panel]
        missing = [c for c in wanted if c and c not in table.columns]
        if missing:
            raise CtlabelError(
                f"{table.path}: no column {', '.join(map(repr, missing))}; "
                f"the columns are {', '.join(map(repr, table.columns))}"
            )
        if len(set(self.texts)) != len(self.texts):
            raise CtlabelError("each --text-col may be given once")


def panel_from_name(name: str) -> str | None:
    """COVID-CT names the k-th image of a figure ``…%k.png``: that is panel k (0 → A)."""
    if "%" not in name:
        return None
    match = _PANEL_SUFFIX.search(PurePath(name).stem)
    return panel_letter(int(match.group(1))) if match else None


def _cell(row: dict[str, Any], column: str | None) -> str | None:
    if not column:
        return None
    value = row.get(column)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def record_from_row(row: dict[str, Any], columns: Columns) -> Record:
    """A record with ids and texts filled and every label absent (the miner fills them)."""
    record_id = _cell(row, columns.id)
    if record_id is None:
        raise ValueError(f"empty id in column {columns.id!r}")
    record = empty_record(record_id)
    record["doc_id"] = _cell(row, columns.doc)
    record["patient_id"] = _cell(row, columns.patient)
    record["image"] = _cell(row, columns.image)
    panel = _cell(row, columns.panel)
    record["panel"] = panel.upper() if panel else panel_from_name(record["image"] or record_id)
    record["texts"] = [
        {"source": column, "text": "" if row.get(column) is None else str(row[column])} for column in columns.texts
    ]
    return record
