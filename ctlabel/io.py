"""File input and output shared by the stages: tables in, JSONL in and out, atomic writes."""

from __future__ import annotations

import codecs
import csv
import json
import os
import tempfile
import tomllib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast

from ctlabel.errors import CtlabelError
from ctlabel.schema import Record

ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
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
    note: str = ""  # e.g. which sheet of a workbook was read


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_outputs(outputs: Iterable[str | Path | None], inputs: Iterable[str | Path | None]) -> None:
    """Refuse, before any work, an output that is a folder or the same file as an input."""
    existing = [Path(i) for i in inputs if i is not None and Path(i).exists()]
    for output in outputs:
        if output is None:
            continue
        out = Path(output)
        if out.is_dir():
            raise CtlabelError(f"{out}: is a folder; give a file name for the output")
        for source in existing:
            if out.resolve() == source.resolve() or (out.exists() and os.path.samefile(out, source)):
                raise CtlabelError(f"{out}: the output is the input {source}; choose another output file")


def _temp_beside(path: Path) -> tuple[int, str]:
    """A new temporary file in ``path``'s folder (made if missing); a folder that cannot take it is one error."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise CtlabelError(f"{path}: cannot be written ({exc.strerror or exc})") from None


@contextmanager
def atomic_write(path: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Write to a temporary file beside ``path`` and rename it into place only on success."""
    path = Path(path)
    fd, tmp = _temp_beside(path)
    try:
        with os.fdopen(
            fd, mode, encoding=encoding if "b" not in mode else None, newline="" if "b" not in mode else None
        ) as fh:
            yield fh
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; a new file follows the umask
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_files(contents: dict[Path, str]) -> None:
    """Write several text files as a set: all to temporary files first, then each renamed into place."""
    staged: list[tuple[str, Path]] = []
    try:
        for path, text in contents.items():
            fd, tmp = _temp_beside(path)
            staged.append((tmp, path))
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
                fh.write(text)
            os.chmod(tmp, 0o666 & ~_umask())
    except BaseException:
        for tmp, _ in staged:
            Path(tmp).unlink(missing_ok=True)
        raise
    for tmp, path in staged:
        os.replace(tmp, path)


def _decodes(path: Path, name: str, chunk: int) -> bool:
    decoder = codecs.getincrementaldecoder(name)()
    try:
        with path.open("rb") as fh:
            while block := fh.read(chunk):
                decoder.decode(block)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(path: Path, chunk: int = 1 << 20) -> str:
    """UTF-16/32 when the file starts with their byte-order mark (and decodes as such), else the
    first of UTF-8, cp1252 and Latin-1 that decodes the whole file (streamed)."""
    with path.open("rb") as fh:
        head = fh.read(4)
    marked = [name for bom, name in BOMS if head.startswith(bom)][:1]
    return next((name for name in [*marked, *ENCODINGS] if _decodes(path, name, chunk)), "latin-1")


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


def read_table(path: str | Path, sheet: str | None = None) -> Table:
    """Open a CSV, TSV, XLSX or JSONL file for row-by-row reading (1-based row numbers);
    ``sheet`` names the sheet of a workbook (default: the first)."""
    path = Path(path)
    _check_file(path)
    suffix = path.suffix.lower()
    if sheet is not None and suffix not in (".xlsx", ".xlsm"):
        raise CtlabelError(f"{path}: --sheet is for XLSX workbooks, this is a {suffix or 'suffix-less'} file")
    if suffix in (".jsonl", ".ndjson"):
        return _read_jsonl_table(path)
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path, sheet)
    return _read_delimited(path, TABLE_SUFFIXES.get(suffix, ","))


class _Lines:
    """The physical lines of a file handed to csv.reader, with the lines of the current record
    kept and a way to hand some back (to re-read rows a stray quote swallowed)."""

    def __init__(self, fh: IO[str]) -> None:
        self.fh = fh
        self.back: deque[str] = deque()
        self.taken: list[str] = []
        self.number = 0  # physical lines handed out so far

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = self.back.popleft() if self.back else next(self.fh)
        self.taken.append(line)
        self.number += 1
        return line

    def give_back(self, lines: list[str]) -> None:
        self.back.extendleft(reversed(lines))
        self.number -= len(lines)


