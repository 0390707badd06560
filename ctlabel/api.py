"""The Python API: the CLI's stages on pandas DataFrames, for notebooks (docs/api.md).

Every function does what its command does, through the same code: ``mine`` is ``ctlabel mine
captions``, ``evaluate`` is ``ctlabel evaluate``, ``diff`` is ``ctlabel diff``, ``Model.predict`` is
``ctlabel predict``. Bad input raises :class:`ctlabel.errors.CtlabelError` with the CLI's message.
"""

from __future__ import annotations

import gc
import json
import sys
import tempfile
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from ctlabel.display import RecordView
from ctlabel.errors import CtlabelError
from ctlabel.schema import COVID, LABELS, LESIONS, POSITIVE, STATES, UNCERTAIN, Label, Record, label_of

if TYPE_CHECKING:
    from ctlabel.lexicon import Lexicon
    from ctlabel.mine.miner import Miner
    from ctlabel.mine.table import Columns

PathLike = str | Path
STATE = pd.CategoricalDtype(list(STATES))
RECORD_COLUMNS = (
    "doc_id",
    "patient_id",
    "image",
    "panel",
    "kind",
    *LABELS,
    "confidence",
    "source",
    "evidence",
    "record",
)
__all__ = [
    "Model",
    "RecordView",
    "diff",
    "evaluate",
    "load_model",
    "mine",
    "read_labels",
    "read_records",
    "records_frame",
]


def evidence_text(entries: list[dict[str, Any]]) -> str:
    """The evidence of the label entries (in the order of ``LABELS``) in one readable line, e.g.
    ``GGO positive: "ground-glass opacities" (caption); Csld negative: "consolidation" (report)``;
    a span whose own state differs from its label's says it: ``"consolidation" (caption, negative)``."""
    parts = []
    for label, entry in zip(LABELS, entries):
        if entry["evidence"]:
            state = entry["state"]
            spans = ", ".join(
                f'"{e["text"]}" ({e["source"]}' + (")" if e["state"] == state else f", {e['state']})")
                for e in entry["evidence"]
            )
            parts.append(f"{label} {state}: {spans}")
    return "; ".join(parts)


def records_frame(records: Iterable[Mapping[str, Any]], where: str = "records") -> pd.DataFrame:
    """Records as a DataFrame indexed by id: ``doc_id``, ``patient_id``, ``image``, ``panel``, ``kind``
    (when a record has it), a state column per label, ``confidence``, ``source`` (machine or human),
    one column per text source, ``evidence`` (readable) and ``record`` (the record itself)."""
    rows: list[RecordView] = []
    ids: list[Any] = []
    meta: dict[str, list[Any]] = {
        key: [] for key in ("doc_id", "patient_id", "image", "panel", "kind", "confidence", "source")
    }
    states: list[list[str]] = [[] for _ in LABELS]
    evidence: list[str] = []
    texts: dict[str, dict[int, str]] = {}
    for i, raw in enumerate(records):
        record = RecordView(raw)
        try:
            lesions = record["lesions"]
            entries = [record[COVID], *[lesions[code] for code in LESIONS]]
            for column, entry in zip(states, entries):
                column.append(entry["state"])
            evidence.append(evidence_text(entries))
        except (KeyError, TypeError) as exc:
            raise CtlabelError(
                f"{where}: record {record.get('id')!r} has no label entry {exc} (see docs/schema.md)"
            ) from None
        ids.append(record.get("id"))
        for key in ("doc_id", "patient_id", "image", "panel", "kind", "confidence"):
            meta[key].append(record.get(key))
        meta["source"].append((record.get("provenance") or {}).get("source"))
        for text in record.get("texts") or []:
            seen = texts.setdefault(text["source"], {})
            seen[i] = f"{seen[i]}\n\n{text['text']}" if i in seen else text["text"]
        rows.append(record)
    columns: dict[str, Any] = {key: meta[key] for key in ("doc_id", "patient_id", "image", "panel")}
    if any(kind is not None for kind in meta["kind"]):
        columns["kind"] = meta["kind"]
    for label, column in zip(LABELS, states):
        unknown = set(column) - set(STATES)
        if unknown:
            bad_id, bad_state = next((r["id"], state) for r, state in zip(rows, column) if state in unknown)
            raise CtlabelError(f"{where}: record {bad_id!r}: unknown {label} state {bad_state!r} ({', '.join(STATES)})")
        columns[label] = pd.Categorical(column, dtype=STATE)
    columns["confidence"] = np.array(meta["confidence"], dtype=float)
    columns["source"] = meta["source"]
    for source, by_row in texts.items():
        columns[source if source not in RECORD_COLUMNS else f"text_{source}"] = [
            by_row.get(i) for i in range(len(rows))
        ]
    columns["evidence"], columns["record"] = evidence, rows
    return pd.DataFrame(columns, index=pd.Index(ids, name="id"))


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: parsed JSON has no cycles, and collecting while millions
    of dicts and lists are made costs about three times the parse itself."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def read_records(path: PathLike) -> pd.DataFrame:
    """A mined or reviewed JSONL file as a DataFrame (see :func:`records_frame`)."""
    from ctlabel.io import read_records as stream

    with _gc_paused():
        return records_frame(stream(path), str(path))


