"""The record schema shared by every stage (see docs/schema.md).

One record per image (a figure panel)::

    {"id", "doc_id", "patient_id", "image", "panel", "texts": [{"source", "text"}],
     "covid": {"state", "evidence"}, "lesions": {CODE: {"state", "evidence"}},
     "confidence", "provenance"}
"""

from __future__ import annotations

from typing import Any, Final, NotRequired, TypedDict

LESIONS: tuple[str, ...] = ("GGO", "Csld", "CrPa", "AirBr", "InSepThi")
COVID: Final = "covid"
LABELS: tuple[str, ...] = (COVID, *LESIONS)

KINDS: tuple[str, ...] = ("ct", "xray", "chart", "diagram", "photo", "other")  # a PDF record's picture kind
POSITIVE, UNCERTAIN, NEGATIVE, ABSENT = "positive", "uncertain", "negative", "absent"
STATES: tuple[str, ...] = (POSITIVE, UNCERTAIN, NEGATIVE, ABSENT)
# Aggregation order of several mentions (as the CheXpert labeler): the first wins.
STATE_PRIORITY: dict[str, int] = {POSITIVE: 0, UNCERTAIN: 1, NEGATIVE: 2, ABSENT: 3}


class Evidence(TypedDict):
    """Where a label was read: ``texts[source][start:end] == text``; ``rule`` names the term and cue."""

    source: str
    start: int
    end: int
    text: str
    rule: str
    state: str


class Label(TypedDict):
    """One label's decision: its state and the evidence for it."""

    state: str
    evidence: list[Evidence]


class Text(TypedDict):
    """A text a record is mined from; PDF captions also carry ``boxes``: ``[start, end, x0, top,
    x1, bottom]`` for each printed piece of a word (page points)."""

    source: str
    text: str
    boxes: NotRequired[list[list[float]]]


class Record(TypedDict):
    """One image (a figure panel) and its labels; the same in mined and reviewed files."""

    id: str
    doc_id: str | None
    patient_id: str | None
    image: str | None
    panel: str | None
    texts: list[Text]
    covid: Label
    lesions: dict[str, Label]
    confidence: float
    provenance: dict[str, Any]


class PdfRecord(Record):
    """A record made by ``mine pdf``: where the picture is in the paper and what kind it is."""

    doi: str | None
    page: int
    figure: str | None
    bbox: list[float]
    kind: str
    notes: str | None


class ExtractedFigure(TypedDict):
    """One picture cut from a PDF page by :func:`ctlabel.pdf.extract.extract_pdf`."""

    id: str
    doc_id: str
    doi: str | None
    page: int
    figure: str | None
    panel: str | None
    image: str
    bbox: list[float]
    kind: str
    notes: str | None
    caption: str
    caption_boxes: list[list[float]]
    document: str


def strongest(states: list[str]) -> str:
    """The state that wins among several mentions: positive > uncertain > negative > absent."""
    return min(states, key=STATE_PRIORITY.__getitem__, default=ABSENT)


def label_of(record: Record, label: str) -> Label:
    """The ``{state, evidence}`` entry of ``label`` (``covid`` or a lesion code)."""
    if label == COVID:
        return record[COVID]
    return record["lesions"][label]


def state_of(record: Record, label: str) -> str:
    """The state of ``label`` (``covid`` or a lesion code) in ``record``."""
    return label_of(record, label)["state"]


def empty_label() -> Label:
    """A label entry that is absent, with no evidence."""
    return {"state": ABSENT, "evidence": []}


def empty_record(record_id: str) -> Record:
    """A record with every label absent, for a row that has no text."""
    return {
        "id": record_id,
        "doc_id": None,
        "patient_id": None,
        "image": None,
        "panel": None,
        "texts": [],
        COVID: empty_label(),
        "lesions": {code: empty_label() for code in LESIONS},
        "confidence": 1.0,
        "provenance": {},
    }
