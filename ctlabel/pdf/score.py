"""Score mined PDF figures against an answer key (``gold.json`` of the real-pdfs set).

The key lists one object per captioned figure: ``pdf``, ``page``, ``figure`` (label as printed,
"S5" for "Supplementary Figure 5"), ``caption_start``, ``panels`` (letters in reading order),
``bbox`` ([x0, top, x1, bottom] in points) and ``covid``. Mined records are grouped into figures
by (doc_id, page, figure); a mined figure matches a key figure of the same PDF, page and label
whose caption start it shares (letters and digits compared, case and spacing ignored).
"""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path
from typing import Any, cast

from ctlabel.errors import CtlabelError
from ctlabel.io import read_records
from ctlabel.schema import PdfRecord, Record

GOLD_KEYS = ("pdf", "page", "figure", "caption_start", "panels", "bbox")
INSIDE = 0.6  # share of a record's box that must lie in the key figure's box
SAME_START = 0.8  # similarity of the caption starts


def _alnum(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.lower())


def norm_label(label: str) -> str:
    """ "Supplementary Figure 5" and "S5" alike: letters and digits, lower case, no "figure"."""
    text = _alnum(str(label))
    match = re.match(r"^(supplementary|supplemental|extendeddata)?(?:figure|fig)?(.*)$", text)
    assert match is not None  # every part is optional
    prefix, rest = match.groups()
    if prefix == "extendeddata":
        return "ed" + rest
    return "s" + rest.removeprefix("s") if prefix else rest


def load_gold(path: Path) -> list[dict[str, Any]]:
    """The figures of an answer key (a JSON list); CtlabelError for a missing or bad file, key or bbox."""
    try:
        gold = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CtlabelError(f"{path}: no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CtlabelError(f"{path}: not JSON ({exc.__class__.__name__})") from None
    if not isinstance(gold, list):
        raise CtlabelError(f"{path}: expected a JSON list of figures")
    for k, entry in enumerate(gold):
        missing = [key for key in GOLD_KEYS if not isinstance(entry, dict) or key not in entry]
        if missing:
            raise CtlabelError(f"{path}: figure {k} lacks {', '.join(missing)}")
        box = entry["bbox"]
        if not (isinstance(box, list) and len(box) == 4 and all(isinstance(v, (int, float)) for v in box)):
            raise CtlabelError(f"{path}: figure {k} has a bbox that is not [x0, top, x1, bottom]")
    return gold


def _area(box) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def _intersection(a, b) -> float:
    return _area((max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])))


def iou(a, b) -> float:
    """Intersection over union of two ``[x0, top, x1, bottom]`` boxes (0.0 when the union is empty)."""
    inter = _intersection(a, b)
    union = _area(a) + _area(b) - inter
    return inter / union if union > 0 else 0.0


def _union(boxes):
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _caption(record: Record) -> str:
    return next((t["text"] for t in record.get("texts", []) if t.get("source") == "caption"), "")


def _same_start(gold: str, mined: str) -> bool:
    want = _alnum(gold)[:60]
    got = _alnum(mined)[: len(want)]
    return difflib.SequenceMatcher(None, want, got, autojunk=False).ratio() >= SAME_START


def mined_figures(path: Path) -> dict[tuple[str, int, str], list[PdfRecord]]:
    """Records grouped by (doc_id, page, figure label), in file order (reading order)."""
    figures: dict[tuple[str, int, str], list[PdfRecord]] = {}
    for k, read in enumerate(read_records(path)):
        if not all(key in read for key in ("doc_id", "page", "figure", "bbox")):
            raise CtlabelError(
                f"{path}: record {k + 1} ({read.get('id')}) lacks doc_id, page, figure or bbox: not from mine pdf"
            )
        record = cast(PdfRecord, read)
        key = (str(record["doc_id"]), int(record["page"]), norm_label(record["figure"] or ""))
        figures.setdefault(key, []).append(record)
    return figures


def _letters(records: list[PdfRecord]) -> list[str]:
    return [str(r["panel"]).lower() for r in records if r.get("panel")]


def score(gold_path: Path, mined_path: Path) -> dict[str, Any]:
    """Caption recall/precision, records inside the right figure, exact panel letters, crop IoU and
    COVID-flag precision; ``figures`` lists every key figure with what was found for it."""
    gold = load_gold(gold_path)
    mined = mined_figures(mined_path)
    matched: dict[tuple[str, int, str], dict[str, Any]] = {}
    rows = []
    for entry in gold:
        key = (Path(entry["pdf"]).stem, int(entry["page"]), norm_label(entry["figure"]))
        records = mined.get(key)
        if records is not None and not _same_start(entry["caption_start"], _caption(records[0])):
            records = None
        if records is not None:
            matched[key] = entry
        box = entry["bbox"]
        found = _union([r["bbox"] for r in records]) if records else None
        rows.append(
            {
                "pdf": entry["pdf"],
                "page": entry["page"],
                "figure": entry["figure"],
                "caption": records is not None,
                "records": len(records or []),
                "inside": sum(_intersection(r["bbox"], box) >= INSIDE * _area(r["bbox"]) for r in records or []),
                "panels_gold": [p.lower() for p in entry["panels"]],
                "panels_mined": _letters(records or []),
                "iou": round(iou(found, box), 3) if found else 0.0,
                "notes": sorted({r["notes"] for r in records or [] if r["notes"]}),
            }
        )
    n_records = sum(len(r) for r in mined.values())
    flagged = [
        key for key, records in mined.items() if any(r.get("covid", {}).get("state") == "positive" for r in records)
    ]
    right_flags = [key for key in flagged if key in matched and matched[key].get("covid") == "positive"]
    gold_pos = sum(entry.get("covid") == "positive" for entry in gold)
    return {
        "gold_figures": len(gold),
        "mined_figures": len(mined),
        "records": n_records,
        "caption_recall": len(matched) / len(gold) if gold else 0.0,
        "caption_precision": len(matched) / len(mined) if mined else 0.0,
        "records_inside": sum(r["inside"] for r in rows) / n_records if n_records else 0.0,
        "panels_exact": sum(r["caption"] and r["panels_gold"] == r["panels_mined"] for r in rows) / len(gold)
        if gold
        else 0.0,
        "mean_iou": sum(r["iou"] for r in rows) / len(gold) if gold else 0.0,
        "covid_flagged": len(flagged),
        "covid_gold_positive": gold_pos,
        "covid_precision": len(right_flags) / len(flagged) if flagged else None,
        "covid_recall": len(right_flags) / gold_pos if gold_pos else None,
        "unmatched_mined": sorted(f"{d} p{p} {label}" for d, p, label in mined if (d, p, label) not in matched),
        "figures": rows,
    }
