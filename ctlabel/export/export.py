"""``ctlabel export``: mined or reviewed records (+ known negatives) → label file and splits."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

from ctlabel.errors import CtlabelError
from ctlabel.export.formats import CODES, COVID_CODE, HEADER, States, apply_uncertain, to_cells
from ctlabel.export.splits import SPLITS, grouped_split, parse_ratios, ratio_warning, read_split_file
from ctlabel.io import IMAGE_SUFFIXES, NAME_COLUMNS, check_outputs, read_records, read_table, write_files
from ctlabel.schema import ABSENT, COVID, LESIONS, NEGATIVE, POSITIVE, STATES, Record, state_of

NEGATIVE_CLASSES = {"noncovid", "non-covid", "negative", "0", "normal"}
POSITIVE_CLASSES = {"covid", "covid-19", "positive", "1"}


@dataclass
class ExportOptions:
    """How to export: label format, uncertain and COVID policies, listed negatives/positives, split, kinds kept."""

    format: str = "ladnn"
    uncertain: str | None = None  # None: negative for ladnn/binary, keep (-1) for chexpert
    covid: str = "mined"  # or "positive": every input record is a COVID image
    negatives: list[Path] = field(default_factory=list)
    positives: list[Path] = field(default_factory=list)
    split: str | None = None
    group: str = "patient"
    seed: int = 0
    splits_dir: Path | None = None
    split_file: Path | None = None
    kinds: list[str] = field(default_factory=list)  # keep only records of these kinds (PDF records: ct, xray, …)


@dataclass
class Row:
    """One row of the label file: the image name, the group it is split by (``patient:…``/``doc:…``) and its states."""

    name: str
    group: str
    states: States


@dataclass
class ExportSummary:
    """What an export wrote: row counts, positives per code, rows per split, skipped inputs and warnings."""

    output: str
    rows: int = 0
    negatives: int = 0
    positives_listed: int = 0
    positives: dict[str, int] = field(default_factory=dict)
    splits: dict[str, dict[str, int]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    other_kinds: int = 0  # records left out by --kind

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


def check_record(record: Mapping[str, Any]) -> str | None:
    """What is wrong with a record's labels (a missing or unknown key or state), or None."""
    if record.get("image") is not None and not isinstance(record["image"], str):
        return f"'image' is {record['image']!r}, not a file name"
    lesions = record.get("lesions")
    if not isinstance(lesions, dict):
        return "no 'lesions' table"
    unknown = sorted(set(lesions) - set(LESIONS))
    if unknown:
        return f"unknown lesion code {unknown[0]!r} (codes: {', '.join(LESIONS)})"
    for label, entry in [(COVID, record.get(COVID)), *((code, lesions.get(code)) for code in LESIONS)]:
        where = label if label == COVID else f"lesions.{label}"
        if not isinstance(entry, dict) or "state" not in entry:
            return f"no '{where}' state"
        if entry["state"] not in STATES:
            return f"'{where}' has unknown state {entry['state']!r} (states: {', '.join(STATES)})"
    return None


def _record_row(record: Record, options: ExportOptions, policy: str) -> Row:
    image = record.get("image")
    name = PurePath(image).name if image else str(record["id"])
    covid = POSITIVE if options.covid == "positive" else state_of(record, "covid")
    states = {COVID_CODE: apply_uncertain(covid, policy)}
    states |= {code: apply_uncertain(state_of(record, code), policy) for code in LESIONS}
    doc, patient = record.get("doc_id"), record.get("patient_id")
    group = next((str(v) for v in ((patient, doc) if options.group == "patient" else (doc,)) if v), name)
    return Row(name, f"{options.group}:{group}", states)


