"""Records ↔ Label Studio tasks: pre-annotations out, annotations resolved back into records.

A task's ``data`` carries the record id, its texts (``caption`` = the first text, ``report`` =
the others, each headed by its source), the image, and the whole machine record, so a Label
Studio export alone is enough to rebuild the reviewed records (the offline path).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping
from typing import Any, cast

from ctlabel.io import dump_record
from ctlabel.review.config import COVID_CHOICES
from ctlabel.schema import ABSENT, COVID, LABELS, LESIONS, NEGATIVE, POSITIVE, UNCERTAIN, Label, Record, label_of

CHOICE_STATES = {v: k for k, v in COVID_CHOICES.items()}
SPAN_LABEL = {COVID: "COVID", "other": "Other", **{c: c for c in LESIONS}}


def record_hash(record: Mapping[str, Any]) -> str:
    """A 16-hex-digit SHA-256 of the record as written to JSONL (push compares it to find changed records)."""
    return hashlib.sha256(dump_record(record).encode("utf-8")).hexdigest()[:16]


def model_version(record: Record) -> str:
    """The prediction's model version: the miner and lexicon hash of the record's provenance."""
    prov = record.get("provenance") or {}
    return f"{prov.get('miner', 'ctlabel-miner')} lexicon {prov.get('lexicon', '?')}"


def _text_fields(record: Record) -> tuple[str, str, dict[str, tuple[str, int]]]:
    """caption text, report text, and where each source starts: source → (field, offset)."""
    texts = record.get("texts") or []
    caption = texts[0]["text"] if texts else ""
    where = {texts[0]["source"]: ("caption", 0)} if texts else {}
    report = ""
    for entry in texts[1:]:
        if report:
            report += "\n\n"
        heading = f"[{entry['source']}] "
        where[entry["source"]] = ("report", len(report) + len(heading))
        report += heading + entry["text"]
    return caption, report, where


def to_task(record: Record, image_url: str | None, image_note: str | None = None) -> dict[str, Any]:
    """A task with the record's data and the machine's choices and evidence as a prediction;
    ``image_note`` is shown above the image pane (a missing image)."""
    caption, report, where = _text_fields(record)
    data = {
        "id": record["id"],
        "panel": record.get("panel") or "-",
        "confidence": round(float(record.get("confidence", 1.0)), 3),
        "caption": caption,
        "report": report,
        "image": image_url or "",
        "image_note": image_note or "",
        "record": record,
        "record_hash": record_hash(record),
    }
    return {"data": data, "predictions": [prediction(record, where)]}


def prediction(record: Record, where: dict[str, tuple[str, int]] | None = None) -> dict[str, Any]:
    """The machine's COVID choice, positive lesions and evidence spans as a Label Studio prediction; ``where``
    places each text source in a task field (from the record when None)."""
    if where is None:
        where = _text_fields(record)[2]
    result: list[dict[str, Any]] = []
    covid_state = record[COVID]["state"]
    if covid_state in COVID_CHOICES:
        result.append(_choices("covid", [COVID_CHOICES[covid_state]]))
    positives = [c for c in LESIONS if record["lesions"][c]["state"] == POSITIVE]
    result.append(_choices("lesions", positives))
    for label in LABELS:
        for k, ev in enumerate(label_of(record, label)["evidence"]):
            if ev["source"] not in where:
                continue
            field, offset = where[ev["source"]]
            tags = [SPAN_LABEL["other"] if "other:" in ev["rule"].split(" | ")[0] else SPAN_LABEL[label]]
            tags += {NEGATIVE: ["negated"], UNCERTAIN: ["uncertain"]}.get(ev["state"], [])
            result.append(
                {
                    "id": f"{label}-{k}",
                    "from_name": f"{field}_evidence",
                    "to_name": field,
                    "type": "labels",
                    "value": {
                        "start": ev["start"] + offset,
                        "end": ev["end"] + offset,
                        "text": ev["text"],
                        "labels": tags,
                    },
                }
            )
    return {"model_version": model_version(record), "score": float(record.get("confidence", 1.0)), "result": result}


def _choices(name: str, values: list[str]) -> dict[str, Any]:
    return {"from_name": name, "to_name": "caption", "type": "choices", "value": {"choices": values}}


def annotation_votes(annotation: dict[str, Any]) -> tuple[dict[str, str], str | None]:
    """One annotation's vote per label and its note. COVID: the choice, or no vote when none was made.
    Lesions: every lesion votes, positive when ticked, else negative — Label Studio sends no ``lesions``
    result when the annotator unticks them all, so a missing result means "none of them"."""
    votes: dict[str, str] = {}
    note = None
    chosen_lesions: list[str] = []
    for item in annotation.get("result") or []:
        name, value = item.get("from_name"), item.get("value") or {}
        if name == "covid" and value.get("choices"):
            votes[COVID] = CHOICE_STATES.get(value["choices"][0], UNCERTAIN)
        elif name == "lesions":
            chosen_lesions = list(value.get("choices") or [])
        elif name == "note" and value.get("text"):
            note = " ".join(value["text"])
    chosen = set(chosen_lesions)
    for code in LESIONS:
        votes[code] = POSITIVE if code in chosen else NEGATIVE
    return votes, note


def annotator_of(annotation: dict[str, Any]) -> str:
    """Who completed an annotation: the email, else the id, of ``completed_by``."""
    who = annotation.get("completed_by")
    if isinstance(who, dict):
        return str(who.get("email") or who.get("id"))
    return str(who)


def valid_annotations(task: dict[str, Any]) -> list[dict[str, Any]]:
    """Submitted annotations: cancelled (skipped) ones are ignored."""
    return [a for a in task.get("annotations") or [] if not a.get("was_cancelled")]


def resolve(task: dict[str, Any]) -> tuple[Record, list[str]]:
    """The reviewed record of a task, and the labels whose annotators tied.

    Majority per label over the submitted annotations; a tie becomes ``uncertain``. A lesion an
    annotator did not tick is ``negative`` when the machine had it positive or uncertain, else the
    machine's ``absent``/``negative`` stays. No submitted annotation: the machine's record stays.
    """
    record = cast(Record, dict(task["data"]["record"]))  # a copy: the task keeps the machine's record
    record["lesions"] = {c: cast(Label, dict(v)) for c, v in record["lesions"].items()}
    record[COVID] = cast(Label, dict(record[COVID]))
    annotations = valid_annotations(task)
    provenance = dict(record.get("provenance") or {})
    skipped = len(task.get("annotations") or []) - len(annotations)
    if not annotations:
        provenance.update({"source": "machine", "skipped": skipped})
        record["provenance"] = provenance
        return record, []
    ballots = [annotation_votes(a) for a in annotations]
    conflicts, labels_source = [], {}
    for label in LABELS:
        entry = label_of(record, label)
        votes = Counter(v[label] for v, _ in ballots if label in v)
        if not votes:
            labels_source[label] = "machine"
            continue
        (top, n), *rest = votes.most_common()
        if rest and rest[0][1] == n:
            top = UNCERTAIN
            conflicts.append(label)
        if top == NEGATIVE and entry["state"] in (ABSENT, NEGATIVE):
            top = entry["state"]
        entry["state"] = top
        labels_source[label] = "human"
    provenance.update(
        {
            "source": "human",
            "annotators": sorted({annotator_of(a) for a in annotations}),
            "time": max(str(a.get("updated_at") or a.get("created_at") or "") for a in annotations),
            "labels": labels_source,
            "skipped": skipped,
        }
    )
    notes = [n for _, n in ballots if n]
    if notes:
        provenance["notes"] = notes
    if conflicts:
        provenance["conflicts"] = conflicts
    record["provenance"] = provenance
    return record, conflicts
