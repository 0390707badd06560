"""``ctlabel mine pdf … --store STORE [--cluster local:N | --scheduler ADDR]``: the corpus run's CLI side."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from ctlabel.cli.common import console, err_console, guarded, print_json, report_skipped
from ctlabel.errors import CtlabelError


class _Bar:
    """PDFs done, pages, pages/s, failures and ETA (on a terminal; silent in pipes)."""

    def __init__(self, bar: Progress, total: int) -> None:
        self.bar, self.pages, self.failed = bar, 0, 0
        self.task = bar.add_task("PDFs", total=total, pages=0, rate=0.0, failed=0)

    def start(self, done_before: int) -> None:
        self.bar.reset(self.task, completed=done_before)  # ETA and rate from this run's PDFs only

    def __call__(self, result: dict[str, Any]) -> None:
        self.pages += result["pages"]
        self.failed += result["status"] != "ok"
        elapsed = self.bar.tasks[0].elapsed or 1e-9
        self.bar.update(self.task, advance=1, pages=self.pages, rate=self.pages / elapsed, failed=self.failed)


@contextmanager
def _bar(total: int) -> Iterator[_Bar]:
    columns = [
        TextColumn("[bold]PDFs"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[pages]} pages · {task.fields[rate]:.1f} pages/s · {task.fields[failed]} failed"),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=err_console, transient=True, disable=not err_console.is_terminal) as bar:
        yield _Bar(bar, total)


def corpus_run(
    paths: list[Path],
    output: Path,
    store: Path | None,
    figures_dir: Path | None,
    overlay: Path | None,
    cluster: str | None,
    scheduler: str | None,
    processes: int,
    dpi: int,
    timeout: float,
    lexicon: Path | None,
    retries: int,
    memory_limit: str,
    strict: bool,
    json_out: bool,
) -> None:
    """``mine pdf`` with ``--store``: mine the PDFs of ``paths`` into the folder ``output`` through the
    extraction store (on Dask with ``cluster``/``scheduler``) and print the summary; errors are one line."""
    from ctlabel.pdf.batch import find_pdfs
    from ctlabel.pdf.cluster import mine_corpus

    def run():
        if store is None:
            raise CtlabelError("--cluster and --scheduler need --store DIR (where each PDF's extraction is kept)")
        if cluster and scheduler:
            raise CtlabelError("--cluster and --scheduler: give one of them")
        if figures_dir is not None or overlay is not None:
            raise CtlabelError(
                "with --store the figure images stay in the store: leave out --figures-dir and --overlay"
            )
        total = len(find_pdfs(list(paths)))
        with _bar(total) as advance:

            def started(summary) -> None:
                advance.start(summary.done_before)
                if summary.dashboard:
                    err_console.print(f"Dask dashboard: {summary.dashboard}")
                if summary.done_before:
                    err_console.print(f"{summary.done_before} of {summary.pdfs} PDFs done by an earlier run")

            return mine_corpus(
                list(paths),
                output,
                store,
                dpi,
                timeout,
                str(lexicon) if lexicon else None,
                processes,
                cluster,
                scheduler,
                retries,
                memory_limit,
                progress=advance,
                on_start=started,
            )

    summary = guarded(run)
    if json_out:
        print_json(summary.to_json())
    else:
        console.print(
            f"{summary.pdfs} PDFs ({summary.done_before} done before, {summary.extracted} extracted now), "
            f"{summary.pages} pages, {summary.records} records → {output} ({summary.failed} failed, "
            f"{len(summary.skipped)} skipped, {summary.seconds:.1f} s)"
        )
    report_skipped(summary.skipped, strict, "PDFs")
