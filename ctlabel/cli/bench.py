"""``ctlabel bench …``: speed and memory of each stage, measured on the whole command."""

from __future__ import annotations

from pathlib import Path

import typer

from ctlabel.cli.common import console, guarded, print_json
from ctlabel.mine.bench import bench_mine

app = typer.Typer(help="Benchmarks: throughput and memory of each stage.", no_args_is_help=True)


@app.command("mine")
def bench_mine_command(
    input: Path = typer.Argument(..., help="Table to mine (e.g. ../shared/data/covid-ct/lesion-gold-dev.csv)."),
    repeat: int = typer.Option(200, "--repeat", min=1, help="Repeat the rows this many times (fresh ids)."),
    processes: int = typer.Option(1, "--processes", "-p", min=1),
    id_col: str = typer.Option("image", "--id-col"),
    text_col: list[str] = typer.Option(["caption", "report"], "--text-col"),
    unique_texts: bool = typer.Option(
        False, "--unique-texts", help="Make every copied text distinct (no parse is shared by siblings)."
    ),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Records/s and peak memory of `ctlabel mine captions` on INPUT repeated --repeat times."""
    result = guarded(lambda: bench_mine(input, repeat, processes, id_col, tuple(text_col), unique_texts))
    if json_out:
        print_json(result)
    else:
        console.print(
            f"{result['records']} records in {result['seconds']:.2f} s with {processes} process(es): "
            f"[bold]{result['records_per_s']:.0f} records/s[/], peak memory {result['peak_rss_mb']:.0f} MB"
        )


@app.command("review")
def bench_review_command(
    url: str | None = typer.Option(None, "--url", help="Label Studio URL (default: $LABEL_STUDIO_URL)."),
    api_key: str | None = typer.Option(None, "--api-key", help="API token (default: $LABEL_STUDIO_API_KEY)."),
    push_n: int = typer.Option(10_000, "--push", help="Tasks pushed (timed)."),
    pull_n: int = typer.Option(50_000, "--pull", help="Tasks in the project when pulling (timed)."),
    annotate_n: int = typer.Option(200, "--annotate", help="Tasks annotated before the pull."),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Push N tasks and pull M against a running Label Studio (a temporary project, deleted after)."""
    from ctlabel.cli.review import connect
    from ctlabel.review.bench import bench_review

    result = guarded(lambda: bench_review(connect(url, api_key), push_n, pull_n, annotate_n))
    if json_out:
        print_json(result)
        return
    for key in ("push", "push_more", "pull"):
        if key in result:
            r = result[key]
            n = r.get("tasks", r.get("records"))
            console.print(f"{key:9s} {n:7d} in {r['seconds']:6.1f} s  ({r['per_s']:.0f}/s)")
