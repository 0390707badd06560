"""Mining under damaged text: for each transformation of :mod:`ctlabel.testing.damage`, how many
records keep the labels mined from the clean text, and how far micro-F1 against a gold file moves
(the lesions' micro-F1; for a gold file with only the COVID flag, its F1)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ctlabel.io import read_table
from ctlabel.mine.evaluate import load_gold, predicted, score_pairs
from ctlabel.mine.miner import Miner
from ctlabel.mine.table import Columns, record_from_row
from ctlabel.schema import LABELS, Record, state_of
from ctlabel.testing.damage import TRANSFORMS


def _mine(miner: Miner, rows: list[dict[str, Any]], columns: Columns, damage=None) -> list[Record]:
    records = []
    for row in rows:
        record = record_from_row(row, columns)
        if damage is not None:
            record["texts"] = [{**t, "text": damage(t["text"])} for t in record["texts"]]
        records.append(record)
    return list(miner.mine(records))


def _states(record: Record) -> tuple[str, ...]:
    return tuple(state_of(record, label) for label in LABELS)


def robustness(gold_path: str | Path, columns: Columns, lexicon: str | None = None) -> dict[str, Any]:
    """Agreement with the clean text's labels and micro-F1 per transformation of every text of GOLD."""
    miner = Miner(lexicon)
    gold, labels = load_gold(gold_path)
    rows = [row for _, row in read_table(gold_path).rows]
    clean = _mine(miner, rows, columns)

    def micro_f1(records: list[Record]) -> float:
        pairs = [(gold[r["id"]], {label: predicted(r, label) for label in labels}) for r in records if r["id"] in gold]
        scores = score_pairs(pairs, labels)
        return scores["micro_f1"] if "micro_f1" in scores else scores["labels"][labels[0]]["f1"]

    base = micro_f1(clean)
    table = []
    for name, damage in TRANSFORMS.items():
        damaged = _mine(miner, rows, columns, damage)
        same = sum(_states(a) == _states(b) for a, b in zip(clean, damaged))
        f1 = micro_f1(damaged)
        changed = [a["id"] for a, b in zip(clean, damaged) if _states(a) != _states(b)]
        table.append(
            {
                "transform": name,
                "records": len(rows),
                "same_labels": same / len(rows),
                "micro_f1": f1,
                "f1_drop": base - f1,
                "changed": changed,
            }
        )
    return {"gold": str(gold_path), "clean_micro_f1": base, "transforms": table}
