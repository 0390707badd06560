"""File input and output shared by the stages: tables in, JSONL in and out, atomic writes."""

from __future__ import annotations

import codecs
import csv
import json
import os
import tempfile
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ctlabel.errors import CtlabelError

ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")
NAME_COLUMNS = ("image", "imgname", "id")  # where a label, gold or split file names its images
TABLE_SUFFIXES = {".csv": ",", ".tsv": "\t", ".tab": "\t", ".txt": "\t"}
csv.field_size_limit(2**31 - 1)


@dataclass
class Table:
    """A table read row by row: its columns, the encoding used and the rows it skipped."""

    path: Path
    columns: list[str]
    rows: Iterator[tuple[int, dict[str, Any]]]
    encoding: str = "utf-8"
    skipped: list[str] = field(default_factory=list)


@contextmanager
def atomic_write(path: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Write to a temporary file beside ``path`` and rename it into place only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, encoding=encoding if "b" not in mode else None, newline="" if "b" not in mode else None) as fh:
            yield fh
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def detect_encoding(path: Path, chunk: int = 1 << 20) -> str:
    """The first of UTF-8, cp1252 and Latin-1 that decodes the whole file (streamed)."""
    for name in ENCODINGS:
        decoder = codecs.getincrementaldecoder(name)()
        try:
            with path.open("rb") as fh:
                while block := fh.read(chunk):
                    decoder.decode(block)
                decoder.decode(b"", final=True)
            return name
        except UnicodeDecodeError:
            continue
    return "latin-1"


def _check_file(path: Path) -> None:
    if not path.exists():
        raise CtlabelError(f"{path}: file not found")
    if path.is_dir():
        raise CtlabelError(f"{path}: is a folder, expected a file")
    if path.stat().st_size == 0:
        raise CtlabelError(f"{path}: the file is empty")


@contextmanager
def dict_reader(path: str | Path) -> Iterator[csv.DictReader]:
    """A csv.DictReader over a whole file, in the encoding it is written in."""
    path = Path(path)
    _check_file(path)
    with path.open(encoding=detect_encoding(path), newline="") as fh:
        yield csv.DictReader(fh)


def read_table(path: str | Path) -> Table:
    """Open a CSV, TSV, XLSX or JSONL file for row-by-row reading (1-based row numbers)."""
    path = Path(path)
    _check_file(path)
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return _read_jsonl_table(path)
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path)
    return _read_delimited(path, TABLE_SUFFIXES.get(suffix, ","))


def _read_delimited(path: Path, delimiter: str) -> Table:
    encoding = detect_encoding(path)
    fh = path.open(encoding=encoding, newline="")
    reader = csv.reader(fh, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        fh.close()
        raise CtlabelError(f"{path}: the file is empty") from None
    columns = [c.strip() for c in header]
    table = Table(path, columns, iter(()), "utf-8" if encoding == "utf-8-sig" else encoding)

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        with fh:
            while True:
                try:
                    values = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    table.skipped.append(f"row {reader.line_num}: {exc}")
                    continue
                if not values:
                    continue
                if len(values) != len(columns):
                    table.skipped.append(
                        f"row {reader.line_num}: {len(values)} fields where the header has {len(columns)}"
                    )
                    continue
                yield reader.line_num, dict(zip(columns, values))

    table.rows = rows()
    return table


def _read_xlsx(path: Path) -> Table:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken workbook
        raise CtlabelError(f"{path}: not a readable XLSX workbook ({exc.__class__.__name__})") from None
    sheet_rows = book.active.iter_rows(values_only=True)
    header = next(sheet_rows, None)
    if not header:
        raise CtlabelError(f"{path}: the first sheet is empty")
    columns = ["" if c is None else str(c).strip() for c in header]

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        for number, values in enumerate(sheet_rows, start=2):
            if values is None or all(v is None for v in values):
                continue
            yield number, {c: ("" if v is None else v) for c, v in zip(columns, values)}
        book.close()

    return Table(path, columns, rows(), "xlsx")


def _read_jsonl_table(path: Path) -> Table:
    encoding = detect_encoding(path)
    fh = path.open(encoding=encoding)
    first: dict[str, Any] | None = None
    table = Table(path, [], iter(()), "utf-8" if encoding == "utf-8-sig" else encoding)
    lines = _json_lines(fh, table.skipped.append)
    for number, obj in lines:
        first = obj
        table.columns = list(obj)
        break
    if first is None:
        fh.close()
        raise CtlabelError(f"{path}: no JSON object in the file")

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        with fh:
            yield number, first
            yield from lines

    table.rows = rows()
    return table


def _json_lines(fh: IO[str], report: Callable[[str], None]) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in enumerate(fh, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            report(f"line {number}: not valid JSON ({exc.msg})")
            continue
        if not isinstance(obj, dict):
            report(f"line {number}: a JSON {type(obj).__name__}, expected an object")
            continue
        yield number, obj


def read_records(path: str | Path, skipped: list[str] | None = None) -> Iterator[dict[str, Any]]:
    """Stream the records of a JSONL file; a bad line goes to ``skipped``, or stops with an error
    when ``skipped`` is None."""
    path = Path(path)
    _check_file(path)

    def report(problem: str) -> None:
        if skipped is None:
            raise CtlabelError(f"{path}: {problem}")
        skipped.append(problem)

    with path.open(encoding="utf-8") as fh:
        for number, obj in _json_lines(fh, report):
            if "id" in obj:
                yield obj
            else:
                report(f"line {number}: record without 'id'")


def cache_dir(name: str) -> Path:
    """``$CTLABEL_CACHE/name`` (default ``~/.cache/ctlabel/name``, following ``$XDG_CACHE_HOME``)."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ctlabel"
    return Path(os.environ.get("CTLABEL_CACHE", default)) / name


def read_toml(path: str | Path, what: str) -> dict[str, Any]:
    """A TOML file as a dict; a missing or invalid file is one clear error naming ``what`` it is."""
    path = Path(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CtlabelError(f"{path}: {what} not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CtlabelError(f"{path}: not a valid TOML {what} ({exc})") from None


def dump_record(record: dict[str, Any]) -> str:
    """One JSONL line; the same record always gives the same bytes."""
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
