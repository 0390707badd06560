"""``ctlabel review push|pull|status``: the Label Studio round trip."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from ctlabel.cli.common import console, err_console, guarded, print_json, progress_bar
from ctlabel.errors import CtlabelError

if TYPE_CHECKING:
    from ctlabel.review.pull import PullSummary
    from ctlabel.review.server import Server

app = typer.Typer(help="Review machine labels in Label Studio and bring the decisions back.", no_args_is_help=True)

PROJECT = typer.Option(..., "--project", help="Label Studio project title.")
URL = typer.Option(None, "--url", help="Label Studio URL (default: $LABEL_STUDIO_URL, else http://localhost:8080).")
API_KEY = typer.Option(None, "--api-key", help="API token (default: $LABEL_STUDIO_API_KEY).")
LEDGER = typer.Option(None, "--ledger", help="Push ledger file (default: in ~/.cache/ctlabel/review).")


def connect(url: str | None, api_key: str | None) -> "Server":
    from urllib.parse import urlparse

    from ctlabel.errors import CtlabelError
    from ctlabel.review.server import Server

    url = url or os.environ.get("LABEL_STUDIO_URL", "http://localhost:8080")
    parts = urlparse(url)
    try:
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError:
        parts = urlparse("")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CtlabelError(f"--url {url!r} (or $LABEL_STUDIO_URL): not an http(s) address like http://localhost:8080")
    return Server(url, api_key or os.environ.get("LABEL_STUDIO_API_KEY"))


@app.command("push")
def push_command(
    mined: Path = typer.Argument(..., help="Mined records (JSONL)."),
    project: str = PROJECT,
    url: str | None = URL,
    api_key: str | None = API_KEY,
    local_files_root: Path | None = typer.Option(
        None, "--local-files-root",
        help="Serve images through Label Studio's local files (its LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT).",
    ),
    image_url_prefix: str | None = typer.Option(None, "--image-url-prefix", help="Serve images from this URL prefix instead."),
    ledger: Path | None = LEDGER,
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Create the project when missing and import the records as tasks with pre-annotations."""
    from ctlabel.review.push import ImageLinks, push

    def run():
        server = connect(url, api_key)
        links = ImageLinks(mined.parent, local_files_root, image_url_prefix)
        with progress_bar("pushing", None) as advance:
            return push(mined, project, server, links, advance, ledger)

    summary = guarded(run)
    if json_out:
        print_json(summary.to_json())
    else:
        console.print(
            f"project [bold]{project}[/] (id {summary.project_id}): {summary.created} created, "
            f"{summary.updated} updated, {summary.unchanged} unchanged"
        )
    for note in summary.notes:
        err_console.print(f"[yellow]note:[/] {note}", highlight=False)


@app.command("pull")
def pull_command(
    project: str | None = typer.Option(None, "--project", help="Label Studio project title."),
    output: Path = typer.Option(..., "-o", "--output", help="Where to write the reviewed records (JSONL)."),
    url: str | None = URL,
    api_key: str | None = API_KEY,
    from_export: Path | None = typer.Option(None, "--from-export", help="Read a Label Studio JSON export instead of the server."),
    records: Path | None = typer.Option(
        None, "--records", help="With --from-export: apply its human decisions to these (re-mined) records."
    ),
    ledger: Path | None = LEDGER,
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Write every pushed record once; human decisions resolved by majority, ties uncertain."""
    from ctlabel.review.pull import pull, tasks_from_export, tasks_from_server, with_records

    def run() -> "PullSummary":
        if from_export is not None:
            tasks = tasks_from_export(from_export)
            return pull(with_records(tasks, records) if records else tasks, output)
        if not project:
            raise CtlabelError("give --project (or --from-export FILE)")
        tasks, notes = tasks_from_server(connect(url, api_key), project, ledger)
        return pull(tasks, output, notes)

    summary = guarded(run)
    if json_out:
        print_json(summary.to_json())
        return
    console.print(
        f"{summary.records} records → {output}: {summary.human} reviewed by people, {summary.machine} machine "
        f"({summary.skipped_only} skipped by everyone)"
    )
    if summary.conflicts:
        console.print(f"[yellow]{len(summary.conflicts)} records with tied votes (now uncertain):[/]")
        for rid, labels in list(summary.conflicts.items())[:20]:
            console.print(f"  {rid}: {', '.join(labels)}", highlight=False)
    for note in summary.notes:
        err_console.print(f"[yellow]note:[/] {note}", highlight=False)


@app.command("status")
def status_command(
    project: str | None = typer.Option(None, "--project", help="Label Studio project title."),
    url: str | None = URL,
    api_key: str | None = API_KEY,
    from_export: Path | None = typer.Option(None, "--from-export", help="Read a Label Studio JSON export instead."),
    ledger: Path | None = LEDGER,
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Progress, Cohen's kappa machine vs people and between people, the rules people overrule most."""
    from ctlabel.review.pull import tasks_from_export, tasks_from_server
    from ctlabel.review.status import review_status

    def run():
        if from_export is not None:
            return review_status(list(tasks_from_export(from_export)))
        if not project:
            raise CtlabelError("give --project (or --from-export FILE)")
        return review_status(tasks_from_server(connect(url, api_key), project, ledger)[0])

    status = guarded(run)
    if json_out:
        print_json(status)
        return
    console.print(
        f"{status['tasks']} tasks: {status['annotated']} annotated, {status['skipped_only']} skipped, "
        f"{status['remaining']} to do; annotators: {', '.join(f'{a} ({n})' for a, n in status['annotators'].items()) or 'none'}"
    )
    table = Table(title="Agreement (Cohen's kappa, positive vs not)")
    for col in ("label", "machine vs people", "n", "people vs people", "pairs"):
        table.add_column(col, justify="left" if col == "label" else "right")

    def fmt(k):
        return "-" if k is None else f"{k:.2f}"

    for label, mh in status["machine_vs_human"].items():
        hh = status["human_vs_human"][label]
        table.add_row(label, fmt(mh["kappa"]), str(mh["n"]), fmt(hh["kappa"]), str(hh["n"]))
    console.print(table)
    if status["most_overruled_rules"]:
        console.print("Rules people overrule most:")
        for rule, n in status["most_overruled_rules"]:
            console.print(f"  {n:4d}  {rule}", highlight=False)
