"""The record schema shared by every stage (see docs/schema.md).

One record per image (a figure panel)::

    {"id", "doc_id", "patient_id", "image", "panel", "texts": [{"source", "text"}],
     "covid": {"state", "evidence"}, "lesions": {CODE: {"state", "evidence"}},
     "confidence", "provenance"}
"""

from __future__ import annotations

from typing import Any

LESIONS: tuple[str, ...] = ("GGO", "Csld", "CrPa", "AirBr", "InSepThi")
COVID = "covid"
LABELS: tuple[str, ...] = (COVID, *LESIONS)

KINDS: tuple[str, ...] = ("ct", "xray", "chart", "diagram", "photo", "other")  # a PDF record's picture kind
POSITIVE, UNCERTAIN, NEGATIVE, ABSENT = "positive", "uncertain", "negative", "absent"
STATES: tuple[str, ...] = (POSITIVE, UNCERTAIN, NEGATIVE, ABSENT)
# Aggregation order of several mentions (as the CheXpert labeler): the first wins.
STATE_PRIORITY: dict[str, int] = {POSITIVE: 0, UNCERTAIN: 1, NEGATIVE: 2, ABSENT: 3}


def strongest(states: list[str]) -> str:
    """The state that wins among several mentions: positive > uncertain > negative > absent."""
    return min(states, key=STATE_PRIORITY.__getitem__, default=ABSENT)


def label_of(record: dict[str, Any], label: str) -> dict[str, Any]:
    """The ``{state, evidence}`` entry of ``label`` (``covid`` or a lesion code)."""
    if label == COVID:
        return record[COVID]
    return record["lesions"][label]


def state_of(record: dict[str, Any], label: str) -> str:
    return label_of(record, label)["state"]


def empty_record(record_id: str) -> dict[str, Any]:
    """A record with every label absent, for a row that has no text."""
    return {
        "id": record_id,
        "doc_id": None,
        "patient_id": None,
        "image": None,
        "panel": None,
        "texts": [],
        COVID: {"state": ABSENT, "evidence": []},
        "lesions": {code: {"state": ABSENT, "evidence": []} for code in LESIONS},
        "confidence": 1.0,
        "provenance": {},
    }