def _read_delimited(path: Path, delimiter: str) -> Table:
    """Rows read strictly: a quote that opens a cell must close it right before a delimiter or the
    line's end. A stray quote in an unquoted file breaks that rule where its cell would end (or at
    the end of the file); that row is reported and the lines it took are read again as rows."""
    encoding = detect_encoding(path)
    fh = path.open(encoding=encoding, newline="")
    lines = _Lines(fh)
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except (StopIteration, csv.Error, UnicodeError) as exc:
        fh.close()
        problem = "the file is empty" if isinstance(exc, StopIteration) else f"the header cannot be read ({exc})"
        raise CtlabelError(f"{path}: {problem}") from None
    columns = [c.strip() for c in header]
    table = Table(path, columns, iter(()), "utf-8" if encoding == "utf-8-sig" else encoding)

    def lost(first: int, taken: list[str], why: str) -> None:
        """A broken record: report its first line, and read the lines after it again as rows."""
        if len(taken) > 1:
            lines.give_back(taken[1:])
            again = f"line {first + 1}" if len(taken) == 2 else f"lines {first + 1}-{first + len(taken) - 1}"
            why += f"; {again} read again"
        table.skipped.append(f"row {first}: {why}")

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        with fh:
            while True:
                lines.taken = []
                first = lines.number + 1
                try:
                    values = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    taken = lines.taken
                    if len(taken) == 1:  # a sloppy quote inside one line: read it leniently
                        values = next(csv.reader(taken, delimiter=delimiter), [])
                        if len(values) == len(columns):
                            yield first, dict(zip(columns, values))
                            continue
                    lost(first, taken, f"unmatched quote ({exc})")
                    continue
                except UnicodeError as exc:
                    raise CtlabelError(f"{path}: line {first}: cannot be decoded as {encoding} ({exc})") from None
                if not values:
                    continue
                taken = lines.taken
                if len(taken) > 1 and len(values) != len(columns):
                    lost(first, taken, f"a quote opened here runs over {len(taken)} lines")
                    continue
                if len(values) != len(columns):
                    table.skipped.append(f"row {first}: {len(values)} fields where the header has {len(columns)}")
                    continue
                yield first, dict(zip(columns, values))

    table.rows = rows()
    return table


def _read_xlsx(path: Path, sheet: str | None) -> Table:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise CtlabelError(f"{path}: not a readable XLSX workbook ({exc.__class__.__name__})") from None
    names = book.sheetnames
    if sheet is not None and sheet not in names:
        raise CtlabelError(f"{path}: no sheet {sheet!r}; the sheets are {', '.join(map(repr, names))}")
    chosen = sheet or names[0]
    sheet_rows = book[chosen].iter_rows(values_only=True)
    header = next(sheet_rows, None)
    if not header:
        raise CtlabelError(f"{path}: sheet {chosen!r} is empty")
    columns = ["" if c is None else str(c).strip() for c in header]

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        for number, values in enumerate(sheet_rows, start=2):
            if values is None or all(v is None for v in values):
                continue
            yield number, {c: ("" if v is None else v) for c, v in zip(columns, values)}
        book.close()

    note = f"sheet {chosen!r}" + (f" of {len(names)} (choose with --sheet)" if len(names) > 1 and sheet is None else "")
    return Table(path, columns, rows(), "xlsx", note=note)


def _read_jsonl_table(path: Path) -> Table:
    """A JSONL table; its columns are the keys of all its lines, in order of appearance."""
    encoding = detect_encoding(path)
    table = Table(path, [], iter(()), "utf-8" if encoding == "utf-8-sig" else encoding)
    keys: dict[str, None] = {}
    try:
        with path.open(encoding=encoding) as fh:
            for _, obj in _json_lines(fh, lambda problem: None):
                keys.update(dict.fromkeys(obj))
    except UnicodeError as exc:
        raise CtlabelError(f"{path}: cannot be decoded as {encoding} ({exc})") from None
    if not keys:
        raise CtlabelError(f"{path}: no JSON object in the file")
    table.columns = list(keys)

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        with path.open(encoding=encoding) as fh:
            yield from _json_lines(fh, table.skipped.append)

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


def read_records(path: str | Path, skipped: list[str] | None = None) -> Iterator[Record]:
    """Stream the records of a JSONL file; a bad line goes to ``skipped``, or stops with an error
    when ``skipped`` is None."""
    path = Path(path)
    _check_file(path)

    def report(problem: str) -> None:
        if skipped is None:
            raise CtlabelError(f"{path}: {problem}")
        skipped.append(problem)

    with path.open("rb") as raw:
        head = raw.read(4)
    encoding = next((name for bom, name in BOMS if head.startswith(bom)), "utf-8-sig")
    with path.open(encoding=encoding) as fh:
        try:
            for number, obj in _json_lines(fh, report):
                if "id" in obj:
                    yield cast(Record, obj)
                else:
                    report(f"line {number}: record without 'id'")
        except UnicodeDecodeError as exc:
            raise CtlabelError(f"{path}: not UTF-8 text ({exc.reason}); records files are UTF-8 JSONL") from None


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


def dump_record(record: Mapping[str, Any]) -> str:
    """One JSONL line; the same record always gives the same bytes."""
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"


IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif", ".webp"}


def index_images(root: Path) -> dict[str, Path]:
    """Image file name → path, for every image below ``root``."""
    return {p.name: p for p in sorted(root.rglob("*")) if p.suffix.lower() in IMAGE_SUFFIXES}