@lru_cache(maxsize=4)
def _cached_miner(path: str | None, stamp: tuple[int, int]) -> Miner:
    from ctlabel.mine.miner import Miner

    return Miner(path)


def _miner(lexicon: PathLike | Lexicon | None) -> Miner:
    """A miner for ``lexicon``; built once per lexicon file and version (its size and time)."""
    from ctlabel.lexicon import Lexicon
    from ctlabel.mine.miner import Miner

    if isinstance(lexicon, Lexicon):
        return Miner(lexicon)
    if lexicon is None:
        return _cached_miner(None, (0, 0))
    path = Path(lexicon)
    stat = path.stat() if path.is_file() else None
    return _cached_miner(str(path), (stat.st_size, stat.st_mtime_ns) if stat else (0, 0))


def _caller() -> int:
    """The stack level of the first frame outside ctlabel, where a warning belongs."""
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and str(frame.f_globals.get("__name__", "")).partition(".")[0] == "ctlabel":
        frame, level = frame.f_back, level + 1
    return level


def _cells(column: pd.Series) -> list[Any]:
    """A column's values with every missing value (NaN, NA, None) as None, as the CLI reads an empty cell."""
    return column.astype(object).where(column.notna(), None).tolist()


def _table_rows(frame: pd.DataFrame, columns: Columns, ids: list[Any] | None) -> Iterator[tuple[Any, dict[str, Any]]]:
    """(index label, row) pairs with the columns the miner reads (the id from the index when ``ids``)."""
    names = [
        c for c in dict.fromkeys((columns.doc, columns.patient, columns.image, columns.panel, *columns.texts)) if c
    ]
    values = {name: _cells(frame[name]) for name in names}
    raw_ids = ids if ids is not None else _cells(frame[columns.id])
    values[columns.id] = [None if v is None else str(v) for v in raw_ids]  # an id 0 is "0", as a CSV gives it
    keys = list(values)
    for label, cells in zip(frame.index, zip(*values.values())):
        yield label, dict(zip(keys, cells))


def mine(
    data: pd.DataFrame | pd.Series,
    text_cols: str | Sequence[str] | None = None,
    id_col: str | None = None,
    panel_col: str | None = None,
    doc_col: str | None = None,
    patient_col: str | None = None,
    image_col: str | None = None,
    lexicon: PathLike | Lexicon | None = None,
    number_duplicates: bool = False,
) -> pd.DataFrame:
    """Mine a DataFrame (one row per image) or a Series of texts, as ``ctlabel mine captions`` mines
    a table: the same miner, the same records (see :func:`records_frame` for the columns).

    ``text_cols`` are the columns to mine (a Series: its own values); the record ids come from
    ``id_col``, or from the index when it is None. A row with no id or a text too long for the
    miner is skipped with a warning (and listed in ``.attrs["skipped"]``); a repeated id is an error
    unless ``number_duplicates`` names repeats ``id#2``, ``id#3``…
    """
    from ctlabel.io import Table
    from ctlabel.mine.captions import mine_rows
    from ctlabel.mine.table import Columns

    if isinstance(data, pd.Series):
        name = data.name if isinstance(data.name, str) else "text"
        data, text_cols = data.to_frame(name), text_cols or [name]
    if not isinstance(data, pd.DataFrame):
        raise CtlabelError(f"mine takes a DataFrame or a Series of texts, not {type(data).__name__}")
    if not text_cols:
        raise CtlabelError(
            f"give text_cols, the columns to mine (the columns are {', '.join(map(repr, data.columns))})"
        )
    texts = (text_cols,) if isinstance(text_cols, str) else tuple(text_cols)
    index_name = data.index.name if isinstance(data.index.name, str) else "index"
    if id_col is None and index_name in (*texts, doc_col, patient_col, image_col, panel_col):
        raise CtlabelError(f"the index is named like the column {index_name!r}: give id_col")
    columns = Columns(id_col or index_name, texts, doc_col, patient_col, image_col, panel_col)
    columns.check(Table(Path("the DataFrame"), [*data.columns, *([] if id_col else [index_name])], iter(())))
    ids = None if id_col else _cells(data.index.to_series())
    miner, skipped = _miner(lexicon), list[str]()
    records = [
        r
        for chunk in mine_rows(miner, _table_rows(data, columns, ids), columns, skipped, number_duplicates)
        for r in chunk
    ]
    if skipped:
        warnings.warn(
            f"skipped {len(skipped)} row(s); first: {skipped[0]} (all in .attrs['skipped'])", stacklevel=_caller()
        )
    frame = records_frame(records)
    frame.attrs.update(lexicon=miner.lexicon.hash, skipped=skipped)
    return frame


