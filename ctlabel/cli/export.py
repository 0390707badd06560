"""``ctlabel export``, ``ctlabel validate`` and ``ctlabel diff``: the label files."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from ctlabel.cli.common import console, err_console, guarded, print_json, report_skipped
from ctlabel.export.diff import diff_labels
from ctlabel.export.export import ExportOptions, ExportSummary, export_labels
from ctlabel.export.formats import CODES, FORMATS
from ctlabel.export.validate import validate_labels
from ctlabel.schema import KINDS


def _choice(value: str | None, allowed: tuple[str, ...], option: str) -> None:
    if value is not None and value not in allowed:
        raise typer.BadParameter(f"{option} is one of {', '.join(allowed)}")


def export_command(
    input: Path = typer.Argument(..., help="Mined or reviewed records (JSONL)."),
    output: Path = typer.Option(..., "-o", "--output", help="The label file to write (CSV)."),
    fmt: str = typer.Option("ladnn", "--format", help="ladnn (codes), binary (0/1) or chexpert (1/0/-1/blank)."),
    negatives: list[Path] = typer.Option([], "--negatives", help="Folder of non-COVID images, or a CSV listing them."),
    positives: list[Path] = typer.Option(
        [], "--positives", help="COVID images without text (folder or CSV): CVD19 rows with unknown lesions."
    ),
    uncertain: str | None = typer.Option(
        None, "--uncertain", help="positive, negative or blank (default: negative; chexpert keeps -1)."
    ),
    covid: str = typer.Option(
        "mined", "--covid", help="mined: the record's flag; positive: every input record is a COVID image."
    ),
    split: str | None = typer.Option(None, "--split", help="Train/val/test ratios, e.g. 60/15/25."),
    group: str = typer.Option("patient", "--group", help="Keep each patient (or doc) in one split."),
    seed: int = typer.Option(0, "--seed"),
    splits_dir: Path | None = typer.Option(
        None, "--splits-dir", help="Where train/val/test.csv go (default: beside -o)."
    ),
    split_file: Path | None = typer.Option(None, "--split-file", help="Reproduce a given split (image,split CSV)."),
    kind: list[str] = typer.Option(
        [],
        "--kind",
        help="Only records of this picture kind (PDF records: ct, xray, chart, diagram, photo, other); repeat for several.",
    ),
    strict: bool = typer.Option(False, "--strict", help="Exit non-zero when a record was skipped."),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Write the label file the trainer reads, with known negatives and patient-level splits."""
    _choice(fmt, FORMATS, "--format")
    _choice(uncertain, ("positive", "negative", "blank"), "--uncertain")
    _choice(covid, ("mined", "positive"), "--covid")
    _choice(group, ("patient", "doc"), "--group")
    for value in kind:
        _choice(value, KINDS, "--kind")
    if split and split_file:
        raise typer.BadParameter("give --split or --split-file, not both")
    options = ExportOptions(
        fmt, uncertain, covid, list(negatives), list(positives), split, group, seed, splits_dir, split_file, list(kind)
    )
    summary: ExportSummary = guarded(lambda: export_labels(input, output, options))
    if json_out:
        print_json(summary.to_json())
    else:
        table = Table(title=f"{summary.rows} rows ({summary.negatives} negatives) → {output}")
        table.add_column("")
        for code in CODES:
            table.add_column(code, justify="right")
        table.add_row("all", *(str(summary.positives[c]) for c in CODES))
        for split, counts in summary.splits.items():
            table.add_row(f"{split} ({counts['rows']})", *(str(counts[c]) for c in CODES))
        console.print(table)
    for warning in summary.warnings:
        err_console.print(f"[yellow]warning:[/] {warning}")
    report_skipped(summary.skipped, strict, "records")


def validate_command(
    labels: Path = typer.Argument(..., help="Label file (ladnn, binary or chexpert)."),
    images: Path | None = typer.Option(None, "--images", help="Check every image exists below this folder."),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Check a label file: header, codes, duplicate names, images present, lesions on non-COVID rows."""
    result = guarded(lambda: validate_labels(labels, images))
    if json_out:
        print_json(result.to_json())
    else:
        for error in result.errors:
            console.print(f"[red]error:[/] {error}", highlight=False)
        for warning in result.warnings[:20]:
            console.print(f"[yellow]warning:[/] {warning}", highlight=False)
        verdict = "[green]ok[/]" if result.ok else f"[red]{len(result.errors)} error(s)[/]"
        console.print(
            f"{labels}: {result.rows} rows, {result.format} format, {verdict}, {len(result.warnings)} warning(s)"
        )
    if not result.ok:
        raise typer.Exit(1)


def diff_command(
    old: Path = typer.Argument(..., help="The label file released before."),
    new: Path = typer.Argument(..., help="The new label file."),
    json_out: bool = typer.Option(False, "--json"),
    show: int = typer.Option(10, "--show", help="Image names listed per change."),
) -> None:
    """What changed: images added and removed, per-label flips with names, counts before and after."""
    result = guarded(lambda: diff_labels(old, new))
    if json_out:
        print_json(result)
        return
    table = Table(title=f"{old.name} → {new.name}")
    for col in ("label", "before", "after", "gained", "lost"):
        table.add_column(col, justify="left" if col == "label" else "right")
    before, after = result["counts"]["old"], result["counts"]["new"]
    table.add_row(
        "rows", str(before["rows"]), str(after["rows"]), f"+{len(result['added'])}", f"-{len(result['removed'])}"
    )
    for code in CODES:
        flips = result["flips"][code]
        table.add_row(code, str(before[code]), str(after[code]), str(len(flips["gained"])), str(len(flips["lost"])))
    console.print(table)
    for code in CODES:
        for kind in ("gained", "lost"):
            names = result["flips"][code][kind]
            if names:
                more = f" … +{len(names) - show}" if len(names) > show else ""
                console.print(f"{code} {kind}: {', '.join(names[:show])}{more}", highlight=False)
    for kind in ("added", "removed"):
        if result[kind]:
            console.print(
                f"{kind}: {', '.join(result[kind][:show])}" + (" …" if len(result[kind]) > show else ""),
                highlight=False,
            )
    for side, path in (("old", old), ("new", new)):
        if repeated := result["duplicates"][side]:
            err_console.print(
                f"[yellow]warning:[/] {path} repeats {len(repeated)} image(s) with the same labels (first: {repeated[0]})"
            )
