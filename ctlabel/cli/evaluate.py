"""``ctlabel evaluate GOLD MINED``: how well the miner agrees with gold labels."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from ctlabel.cli.common import console, guarded, print_json


def _ci(result: dict, key: str) -> str:
    lo_hi = result.get("ci95", {}).get(key)
    return f"[{lo_hi[0]:.3f}, {lo_hi[1]:.3f}]" if lo_hi else ""


def evaluate_command(
    gold: Path = typer.Argument(..., help="Gold CSV (dev-gold 0/1 format or an LA-DNN label file)."),
    mined: Path = typer.Argument(..., help="Mined or reviewed records (JSONL)."),
    uncertain: str = typer.Option("negative", "--uncertain", help="Count uncertain as negative or positive."),
    bootstrap: int = typer.Option(1000, "--bootstrap", min=0, help="Bootstrap rounds for the 95% intervals."),
    errors: int = typer.Option(0, "--errors", min=0, help="List up to N disagreements with their evidence."),
    json_out: bool = typer.Option(False, "--json", help="Print the metrics as JSON."),
) -> None:
    """Per-label precision/recall/F1, micro-F1, exact match and COVID accuracy, with 95% intervals."""
    from ctlabel.mine.evaluate import evaluate

    if uncertain not in ("negative", "positive"):
        raise typer.BadParameter("--uncertain is negative or positive")
    result = guarded(lambda: evaluate(gold, mined, 1 if uncertain == "positive" else 0, bootstrap))
    if json_out:
        print_json(result)
        return
    table = Table(title=f"{result['records']} records scored against {gold.name}")
    for col in ("label", "precision", "recall", "F1", "F1 95% CI", "support"):
        table.add_column(col, justify="left" if col == "label" else "right")
    for label, m in result["labels"].items():
        table.add_row(
            label,
            f"{m['precision']:.3f}",
            f"{m['recall']:.3f}",
            f"{m['f1']:.3f}",
            _ci(result, f"{label}.f1"),
            str(m["support"]),
        )
    console.print(table)
    for key, name in (
        ("micro_f1", "micro-F1 (lesions)"),
        ("exact_match", "exact match (lesions)"),
        ("covid_accuracy", "COVID accuracy"),
    ):
        if result.get(key) is not None:
            console.print(f"{name}: [bold]{result[key]:.3f}[/] {_ci(result, key)}")
    if "covid_states_by_gold" in result:
        for gold_value, states in result["covid_states_by_gold"].items():
            if states:
                shown = ", ".join(f"{s} {n}" for s, n in sorted(states.items()))
                console.print(f"gold covid={gold_value}: {shown}")
    lesion_first = sorted(result["errors"], key=lambda e: e["label"] == "covid")
    for error in lesion_first[:errors]:
        console.print(
            f"[yellow]{error['kind']}[/] {error['label']} {error['id']} (panel {error['panel'] or '-'}, {error['state']}): "
            + ("; ".join(error["evidence"]) or "no mention"),
            highlight=False,
        )
    if result["unmatched_gold"]:
        console.print(f"[yellow]{result['unmatched_gold']} gold rows had no mined record[/]")