def frame_records(frame: pd.DataFrame) -> Iterator[Record]:
    """The records of a records DataFrame, each label's state taken from its column (so edits count)."""
    missing = [c for c in ("record", *LABELS) if c not in frame.columns]
    if missing:
        raise CtlabelError(
            f"a records DataFrame (from ctlabel.mine or ctlabel.read_records) has the columns record, "
            f"{', '.join(LABELS)}; this one lacks {', '.join(missing)}"
        )
    for record, *states in zip(frame["record"], *(frame[label] for label in LABELS)):
        record = cast(Record, dict(record))
        record[COVID] = cast(Label, dict(record[COVID]))
        record["lesions"] = {code: cast(Label, dict(entry)) for code, entry in record["lesions"].items()}
        for label, state in zip(LABELS, states):
            if state not in STATES:
                raise CtlabelError(
                    f"record {record['id']!r}: {label} is {state!r} in the DataFrame, not one of {', '.join(STATES)}"
                )
            label_of(record, label)["state"] = str(state)
        yield record


def _as_file(data: PathLike | pd.DataFrame, folder: str, name: str) -> tuple[str, str | None]:
    """A path for ``data``: itself, or a file in ``folder`` written from the DataFrame (and the path to hide)."""
    if not isinstance(data, pd.DataFrame):
        return str(data), None
    path = str(Path(folder) / name)
    if name.endswith(".jsonl"):
        Path(path).write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in frame_records(data)), encoding="utf-8"
        )
    else:
        from ctlabel.io import NAME_COLUMNS

        data.to_csv(path, index=data.index.name in NAME_COLUMNS)
    return path, path


