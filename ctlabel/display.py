"""A record as a notebook shows it: the texts of its review task with the evidence highlighted in
the label colours of the review config (ctlabel/resources/labeling-config.xml), as an annotator sees it."""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
from functools import cache
from html import escape
from typing import Any, cast

from ctlabel.schema import COVID, LESIONS, Record

FIELDS = (("caption", "Caption"), ("report", "Report and other text"))
_HEX6 = re.compile(r"#[0-9a-fA-F]{6}")
STATE_COLOURS = {"positive": "#2e7d32", "uncertain": "#b8860b", "negative": "#7f7f7f", "absent": "#bbbbbb"}


@cache
def label_colours() -> dict[str, dict[str, str]]:
    """Per text field of the review config, each span label's background colour."""
    from ctlabel.review.config import labeling_config

    root = ET.fromstring(labeling_config(with_image=False))
    return {
        labels.get("toName", ""): {
            label.get("value", ""): label.get("background", "#dddddd") for label in labels.iter("Label")
        }
        for labels in root.iter("Labels")
    }


def _spans(result: list[dict[str, Any]], field: str) -> list[tuple[int, int, list[str]]]:
    return [
        (item["value"]["start"], item["value"]["end"], item["value"]["labels"])
        for item in result
        if item.get("type") == "labels" and item.get("to_name") == field
    ]


def highlight(text: str, spans: list[tuple[int, int, list[str]]], colours: dict[str, str]) -> str:
    """``text`` as HTML, each span a ``<mark>`` in its first label's colour with its labels after it;
    overlapping spans are cut at every boundary, each piece in the colour of the first span over it."""
    cuts = sorted({0, len(text), *(p for s, e, _ in spans for p in (s, e) if 0 <= p <= len(text))})
    out = []
    for lo, hi in itertools.pairwise(cuts):
        over = [(s, e, tags) for s, e, tags in spans if s <= lo and hi <= e]
        piece = escape(text[lo:hi])
        if not over:
            out.append(piece)
            continue
        tags = over[0][2]
        colour = colours.get(tags[0], "#dddddd")
        title = escape("; ".join(" ".join(t) for _, _, t in over), quote=True)
        ending = "".join(f'<sup style="font-size:70%">{escape(" ".join(t))}</sup>' for _, e, t in over if e == hi)
        light = (
            f"{colour}66" if _HEX6.fullmatch(colour) else colour
        )  # the label colour at 40 %, as Label Studio shows spans
        out.append(
            f'<mark style="background:{light};border-bottom:2px solid {colour}" title="{title}">{piece}{ending}</mark>'
        )
    return "".join(out)


def _state_badge(label: str, state: str) -> str:
    colour = STATE_COLOURS.get(state, "#bbbbbb")
    return (
        f'<span style="border:1px solid {colour};color:{colour};border-radius:3px;padding:0 4px;margin-right:4px">'
        f"{escape(label)} {escape(state)}</span>"
    )


def record_html(record: Record) -> str:
    """The record's review task as HTML: header, label states, caption and report with evidence marks."""
    from ctlabel.review.tasks import to_task

    task = to_task(record, None)
    data, result = task["data"], task["predictions"][0]["result"]
    colours = label_colours()
    source = (record.get("provenance") or {}).get("source") or "machine"
    parts = [
        (
            f"<div><b>{escape(str(data['id']))}</b> — panel {escape(str(data['panel']))} — "
            f"{escape(source)} — confidence {data['confidence']}</div>"
        ),
        "<div>"
        + _state_badge(COVID, record[COVID]["state"])
        + "".join(_state_badge(code, record["lesions"][code]["state"]) for code in LESIONS)
        + "</div>",
    ]
    texts = [t["text"] for t in record.get("texts") or []]
    shown = {"caption": bool(texts and texts[0].strip()), "report": any(t.strip() for t in texts[1:])}
    for field, title in FIELDS:
        if shown[field]:
            body = highlight(data[field], _spans(result, field), colours.get(field, {}))
            parts.append(
                f'<div style="margin-top:6px"><i>{title}</i><div style="white-space:pre-wrap">{body}</div></div>'
            )
    return '<div class="ctlabel-record">' + "".join(parts) + "</div>"


class RecordView(dict):
    """A record (the schema's dict) that a notebook shows as its review task, evidence highlighted."""

    def _repr_html_(self) -> str:
        return record_html(cast(Record, self))
