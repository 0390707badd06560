"""``ctlabel``: mine, review, export and train; run a whole pipeline; benchmark each stage."""

from __future__ import annotations

import typer

from ctlabel import __version__
from ctlabel.cli import (
    bench,
    evaluate,
    evaluate_pdf,
    export,
    mine,
    pipeline,
    pretrain,
    review,
    train,
)
from ctlabel.cli.common import SETTINGS, OneLineUsage

app = typer.Typer(
    help="Turn the text around chest CT images into COVID-19 and lesion labels, and train on them.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    cls=OneLineUsage,
)
app.command("run")(pipeline.run_command)
app.add_typer(mine.app, name="mine")
app.command("evaluate")(evaluate.evaluate_command)
app.command("evaluate-pdf")(evaluate_pdf.evaluate_pdf_command)
app.add_typer(review.app, name="review")
app.command("export")(export.export_command)
app.command("validate")(export.validate_command)
app.command("diff")(export.diff_command)
app.command("train")(train.train_command)
app.command("pretrain")(pretrain.pretrain_command)
app.command("predict")(train.predict_command)
app.command("explain")(train.explain_command)
app.command("report")(train.report_command)
app.command("compare")(train.compare_command)
app.add_typer(bench.app, name="bench")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ctlabel {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks instead of one-line errors."),
) -> None:
    """Stages: [bold]mine[/] → review → export → train. Start with [cyan]ctlabel run pipelines/demo.toml[/]."""
    SETTINGS.debug = debug