def evaluate(
    gold: PathLike | pd.DataFrame,
    mined: PathLike | pd.DataFrame,
    uncertain: str = "negative",
    bootstrap: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Per-label precision, recall, F1 with its 95% interval (``f1_low``, ``f1_high``) and support,
    as ``ctlabel evaluate GOLD MINED``; the rest of its result (``micro_f1``, ``exact_match``,
    ``covid_accuracy``, ``ci95``, ``errors``, ``records``, ``unmatched_gold``) is in ``.attrs``.

    ``gold`` is a gold CSV or a DataFrame with its columns (an id column image/imgname/id and 0/1
    label columns); ``mined`` a records JSONL file or a records DataFrame (its state columns count).
    """
    from ctlabel.mine.evaluate import evaluate as score

    if uncertain not in ("negative", "positive"):
        raise CtlabelError(f"uncertain is 'negative' or 'positive', not {uncertain!r}")
    with tempfile.TemporaryDirectory() as folder:
        gold_path, hide_gold = _as_file(gold, folder, "gold.csv")
        mined_path, hide_mined = _as_file(mined, folder, "mined.jsonl")
        try:
            result = score(gold_path, mined_path, 1 if uncertain == "positive" else 0, bootstrap, seed)
        except CtlabelError as exc:
            message = str(exc)
            for hidden, shown in ((hide_gold, "the gold DataFrame"), (hide_mined, "the mined DataFrame")):
                message = message.replace(hidden, shown) if hidden else message
            raise CtlabelError(message) from None
    ci = result.get("ci95", {})
    rows = {
        label: {
            "precision": m["precision"],
            "recall": m["recall"],
            "f1": m["f1"],
            "f1_low": ci.get(f"{label}.f1", [float("nan")] * 2)[0],
            "f1_high": ci.get(f"{label}.f1", [float("nan")] * 2)[1],
            "support": m["support"],
        }
        for label, m in result["labels"].items()
    }
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "label"
    frame.attrs.update({k: v for k, v in result.items() if k != "labels"})
    return frame


def read_labels(path: PathLike, split_file: PathLike | None = None) -> pd.DataFrame:
    """A label file (ladnn, binary or chexpert) as ``ctlabel train`` reads it: indexed by image name,
    a column per code (CVD19 and the lesions) holding 1 positive, 0 not, -1 uncertain; with
    ``split_file`` also a ``split`` column (train, val, test, or None for an image it does not list)."""
    from ctlabel.export.formats import CODES, read_label_file

    labels = read_label_file(path)
    problems = labels.errors + [f"duplicate image name {n!r}" for n in labels.duplicates]
    if problems:
        more = f" (and {len(problems) - 1} more; run ctlabel validate)" if len(problems) > 1 else ""
        raise CtlabelError(f"{path}: {problems[0]}{more}")
    value = {POSITIVE: 1, UNCERTAIN: -1}
    frame = pd.DataFrame(
        [[value.get(labels.rows[name][code], 0) for code in CODES] for name in labels.order],
        index=pd.Index(labels.order, name="imgname"),
        columns=list(CODES),
        dtype="int8",
    )
    if split_file is not None:
        from ctlabel.export.splits import read_split_file

        assignment = read_split_file(split_file)
        frame["split"] = [assignment.get(name) for name in labels.order]
    return frame


def diff(old: PathLike, new: PathLike) -> pd.DataFrame:
    """What changed between two label files, one row per change, as ``ctlabel diff OLD NEW``:
    ``image``, ``label`` (a code; None for an image added or removed), ``change`` (gained, lost,
    changed, added, removed) and the ``old`` and ``new`` states; the counts before and after and
    the repeated rows are in ``.attrs``."""
    from ctlabel.export.diff import diff_labels
    from ctlabel.export.formats import read_label_file

    result = diff_labels(old, new)
    before, after = read_label_file(old).rows, read_label_file(new).rows
    rows: list[tuple[str, str | None, str, str | None, str | None]] = [
        (n, None, "added", None, None) for n in result["added"]
    ]
    rows += [(n, None, "removed", None, None) for n in result["removed"]]
    rows += [
        (n, code, change, before[n][code], after[n][code])
        for code, changes in result["flips"].items()
        for change, names in changes.items()
        for n in names
    ]
    frame = pd.DataFrame(rows, columns=["image", "label", "change", "old", "new"])
    frame.attrs.update(counts=result["counts"], duplicates=result["duplicates"])
    return frame


class Model:
    """A trained checkpoint (``best.pt`` or its run folder), as ``ctlabel predict`` uses it.

    ``module`` is the torch network; ``backbone``, ``labels`` (CVD19 first) and ``image_size``
    come from the checkpoint.
    """

    def __init__(self, checkpoint: PathLike):
        from ctlabel.train.inference import load_checkpoint

        path = Path(checkpoint)
        self.path = path / "best.pt" if path.is_dir() else path
        self.module, state = load_checkpoint(self.path)
        self.backbone: str = state["backbone"]
        self.labels: list[str] = list(state["labels"])
        self.image_size: int = state["image_size"]

    def __repr__(self) -> str:
        return f"Model({str(self.path)!r}: {self.backbone}, {self.image_size} px, outputs {', '.join(self.labels)})"

    def predict(self, images: PathLike | Iterable[PathLike], batch: int = 32, amp: bool | None = None) -> pd.DataFrame:
        """Probabilities per image (index: the path as given): ``covid`` and one column per lesion
        the model has; the CLI's predict (it reads the checkpoint itself, so the numbers are the CLI's)."""
        from ctlabel.train.inference import predict

        paths = [Path(images)] if isinstance(images, (str, Path)) else [Path(p) for p in images]
        results = predict(self.path, paths, batch, amp)
        return pd.DataFrame(
            [[r["covid"], *r["lesions"].values()] for r in results],
            index=pd.Index([r["image"] for r in results], name="image"),
            columns=[COVID, *self.labels[1:]],
            dtype=float,
        )


def load_model(checkpoint: PathLike) -> Model:
    """Load a trained checkpoint (``best.pt`` or its run folder) for :meth:`Model.predict`."""
    return Model(checkpoint)
