"""``ctlabel mine captions``: mine a table of captions and report text."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table as RichTable

from ctlabel.cli.common import console, err_console, guarded, print_json, progress_bar, report_skipped
from ctlabel.errors import CtlabelError
from ctlabel.schema import LABELS, STATES

if TYPE_CHECKING:
    from ctlabel.mine.captions import MineSummary

app = typer.Typer(help="Mine captions and radiology text for the COVID flag and five lesions.", no_args_is_help=True)

ID_COL = typer.Option(..., "--id-col", help="Column with the record id (the image file name or stem).")
TEXT_COL = typer.Option(..., "--text-col", help="Column with text to mine; repeat for several (caption, report…).")


def show_summary(summary: MineSummary) -> None:
    """Print the mined records per label and state as a table, then the lexicon and the input's encoding."""
    table = RichTable(title=f"{summary.records} records → {summary.output}")
    table.add_column("label")
    for state in STATES:
        table.add_column(state, justify="right")
    for label in LABELS:
        table.add_row(label, *(str(summary.states[label].get(s, 0)) for s in STATES))
    console.print(table)
    note = f"encoding {summary.encoding}" + (", not UTF-8" if summary.encoding != "utf-8" else "")
    note += f" · {summary.note}" if summary.note else ""
    console.print(f"lexicon {summary.lexicon} · {note}")


@app.command("captions")
def captions_command(
    input: Path = typer.Argument(..., help="CSV, TSV, XLSX or JSONL file, one row per image."),
    output: Path = typer.Option(..., "-o", "--output", help="Where to write the mined records (JSONL)."),
    id_col: str = ID_COL,
    text_col: list[str] = TEXT_COL,
    doc_col: str | None = typer.Option(None, "--doc-col", help="Column with the source paper's id."),
    patient_col: str | None = typer.Option(None, "--patient-col", help="Column with the patient id."),
    image_col: str | None = typer.Option(None, "--image-col", help="Column with the image path."),
    panel_col: str | None = typer.Option(None, "--panel-col", help="Column with the panel letter."),
    lexicon: Path | None = typer.Option(
        None, "--lexicon", help="Your lexicon TOML (default: the bundled one, ctlabel/resources/lexicon.toml)."
    ),
    sheet: str | None = typer.Option(
        None, "--sheet", help="The sheet of an XLSX workbook to read (default: the first)."
    ),
    processes: int = typer.Option(1, "--processes", "-p", min=1, help="Worker processes."),
    number_duplicates: bool = typer.Option(
        False, "--number-duplicates", help="Name a repeated id id#2, id#3… instead of failing."
    ),
    strict: bool = typer.Option(False, "--strict", help="Exit non-zero when a row was skipped."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    cluster: str | None = typer.Option(
        None, "--cluster", help="local:N — mine the chunks on a Dask LocalCluster of N processes."
    ),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="tcp://HOST:8786 — mine the chunks on an existing Dask cluster."
    ),
) -> None:
    """Mine INPUT into records with states and evidence (one record per row)."""
    from ctlabel.mine.captions import mine_table
    from ctlabel.mine.table import Columns

    columns = Columns(id_col, tuple(text_col), doc_col, patient_col, image_col, panel_col)

    def run() -> MineSummary:
        if cluster and scheduler:
            raise CtlabelError("--cluster and --scheduler: give one of them")
        client = None
        if cluster or scheduler:
            from ctlabel.pdf.cluster import start_client

            client = start_client(cluster, scheduler, "auto")
            err_console.print(f"Dask dashboard: {client.dashboard_link}")
        try:
            with progress_bar("mining", None) as advance:
                return mine_table(
                    input,
                    output,
                    columns,
                    str(lexicon) if lexicon else None,
                    processes,
                    advance,
                    number_duplicates,
                    sheet,
                    client,
                )
        finally:
            if client is not None:
                local = client.cluster if cluster else None
                client.close()
                if local is not None:
                    local.close()

    summary = guarded(run)
    print_json(summary.to_json()) if json_out else show_summary(summary)
    report_skipped(summary.skipped, strict)


@app.command("pdf")
def pdf_command(
    paths: list[Path] = typer.Argument(..., help="PDF files or folders (searched recursively)."),
    output: Path = typer.Option(..., "-o", "--output", help="Where to write the mined records (JSONL)."),
    figures_dir: Path | None = typer.Option(
        None, "--figures-dir", help="Where the figure images (PNG) go (not with --store)."
    ),
    processes: int = typer.Option(1, "--processes", "-p", min=1, help="PDFs processed at once."),
    dpi: int = typer.Option(150, "--dpi", min=36, max=600, help="Rendering resolution of the figure images."),
    timeout: float = typer.Option(120.0, "--timeout", help="Seconds allowed per PDF."),
    lexicon: Path | None = typer.Option(None, "--lexicon"),
    overlay: Path | None = typer.Option(
        None, "--overlay", help="Also write each page as a PNG with its figures, panels and captions drawn."
    ),
    strict: bool = typer.Option(False, "--strict", help="Exit non-zero when a PDF was skipped."),
    json_out: bool = typer.Option(False, "--json"),
    store: Path | None = typer.Option(
        None,
        "--store",
        help="Extraction store: each PDF extracted once (by content hash); -o is then a folder of shards and a manifest.",
    ),
    cluster: str | None = typer.Option(
        None, "--cluster", help="local:N — a Dask LocalCluster of N worker processes (needs --store)."
    ),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="tcp://HOST:8786 — an existing Dask cluster (needs --store)."
    ),
    retries: int = typer.Option(
        2, "--retries", min=0, help="Times a PDF's task is retried after an error (with a cluster)."
    ),
    memory_limit: str = typer.Option(
        "auto", "--memory-limit", help="Memory per worker of --cluster local:N (e.g. 4GiB)."
    ),
) -> None:
    """Find figure captions, cut out their images (one PNG per panel) and mine the captions."""
    from ctlabel.pdf.batch import find_pdfs, mine_pdfs

    if store is not None or cluster or scheduler:
        from ctlabel.cli.corpus import corpus_run

        corpus_run(
            paths,
            output,
            store,
            figures_dir,
            overlay,
            cluster,
            scheduler,
            processes,
            dpi,
            timeout,
            lexicon,
            retries,
            memory_limit,
            strict,
            json_out,
        )
        return

    def run():
        if figures_dir is None:
            raise CtlabelError("--figures-dir is needed (or --store for a corpus run)")
        total = len(find_pdfs(list(paths)))
        with progress_bar("PDFs", total) as advance:
            return mine_pdfs(
                list(paths),
                output,
                figures_dir,
                processes,
                dpi,
                timeout,
                str(lexicon) if lexicon else None,
                advance,
                overlay,
            )

    summary = guarded(run)
    if json_out:
        print_json(summary.to_json())
    else:
        console.print(
            f"{summary.pdfs} PDFs, {summary.pages} pages, {summary.captions} captions, {summary.figures} figures, "
            f"{summary.images} images → {output} ({len(summary.skipped)} skipped, {summary.seconds:.1f} s)"
        )
    report_skipped(summary.skipped, strict, "PDFs")
