"""``ctlabel mine captions``: stream a table through the miner into a JSONL file."""

from __future__ import annotations

import itertools
import multiprocessing as mp
import signal
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ctlabel.errors import CtlabelError
from ctlabel.io import atomic_write, check_outputs, dump_record, read_table
from ctlabel.lexicon import Lexicon, load_lexicon
from ctlabel.mine.miner import Miner
from ctlabel.mine.table import Columns, record_from_row
from ctlabel.schema import LABELS, Record, state_of

CHUNK = 512
MAX_TEXT = 900_000  # characters per text; spaCy refuses 1,000,000 and more (E088)


@dataclass
class MineSummary:
    """What a mining run did: counts per label and state, and the rows it skipped."""

    input: str
    output: str
    encoding: str
    records: int = 0
    skipped: list[str] = field(default_factory=list)
    states: dict[str, Counter] = field(default_factory=lambda: {label: Counter() for label in LABELS})
    lexicon: str = ""
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "input": self.input,
            "output": self.output,
            "encoding": self.encoding,
            "records": self.records,
            "skipped": self.skipped,
            "states": {label: dict(sorted(c.items())) for label, c in self.states.items()},
            "lexicon": self.lexicon,
            "note": self.note,
        }


_worker: Miner | None = None


def _init_worker(lexicon: Lexicon) -> None:
    global _worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to report, once
    _worker = Miner(lexicon)


Mined = tuple[list[str], dict[str, Counter]]


def _records(rows: list[tuple[str, dict[str, Any]]], columns: Columns) -> list[Record]:
    """The records of a chunk of (unique id, row) pairs, ready for the miner."""
    records = []
    for record_id, row in rows:
        record = record_from_row(row, columns)
        record["id"] = record_id
        records.append(record)
    return records


def _mine_serialized(miner: Miner, rows: list[tuple[str, dict[str, Any]]], columns: Columns) -> Mined:
    """JSONL lines and the count of each label's states (cheap to send between processes)."""
    lines = []
    counts: dict[str, Counter] = {label: Counter() for label in LABELS}
    for record in miner.mine(_records(rows, columns)):
        lines.append(dump_record(record))
        for label in LABELS:
            counts[label][state_of(record, label)] += 1
    return lines, counts


def _mine_chunk(job: tuple[list[tuple[str, dict[str, Any]]], Columns]) -> Mined:
    assert _worker is not None
    return _mine_serialized(_worker, *job)


def unique_id(record_id: str, seen: dict[str, int]) -> str:
    """``id``, or ``id#2``, ``id#3``… for its later repeats (the gold loader does the same)."""
    seen[record_id] = seen.get(record_id, 0) + 1
    return record_id if seen[record_id] == 1 else f"{record_id}#{seen[record_id]}"


def _chunks(
    rows: Iterator[tuple[int, dict[str, Any]]], columns: Columns, skipped: list[str], number_duplicates: bool
) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Rows in chunks, each with its unique record id (records are built where they are mined)."""
    seen: dict[str, int] = {}
    while True:
        chunk = []
        for number, row in itertools.islice(rows, CHUNK):
            record_id = str(row.get(columns.id) or "").strip()
            if not record_id:
                skipped.append(f"row {number}: empty id in column {columns.id!r}")
                continue
            too_long = [c for c in columns.texts if len(str(row.get(c) or "")) > MAX_TEXT]
            if too_long:
                skipped.append(
                    f"row {number}: column {too_long[0]!r} holds {len(str(row[too_long[0]])):,} characters, "
                    f"more than the {MAX_TEXT:,} the miner takes per text"
                )
                continue
            if record_id in seen and not number_duplicates:
                raise CtlabelError(
                    f"row {number}: duplicate id {record_id!r}; ids must be unique "
                    "(choose another --id-col, or --number-duplicates to name repeats id#2, id#3…)"
                )
            chunk.append((unique_id(record_id, seen), row))
        if not chunk:
            return
        yield chunk


def mine_rows(
    miner: Miner,
    rows: Iterator[tuple[Any, dict[str, Any]]],
    columns: Columns,
    skipped: list[str],
    number_duplicates: bool = False,
) -> Iterator[list[Record]]:
    """Mined records of (row number, row) pairs, a chunk at a time, as ``mine_table`` mines them;
    a row without an id or with a text too long goes to ``skipped``."""
    for chunk in _chunks(rows, columns, skipped, number_duplicates):
        yield list(miner.mine(_records(chunk, columns)))


def mine_table(
    input_path: str | Path,
    output_path: str | Path,
    columns: Columns,
    lexicon_path: str | None = None,
    processes: int = 1,
    progress: Callable[[int], None] | None = None,
    number_duplicates: bool = False,
    sheet: str | None = None,
    client: Any = None,
) -> MineSummary:
    """Mine every row of ``input_path`` into ``output_path`` (written atomically); on a Dask cluster
    when ``client`` is given (``ctlabel.mine.scale``)."""
    check_outputs([output_path], [input_path, lexicon_path])
    table = read_table(input_path, sheet)
    columns.check(table)
    summary = MineSummary(str(input_path), str(output_path), table.encoding, note=table.note)
    chunks = _chunks(table.rows, columns, summary.skipped, number_duplicates)
    lexicon = load_lexicon(lexicon_path)  # read once; the workers get the parsed lexicon
    mined: Iterator[Mined]
    pool = None
    if client is not None:
        from ctlabel.mine.scale import mine_chunks_on

        mined = mine_chunks_on(client, lexicon, ((chunk, columns) for chunk in chunks))
    elif processes > 1:
        ctx = mp.get_context("fork")
        pool = ctx.Pool(processes, initializer=_init_worker, initargs=(lexicon,))
        mined = pool.imap(_mine_chunk, ((chunk, columns) for chunk in chunks))
    else:
        miner = Miner(lexicon)
        mined = (_mine_serialized(miner, chunk, columns) for chunk in chunks)
    summary.lexicon = lexicon.hash
    try:
        with atomic_write(output_path) as out:
            for lines, counts in mined:
                out.writelines(lines)
                for label, counter in counts.items():
                    summary.states[label].update(counter)
                summary.records += len(lines)
                if progress:
                    progress(len(lines))
            summary.skipped = table.skipped + summary.skipped
            if summary.records == 0:  # raised inside: a previous output stays as it was
                first = f"; first: {summary.skipped[0]}" if summary.skipped else ""
                raise CtlabelError(f"{input_path}: no row could be read ({len(summary.skipped)} skipped{first})")
    finally:
        if pool is not None:
            pool.terminate()
    return summary
