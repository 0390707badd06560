"""``ctlabel run PIPELINE.toml``: the stages of a pipeline, re-running only what changed."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from ctlabel.cli.common import console, err_console, guarded, print_json


def run_command(
    pipeline: Path = typer.Argument(..., help="Pipeline file, e.g. pipelines/demo.toml."),
    only: str | None = typer.Option(None, "--only", help="Run this stage alone."),
    start: str | None = typer.Option(None, "--from", help="Run from this stage on."),
    force: bool = typer.Option(False, "--force", help="Run stages even when their outputs are current."),
    workdir: Path | None = typer.Option(
        None, "--workdir", help="Where outputs go (default: the file's [pipeline] workdir)."
    ),
    set_: list[str] = typer.Option(
        [], "--set", help="Set a pipeline variable: NAME=VALUE (e.g. data=../shared/data/covid-ct)."
    ),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Run mine → review → export → train as the file says; a stage whose outputs are current is skipped."""
    from ctlabel.errors import CtlabelError
    from ctlabel.pipeline.runner import run_pipeline
    from ctlabel.pipeline.spec import load_pipeline

    def run():
        overrides = {}
        for item in set_:
            if "=" not in item:
                raise CtlabelError(f"--set {item!r}: expected NAME=VALUE")
            key, value = item.split("=", 1)
            overrides[key.strip()] = value
        spec = load_pipeline(pipeline, overrides, workdir.resolve() if workdir else None)
        return spec, run_pipeline(
            spec, only, start, force, log=lambda line: err_console.print(line, highlight=False, markup=False)
        )

    spec, results = guarded(run)
    if json_out:
        print_json({"pipeline": str(pipeline), "workdir": str(spec.workdir), "stages": [r.__dict__ for r in results]})
        return
    table = Table(title=f"{spec.name}: outputs in {spec.workdir}")
    for col in ("stage", "status", "seconds", "result"):
        table.add_column(col, justify="right" if col == "seconds" else "left")
    for r in results:
        table.add_row(r.stage, r.status, f"{r.seconds:.1f}" if r.status == "ran" else "", r.summary)
    console.print(table)
