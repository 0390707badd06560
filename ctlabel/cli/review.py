"""``ctlabel review push|pull|status``: the Label Studio round trip."""

from __future__ import annotations

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


def connect(url: str | None, api_key: str | None) -> Server:
    """The Label Studio server at ``url`` with ``api_key`` (defaults from the environment, see ``Server.from_env``)."""
    from ctlabel.review.server import Server

    return Server.from_env(url, api_key)


@app.command("server")
def server_command(
    data_dir: Path | None = typer.Option(
        None, "--data-dir", help="Label Studio's data (default: ~/.cache/ctlabel/label-studio)."
    ),
    files_root: Path = typer.Option(
        Path("."), "--files-root", help="Images below this folder are served to annotators."
    ),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8080, "--port"),
    database: str | None = typer.Option(None, "--database", help="sqlite (default) or postgresql://USER@HOST/DB."),
) -> None:
    """Start a local Label Studio for ctlabel (admin user and API token made once); Ctrl-C stops it."""
    import signal

    from ctlabel.io import cache_dir
    from ctlabel.review import launch

    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a TERM stops it like Ctrl-C, even while starting
    proc, server = guarded(
        lambda: launch.start((data_dir or cache_dir("label-studio")).resolve(), files_root, host, port, database)
    )
    launch.remember(server)
    console.print(
        f"Label Studio at [bold]{server.url}[/] ({server.database}; data {server.data_dir}; images below {server.files_root}; "
        f"log {server.log})\nlog in as {server.username} / {server.password}\nPaste in the shell where you run ctlabel:",
        highlight=False,
        soft_wrap=True,
    )
    print(f"export LABEL_STUDIO_URL={server.url}\nexport LABEL_STUDIO_API_KEY={server.token}", flush=True)
    try:
        code = proc.wait()
        err_console.print(
            f"[bold red]error:[/] Label Studio exited with code {code} (log: {server.log})", highlight=False
        )
        raise typer.Exit(1)
    except KeyboardInterrupt:
        launch.stop(proc)
        console.print("Label Studio stopped")
    finally:
        launch.forget(server)


@app.command("push")
def push_command(
    mined: Path = typer.Argument(..., help="Mined records (JSONL)."),
    project: str = PROJECT,
    url: str | None = URL,
    api_key: str | None = API_KEY,
    images: Path | None = typer.Option(
        None, "--images", help="Folder a record's relative image is in (default: the mined file's)."
    ),
    local_files_root: Path | None = typer.Option(
        None,
        "--local-files-root",
        help="The server's local files root (default: from `ctlabel review server`, else $LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT); "
        "images elsewhere are uploaded.",
    ),
    image_url_prefix: str | None = typer.Option(
        None, "--image-url-prefix", help="Serve images from this URL prefix instead."
    ),
    ledger: Path | None = LEDGER,
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Create the project when missing and import the records as tasks with pre-annotations."""
    from ctlabel.review.launch import files_root_for
    from ctlabel.review.push import ImageLinks, push

    def run():
        server = connect(url, api_key)
        links = ImageLinks(images or mined.parent, local_files_root or files_root_for(server.url), image_url_prefix)
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
    from_export: Path | None = typer.Option(
        None, "--from-export", help="Read a Label Studio JSON export instead of the server."
    ),
    records: Path | None = typer.Option(
        None, "--records", help="With --from-export: apply its human decisions to these (re-mined) records."
    ),
    ledger: Path | None = LEDGER,
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Write every pushed record once; human decisions resolved by majority, ties uncertain."""
    from ctlabel.io import check_outputs
    from ctlabel.review.pull import pull, tasks_from_export, tasks_from_server, with_records

    def run() -> PullSummary:
        check_outputs([output], [from_export, records])
        if from_export is not None:
            exported = tasks_from_export(from_export)
            return pull(with_records(exported, records) if records else exported, output)
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

    for label, machine in status["machine_vs_human"].items():
        people = status["human_vs_human"][label]
        table.add_row(label, fmt(machine["kappa"]), str(machine["n"]), fmt(people["kappa"]), str(people["n"]))
    console.print(table)
    if status["most_overruled_rules"]:
        console.print("Rules people overrule most:")
        for rule, n in status["most_overruled_rules"]:
            console.print(f"  {n:4d}  {rule}", highlight=False)