def _listed_images(
    source: Path, classes: set[str], covid_value: str, skipped: list[str]
) -> Iterator[tuple[str, str | None]]:
    """(image name, patient id or None) of each image of a folder, or of a CSV's rows whose
    ``class`` is in ``classes`` (and whose ``covid`` column, if any, is ``covid_value``)."""
    if source.is_dir():
        images = sorted(p for p in source.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if not images:
            raise CtlabelError(f"{source}: no image ({', '.join(sorted(IMAGE_SUFFIXES))}) in this folder")
        for path in images:
            yield path.name, None
        return
    table = read_table(source)
    name_col = next((c for c in NAME_COLUMNS if c in table.columns), None)
    if name_col is None:
        raise CtlabelError(f"{source}: negatives need a column imgname, image or id; it has {', '.join(table.columns)}")
    for number, row in table.rows:
        if "class" in row and str(row["class"]).strip().lower() not in classes:
            continue
        if "covid" in row and str(row["covid"]).strip() not in (covid_value, ""):
            continue
        name = str(row[name_col]).strip()
        if not name:
            skipped.append(f"{source}: row {number}: empty image name")
            continue
        yield PurePath(name).name, (str(row.get("patient_id") or "").strip() or None)
    skipped.extend(f"{source}: {line}" for line in table.skipped)


def _listed_row(name: str, patient: str | None, covid: str) -> Row:
    states = {code: ABSENT for code in CODES}
    states[COVID_CODE] = covid
    return Row(name, f"patient:{patient}" if patient else f"image:{name}", states)


def label_text(rows: list[Row], fmt: str) -> str:
    """The label file's content (header and one line per row)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    for row in rows:
        cells = to_cells(row.states, fmt)
        writer.writerow([row.name, *(cells[c] for c in CODES)])
    return buffer.getvalue()


def _assign_splits(
    rows: list[Row], options: ExportOptions, given: dict[str, str], summary: ExportSummary
) -> dict[str, str]:
    if options.split_file:
        missing = [r.name for r in rows if r.name not in given]
        if missing:
            summary.warnings.append(
                f"{len(missing)} rows are not in {options.split_file} and go to no split (first: {missing[0]})"
            )
        names = {r.name for r in rows}
        extra = [n for n in given if n not in names]
        if extra:
            summary.warnings.append(
                f"{len(extra)} images of {options.split_file} are not in the labels (first: {extra[0]})"
            )
        return {r.name: given[r.name] for r in rows if r.name in given}
    items = {r.name: (r.group, frozenset(c for c, s in r.states.items() if s == POSITIVE)) for r in rows}
    return grouped_split(items, parse_ratios(options.split or ""), options.seed)


def split_outputs(output: Path, options: ExportOptions) -> list[Path]:
    """The split files an export writes beside the labels (none without --split or --split-file)."""
    if not (options.split or options.split_file):
        return []
    splits_dir = options.splits_dir or output.parent
    return [splits_dir / f"{s}.csv" for s in SPLITS] + [splits_dir / "split.csv"]


def export_labels(input_path: str | Path, output: str | Path, options: ExportOptions) -> ExportSummary:
    """Write the label file (and the split files when asked) as one set, after every input and
    option was checked; return what was written."""
    output = Path(output)
    policy = options.uncertain or ("keep" if options.format == "chexpert" else "negative")
    summary = ExportSummary(str(output))
    sources = [input_path, *options.negatives, *options.positives, options.split_file]
    check_outputs([output, *split_outputs(output, options)], sources)
    if options.splits_dir is not None and options.splits_dir.exists() and not options.splits_dir.is_dir():
        raise CtlabelError(f"{options.splits_dir}: --splits-dir is a file, expected a folder")
    if options.split:
        parse_ratios(options.split)
        if warning := ratio_warning(options.split):
            summary.warnings.append(warning)
    given = read_split_file(options.split_file) if options.split_file else {}
    rows: list[Row] = []
    seen: set[str] = set()

    def add(row: Row, origin: str) -> None:
        if row.name in seen:
            raise CtlabelError(f"{origin}: image name {row.name!r} appears twice; names must be unique in a label file")
        seen.add(row.name)
        rows.append(row)

    for record in read_records(input_path, summary.skipped):
        if options.kinds and record.get("kind") not in options.kinds:
            summary.other_kinds += 1
            continue
        if problem := check_record(record):
            raise CtlabelError(f"{input_path}: record {record['id']!r}: {problem}")
        add(_record_row(record, options, policy), f"{input_path}: record {record['id']!r}")
    if not rows:
        kinds = f" of kind {', '.join(options.kinds)}" if options.kinds else ""
        raise CtlabelError(f"{input_path}: no record{kinds} to export")
    if summary.other_kinds:
        summary.warnings.append(f"{summary.other_kinds} records of another kind (or none) left out by --kind")
    for source in options.positives:  # COVID images without text: CVD19 only, lesions unknown
        for name, patient in _listed_images(Path(source), POSITIVE_CLASSES, "1", summary.skipped):
            if name not in seen:
                add(_listed_row(name, patient, POSITIVE), str(source))
                summary.positives_listed += 1
    for source in options.negatives:
        for name, patient in _listed_images(Path(source), NEGATIVE_CLASSES, "0", summary.skipped):
            add(_listed_row(name, patient, NEGATIVE), str(source))
            summary.negatives += 1
    summary.rows = len(rows)
    summary.positives = {c: sum(r.states[c] == POSITIVE for r in rows) for c in CODES}
    files = {output: label_text(rows, options.format)}
    if options.split or options.split_file:
        files |= _split_files(rows, options, given, summary, output)
    write_files(files)
    return summary


def _split_files(
    rows: list[Row], options: ExportOptions, given: dict[str, str], summary: ExportSummary, output: Path
) -> dict[Path, str]:
    assignment = _assign_splits(rows, options, given, summary)
    splits_dir = options.splits_dir or output.parent
    files: dict[Path, str] = {}
    if options.split_file:  # keep the given file's order, so the split is reproduced exactly
        order = list(given)
        by_name = {r.name: r for r in rows}
        ordered = [by_name[n] for n in order if n in by_name]
    else:
        ordered = rows
    for split in SPLITS:
        members = [r for r in ordered if assignment.get(r.name) == split]
        files[splits_dir / f"{split}.csv"] = label_text(members, options.format)
        counts = Counter(c for r in members for c, s in r.states.items() if s == POSITIVE)
        summary.splits[split] = {"rows": len(members), **{c: counts.get(c, 0) for c in CODES}}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["image", "split"])
    writer.writerows((r.name, assignment[r.name]) for r in ordered if r.name in assignment)
    files[splits_dir / "split.csv"] = buffer.getvalue()
    for code in CODES:
        if summary.positives[code] >= 3:
            lacking = [s for s in SPLITS if summary.splits[s]["rows"] and not summary.splits[s][code]]
            if lacking:
                summary.warnings.append(f"{code}: no positive in {', '.join(lacking)}")
    groups: dict[str, set[str]] = {}
    for r in rows:
        if r.name in assignment:
            groups.setdefault(r.group, set()).add(assignment[r.name])
    spanning = [g for g, s in groups.items() if len(s) > 1]
    if spanning:
        summary.warnings.append(f"{len(spanning)} groups span two splits (first: {spanning[0]})")
    return files
