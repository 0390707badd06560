"""``ctlabel evaluate-pdf GOLD.json MINED.jsonl``: figures and captions against an answer key."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from ctlabel.cli.common import console, guarded, print_json

GOLD = typer.Argument(
    ..., help="Answer key (JSON list of figures: pdf, page, figure, caption_start, panels, bbox, covid)."
)
MINED = typer.Argument(..., help="Records from ctlabel mine pdf (JSONL).")


def _show(result: dict, errors: bool) -> None:
    table = Table(
        title=f"{result['mined_figures']} mined figures ({result['records']} records) vs {result['gold_figures']} in the key"
    )
    table.add_column("measure")
    table.add_column("value", justify="right")
    covid, recall = result["covid_precision"], result["covid_recall"]
    for name, value in (
        ("caption recall", f"{result['caption_recall']:.3f}"),
        ("caption precision", f"{result['caption_precision']:.3f}"),
        ("records inside the right figure", f"{result['records_inside']:.3f}"),
        ("panel letters exact (per figure)", f"{result['panels_exact']:.3f}"),
        ("mean crop IoU (per figure)", f"{result['mean_iou']:.3f}"),
        (
            "COVID-flag precision (per figure)",
            "-" if covid is None else f"{covid:.3f} of {result['covid_flagged']} flagged",
        ),
        (
            "COVID-flag recall (per figure)",
            "-" if recall is None else f"{recall:.3f} of {result['covid_gold_positive']} in the key",
        ),
    ):
        table.add_row(name, value)
    console.print(table)
    if not errors:
        return
    for row in result["figures"]:
        wrong = []
        if not row["caption"]:
            wrong.append("caption not found")
        else:
            if row["panels_gold"] != row["panels_mined"]:
                wrong.append(f"panels {''.join(row['panels_mined']) or '-'} (key {''.join(row['panels_gold']) or '-'})")
            if row["inside"] < row["records"]:
                wrong.append(f"{row['records'] - row['inside']} of {row['records']} records outside")
            if row["iou"] < 0.9:
                wrong.append(f"IoU {row['iou']:.2f}")
        if wrong:
            notes = f" [{'; '.join(row['notes'])}]" if row["notes"] else ""
            console.print(
                f"{row['pdf']} p{row['page']} fig {row['figure']}: {', '.join(wrong)}{notes}", highlight=False
            )
    for name in result["unmatched_mined"]:
        console.print(f"not in the key: {name}", highlight=False)


def evaluate_pdf_command(
    gold: Path = GOLD,
    mined: Path = MINED,
    errors: bool = typer.Option(False, "--errors", help="List every figure that is not exactly right, and why."),
    json_out: bool = typer.Option(False, "--json", help="Print the scores (and every figure) as JSON."),
) -> None:
    """Caption recall/precision, records inside the right figure, panel letters, crop IoU, COVID-flag precision."""
    from ctlabel.pdf.score import score

    result = guarded(lambda: score(gold, mined))
    print_json(result) if json_out else _show(result, errors)
