"""Score mined records against gold labels: per-label P/R/F1, micro-F1, exact match, intervals.

GOLD is a CSV with an id column (``image``, ``imgname`` or ``id``) and any of the label columns
``covid``/``CVD19`` and the five lesion codes, as 0/1 (the dev-gold format) or as LA-DNN cells
(the column's code when present, empty otherwise).
"""

from __future__ import annotations

from pathlib import Path, PurePath
from typing import Any

from ctlabel.errors import CtlabelError
from ctlabel.io import NAME_COLUMNS, dict_reader, read_records
from ctlabel.metrics import Counts, bootstrap_ci
from ctlabel.mine.captions import unique_id
from ctlabel.schema import COVID, LESIONS, POSITIVE, UNCERTAIN, Record, label_of, state_of

GOLD_COLUMNS = {"covid": COVID, "CVD19": COVID, **{code: code for code in LESIONS}}


def _truthy(cell: str, code: str, where: str) -> int:
    cell = cell.strip()
    if cell in ("", "0", "0.0"):
        return 0
    if cell in ("1", "1.0", code) or (code == COVID and cell == "CVD19"):
        return 1
    raise CtlabelError(f"{where}: unknown value {cell!r} (expected 0/1 or the code {code!r})")


def load_gold(path: str | Path) -> tuple[dict[str, dict[str, int]], list[str]]:
    """Gold labels by id, and the labels the file has."""
    with dict_reader(path) as reader:
        header = reader.fieldnames or []
        id_col = next((c for c in NAME_COLUMNS if c in header), None)
        labels = [GOLD_COLUMNS[c] for c in header if c in GOLD_COLUMNS]
        if id_col is None or not labels:
            raise CtlabelError(
                f"{path}: a gold file needs an id column ({'/'.join(NAME_COLUMNS)}) and label columns "
                f"(covid or CVD19, {', '.join(LESIONS)}); it has {', '.join(header)}"
            )
        gold: dict[str, dict[str, int]] = {}
        seen: dict[str, int] = {}
        for row in reader:
            where = f"{path}: row {reader.line_num}"
            gold[unique_id(row[id_col], seen)] = {
                GOLD_COLUMNS[c]: _truthy(row[c] or "", GOLD_COLUMNS[c], where) for c in header if c in GOLD_COLUMNS
            }
    return gold, labels


def _keys(record: Record) -> list[str]:
    keys, image = [record["id"]], record.get("image")
    if image:
        keys.append(PurePath(image).name)
    keys.append(PurePath(record["id"]).stem)
    return keys


def predicted(record: Record, label: str, uncertain_as: int = 0) -> int:
    """The record's 0/1 prediction for ``label``: 1 when positive, ``uncertain_as`` when uncertain, else 0."""
    state = state_of(record, label)
    return 1 if state == POSITIVE else (uncertain_as if state == UNCERTAIN else 0)


def score_pairs(pairs: list[tuple[dict[str, int], dict[str, int]]], labels: list[str]) -> dict[str, Any]:
    """Metrics of (gold, predicted) label dicts."""
    lesions = [c for c in LESIONS if c in labels]
    per = {label: Counts() for label in labels}
    micro = Counts()
    exact = 0
    for gold, pred in pairs:
        for label in labels:
            per[label].add(gold[label], pred[label])
            if label in lesions:
                micro.add(gold[label], pred[label])
        exact += all(gold[c] == pred[c] for c in lesions)
    out: dict[str, Any] = {"labels": {label: per[label].prf() for label in labels}}
    if lesions:
        out["micro_f1"] = micro.prf()["f1"]
        out["exact_match"] = exact / len(pairs) if pairs else 0.0
    if COVID in labels:
        has_both = per[COVID].tp + per[COVID].fn > 0 and per[COVID].tn + per[COVID].fp > 0
        out["covid_accuracy"] = per[COVID].prf()["accuracy"] if has_both else None
    return out


def evaluate(
    gold_path: str | Path, mined_path: str | Path, uncertain_as: int = 0, bootstrap: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """Score ``mined_path`` against ``gold_path``; 95% intervals from a bootstrap over records."""
    gold, labels = load_gold(gold_path)
    pairs, matched, errors = [], set(), []
    covid_states: dict[str, dict[str, int]] = {"1": {}, "0": {}}
    for record in read_records(mined_path):
        key = next((k for k in _keys(record) if k in gold), None)
        if key is None or key in matched:
            continue
        matched.add(key)
        pred = {label: predicted(record, label, uncertain_as) for label in labels}
        pairs.append((gold[key], pred))
        errors += [
            _disagreement(record, label, gold[key][label]) for label in labels if pred[label] != gold[key][label]
        ]
        if COVID in labels:
            row = covid_states[str(gold[key][COVID])]
            row[state_of(record, COVID)] = row.get(state_of(record, COVID), 0) + 1
    if not pairs:
        raise CtlabelError(f"{mined_path}: no record id matches an id of {gold_path}")
    result = score_pairs(pairs, labels)
    result["records"] = len(pairs)
    if COVID in labels:
        result["covid_states_by_gold"] = covid_states
    result["unmatched_gold"] = len(gold) - len(matched)
    result["errors"] = errors
    if bootstrap:
        result["ci95"] = _bootstrap(pairs, labels, bootstrap, seed)
    return result


def _disagreement(record: Record, label: str, gold: int) -> dict[str, Any]:
    """One miss or false alarm, with the evidence a curator reads to decide who is right."""
    entry = label_of(record, label)
    return {
        "id": record["id"],
        "panel": record.get("panel"),
        "label": label,
        "kind": "false positive" if not gold else "false negative",
        "state": entry["state"],
        "evidence": [f"{e['source']}:{e['start']}-{e['end']} {e['text']!r} [{e['rule']}]" for e in entry["evidence"]],
    }


def _bootstrap(pairs, labels, rounds: int, seed: int) -> dict[str, list[float]]:
    def statistic(sample: list[int]) -> dict[str, float | None]:
        scores = score_pairs([pairs[i] for i in sample], labels)
        flat: dict[str, float | None] = {f"{label}.f1": v["f1"] for label, v in scores["labels"].items()}
        return flat | {k: scores.get(k) for k in ("micro_f1", "exact_match", "covid_accuracy")}

    return bootstrap_ci(len(pairs), statistic, rounds, seed)
