"""Reference labelers run side by side with the miner (``ctlabel bench baselines``): a plain
regex over the lexicon's terms, and NegEx (negspacy) over the same terms as entities."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ctlabel.errors import CtlabelError
from ctlabel.io import read_table
from ctlabel.lexicon import Lexicon, load_lexicon
from ctlabel.mine.evaluate import load_gold, predicted, score_pairs
from ctlabel.mine.miner import Miner
from ctlabel.mine.table import Columns, record_from_row
from ctlabel.schema import COVID, LESIONS, Record, empty_record

Labeler = Callable[[list[str]], list[set[str]]]  # texts → the labels each text asserts


def _term_regex(terms: tuple[str, ...]) -> re.Pattern[str]:
    forms = sorted({re.escape(t.lower()).replace(r"\ ", r"[\s-]?").replace(r"\-", r"[\s-]?") for t in terms}, key=len)
    return re.compile(r"\b(?:" + "|".join(reversed(forms)) + r")(?:e?s)?\b", re.IGNORECASE)


def regex_labeler(lexicon: Lexicon) -> Labeler:
    """A label is asserted when one of its terms occurs anywhere (no negation, no panels)."""
    patterns = {code: _term_regex(lexicon.concepts[code].terms) for code in (COVID, *LESIONS)}
    return lambda texts: [{code for code, p in patterns.items() if p.search(t)} for t in texts]


def negex_labeler(lexicon: Lexicon) -> Labeler:
    """spaCy blank English + an EntityRuler of the lexicon's terms + negspacy's NegEx."""
    try:
        import negspacy.negation  # noqa: F401  (registers the "negex" factory)
        import spacy
        from spacy.pipeline import EntityRuler
    except ImportError as err:
        raise CtlabelError("negspacy is not installed: pip install negspacy") from err
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    ruler: EntityRuler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER"})  # type: ignore[assignment]
    ruler.add_patterns(
        [{"label": code, "pattern": t} for code in (COVID, *LESIONS) for t in lexicon.concepts[code].terms]
    )
    nlp.add_pipe("negex", config={"ent_types": [COVID, *LESIONS]})
    return lambda texts: [{e.label_ for e in doc.ents if not e._.negex} for doc in nlp.pipe(texts)]


def _records(gold_path: Path, columns: Columns) -> list[Record]:
    return [record_from_row(row, columns) for _, row in read_table(gold_path).rows]


def bench_baselines(gold_path: str | Path, columns: Columns, repeat: int = 20) -> dict[str, Any]:
    """Micro-F1 against GOLD and texts/s (each text ``repeat`` times, made distinct) per labeler."""
    gold, labels = load_gold(gold_path)
    records = _records(Path(gold_path), columns)
    texts = [" ".join(t["text"] for t in r["texts"] if t["source"] == columns.texts[0]) for r in records]
    miner = Miner()
    lexicon = load_lexicon()
    out: dict[str, Any] = {"gold": str(gold_path), "records": len(records), "repeat": repeat, "labelers": {}}

    def score(assertions: list[set[str]]) -> float:
        pairs = [(gold[r["id"]], {label: int(label in a) for label in labels}) for r, a in zip(records, assertions)]
        scores = score_pairs(pairs, labels)
        return scores["micro_f1"] if "micro_f1" in scores else scores["labels"][labels[0]]["f1"]

    def mine(batch: list[str]) -> list[set[str]]:
        records: list[Record] = [
            {**empty_record(str(i)), "texts": [{"source": "caption", "text": t}]} for i, t in enumerate(batch)
        ]
        mined = miner.mine(records)
        return [{label for label in (COVID, *LESIONS) if predicted(r, label)} for r in mined]

    labelers: dict[str, Labeler] = {"ctlabel": mine, "regex": regex_labeler(lexicon)}
    try:
        labelers["negspacy"] = negex_labeler(lexicon)
    except CtlabelError as err:
        out["negspacy"] = str(err)
    many = [f"{t} ({k})" for k in range(repeat) for t in texts]
    for name, labeler in labelers.items():
        micro_f1 = score(labeler(texts))  # also warms each labeler up (lazy tables, caches) before the timing
        start = time.perf_counter()
        labeler(many)
        seconds = time.perf_counter() - start
        out["labelers"][name] = {"micro_f1": micro_f1, "texts_per_s": len(many) / seconds}
    return out
