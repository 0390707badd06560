"""``ctlabel bench …``: speed and memory of each stage, measured on the whole command."""

from __future__ import annotations

from pathlib import Path

import typer

from ctlabel.cli.common import console, guarded, print_json

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
    from ctlabel.mine.bench import bench_mine

    result = guarded(lambda: bench_mine(input, repeat, processes, id_col, tuple(text_col), unique_texts))
    if json_out:
        print_json(result)
    else:
        console.print(
            f"{result['records']} records in {result['seconds']:.2f} s with {processes} process(es): "
            f"[bold]{result['records_per_s']:.0f} records/s[/], peak memory {result['peak_rss_mb']:.0f} MB"
        )


@app.command("api")
def bench_api_command(
    input: Path = typer.Argument(..., help="Table to mine (e.g. ../shared/data/covid-ct/lesion-gold-dev.csv)."),
    repeat: int = typer.Option(200, "--repeat", min=1, help="Repeat the rows this many times (fresh ids)."),
    rounds: int = typer.Option(3, "--rounds", min=1, help="CLI and API runs, alternating; medians are reported."),
    id_col: str = typer.Option("image", "--id-col"),
    text_col: list[str] = typer.Option(["caption", "report"], "--text-col"),
    unique_texts: bool = typer.Option(False, "--unique-texts", help="Make every copied text distinct."),
    read: int = typer.Option(
        100_000, "--read", min=0, help="Then time ctlabel.read_records on this many records (0: skip)."
    ),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """`ctlabel.mine` on a DataFrame beside `ctlabel mine captions` on the same rows; `ctlabel.read_records` speed."""
    from ctlabel.api_bench import bench_api

    r = guarded(lambda: bench_api(input, repeat, rounds, id_col, tuple(text_col), unique_texts, read))
    if json_out:
        print_json(r)
        return
    console.print(
        f"{r['records']} records, median of {r['rounds']}: CLI {r['cli_median']:.2f} s ({r['cli_cpu_median']:.2f} s CPU), "
        f"ctlabel.mine {r['api_call_median']:.2f} s ({r['api_call_cpu_median']:.2f} s CPU): "
        f"[bold]{r['api_call_vs_cli']:+.1%}[/] wall, [bold]{r['api_call_vs_cli_cpu']:+.1%}[/] CPU; "
        f"its whole process {r['api_process_median']:.2f} s, peak {r['api_peak_rss_mb']:.0f} MB; "
        f"states {'identical' if r['identical_states'] else '[red]DIFFERENT[/]'}"
    )
    if r["read_records"]:
        back = r["read_records"]
        console.print(
            f"ctlabel.read_records: {back['rows']} records in {back['seconds']:.2f} s ({back['cpu_seconds']:.2f} s CPU)"
        )


@app.command("robustness")
def bench_robustness_command(
    gold: Path = typer.Argument(..., help="Gold table with texts and labels (e.g. lesion-gold-dev.csv)."),
    id_col: str = typer.Option("image", "--id-col"),
    text_col: list[str] = typer.Option(["caption", "report"], "--text-col"),
    lexicon: Path | None = typer.Option(None, "--lexicon", help="Lexicon TOML (default: the bundled one)."),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Mine GOLD's texts clean and damaged as PDF extraction damages them; labels kept and micro-F1 per damage."""
    from rich.table import Table

    from ctlabel.mine.robustness import robustness
    from ctlabel.mine.table import Columns

    result = guarded(
        lambda: robustness(gold, Columns(id=id_col, texts=tuple(text_col)), str(lexicon) if lexicon else None)
    )
    if json_out:
        print_json(result)
        return
    table = Table(title=f"Mining damaged text ({result['gold']}; clean micro-F1 {result['clean_micro_f1']:.3f})")
    for column in ("transformation", "records", "same labels", "micro-F1", "drop"):
        table.add_column(column, justify="left" if column == "transformation" else "right")
    for row in result["transforms"]:
        table.add_row(
            row["transform"],
            str(row["records"]),
            f"{row['same_labels']:.1%}",
            f"{row['micro_f1']:.3f}",
            f"{row['f1_drop']:+.3f}",
        )
    console.print(table)


@app.command("baselines")
def bench_baselines_command(
    gold: Path = typer.Argument(..., help="Gold table with texts and labels (e.g. lesion-gold-dev.csv)."),
    id_col: str = typer.Option("image", "--id-col"),
    text_col: str = typer.Option("caption", "--text-col", help="The text column all labelers read."),
    repeat: int = typer.Option(20, "--repeat", min=1, help="Each text this many times (made distinct) for the timing."),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """The miner beside a plain regex and NegEx (negspacy) on the same texts: micro-F1 and texts/s."""
    from ctlabel.mine.baselines import bench_baselines
    from ctlabel.mine.table import Columns

    result = guarded(lambda: bench_baselines(gold, Columns(id=id_col, texts=(text_col,)), repeat))
    if json_out:
        print_json(result)
        return
    for name, row in result["labelers"].items():
        console.print(f"{name:9s} micro-F1 {row['micro_f1']:.3f}   {row['texts_per_s']:8.0f} texts/s")
    if "negspacy" in result:
        console.print(f"[yellow]{result['negspacy']}[/]")


@app.command("review")
def bench_review_command(
    url: str | None = typer.Option(None, "--url", help="Label Studio URL (default: $LABEL_STUDIO_URL)."),
    api_key: str | None = typer.Option(None, "--api-key", help="API token (default: $LABEL_STUDIO_API_KEY)."),
    database: list[str] | None = typer.Option(
        None,
        "--database",
        help="Start a fresh local server on this database instead (sqlite or postgresql://…); repeat to compare.",
    ),
    push_n: int = typer.Option(10_000, "--push", help="Tasks pushed (timed)."),
    pull_n: int = typer.Option(50_000, "--pull", help="Tasks in the project when pulling (timed)."),
    annotate_n: int = typer.Option(200, "--annotate", help="Tasks annotated before the pull."),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Push N tasks and pull M against a running Label Studio (a temporary project, deleted after),
    or against fresh local servers, one per --database, side by side."""
    from ctlabel.review.bench import bench_databases, bench_review
    from ctlabel.review.server import Server

    if database:
        results = guarded(lambda: bench_databases(database, push_n, pull_n, annotate_n))
    else:
        results = {"server": guarded(lambda: bench_review(Server.from_env(url, api_key), push_n, pull_n, annotate_n))}
    if json_out:
        print_json(results if database else results["server"])
        return
    for name, result in results.items():
        if database:
            console.print(f"[bold]{name}[/] (server started in {result['start_seconds']:.0f} s)", highlight=False)
        for key in ("push", "push_more", "pull"):
            if key in result:
                r = result[key]
                n = r.get("tasks", r.get("records"))
                console.print(f"{key:9s} {n:7d} in {r['seconds']:6.1f} s  ({r['per_s']:.0f}/s)")


@app.command("train")
def bench_train_command(
    backbone: str = typer.Option("resnet18", "--backbone"),
    image_size: int = typer.Option(224, "--image-size"),
    batch_size: int = typer.Option(32, "--batch-size"),
    images: int = typer.Option(256, "--images", help="Synthetic images generated for the run."),
    epochs: int = typer.Option(2, "--epochs"),
    device: str = typer.Option("auto", "--device"),
    amp: bool | None = typer.Option(
        None, "--amp/--no-amp", help="bfloat16 autocast (default: where the chip has fast bf16)."
    ),
    reference: bool = typer.Option(True, "--reference/--no-reference", help="Also time a reference-style epoch (CPU)."),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Train on synthetic images; report images/s per epoch with data and compute time apart, and the
    speed-up over a reference-style loop (decode every epoch, sigmoid in forward, per-sample loss, fp32)."""
    from ctlabel.train.bench import bench_train

    result = guarded(lambda: bench_train(backbone, image_size, batch_size, images, epochs, device, amp, reference))
    if json_out:
        print_json(result)
        return
    ran = result["precision"]
    layout = "channels_last" if ran["channels_last"] else "contiguous"
    console.print(
        f"{result['backbone']} at {result['image_size']} px, batch {result['batch_size']}, {result['train_images']} "
        f"training images on {ran['device']}: {ran['dtype']}, {layout}; "
        f"decoded once in {result['decode_once_s']:.1f} s",
        highlight=False,
    )
    for e in result["epochs"]:
        console.print(
            f"epoch {e['epoch']}: {e['images_per_s']:.1f} train images/s ({e['images_per_cpu_s']:.1f} per CPU-second), data {e['data_s']:.2f} s, "
            f"compute {e['compute_s']:.2f} s, data {100 * e['data_share']:.1f}% of the epoch ({e['epoch_s']:.1f} s)"
        )
    if "reference" in result:
        ref = result["reference"]
        console.print(
            f"reference-style loop: {ref['images_per_s']:.1f} train images/s ({ref['images_per_cpu_s']:.1f} per CPU-second); "
            f"ctlabel [bold]{result['speedup']:.1f}×[/] faster by the clock, {result['speedup_cpu_time']:.1f}× per "
            f"CPU-second (last epoch, {result['threads']} thread(s))",
            highlight=False,
        )


@app.command("pdf")
def bench_pdf_command(
    paths: list[Path] = typer.Argument(None, help="PDFs or folders (default: a generated 18-page two-column paper)."),
    processes: int = typer.Option(2, "--processes", "-p", min=1),
    copies: int = typer.Option(4, "--copies", help="Copies of the input, so that several processes have work."),
    text_quality: bool = typer.Option(
        False,
        "--text-quality",
        help="Measure the caption text instead (needs PATHS): captions found, share with a run "
        "of 20+ characters without a space, pages/s of text extraction in one process.",
    ),
    gold: Path | None = typer.Option(
        None, "--gold", help="With --text-quality: an answer key (gold.json) whose caption starts are compared."
    ),
    pdfplumber_words: bool = typer.Option(
        False,
        "--pdfplumber-words",
        help="With --text-quality: pdfplumber's own words (a fixed 3-point gap), for comparison.",
    ),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Pages/s and figures/s of `ctlabel mine pdf`, with 1 and with N processes (or --text-quality)."""
    if text_quality:
        _text_quality(list(paths or []), gold, pdfplumber_words, json_out)
        return
    from ctlabel.pdf.bench import bench_pdf

    result = guarded(lambda: bench_pdf(list(paths or []), processes, copies))
    if json_out:
        print_json(result)
        return
    for run in result["runs"]:
        console.print(
            f"{run['processes']} process(es): {run['pages']} pages, {run['images']} images in {run['seconds']:.2f} s = "
            f"[bold]{run['pages_per_s']:.1f} pages/s[/], {run['figures_per_s']:.1f} figures/s"
        )


def _text_quality(paths: list[Path], gold: Path | None, pdfplumber_words: bool, json_out: bool) -> None:
    from ctlabel.errors import CtlabelError
    from ctlabel.pdf.bench import text_quality

    def run() -> dict:
        if not paths:
            raise CtlabelError("--text-quality needs PDFs or folders (e.g. ../shared/data/real-pdfs)")
        return text_quality(paths, gold, pdfplumber_words)

    result = guarded(run)
    if json_out:
        print_json(result)
        return
    console.print(
        f"{result['words']} words: {result['pages']} pages in {result['seconds']:.1f} s = [bold]{result['pages_per_s']:.1f} pages/s[/] "
        f"(one process; {result['pages_per_cpu_s']:.1f} pages per CPU second); {result['captions']} captions, [bold]{result['glued']} ({100 * result['glued_share']:.1f} %)[/] "
        "with a run of 20+ characters without a space"
    )
    for example in result["glued_examples"]:
        console.print(f"  glued: {example}", highlight=False)
    if "gold" in result:
        key = result["gold"]
        console.print(
            f"answer key: {key['found']} of {key['captions']} captions found, {key['spaced_as_key']} spaced as the key"
        )
        for line in key["misspaced"]:
            console.print(f"  spaced otherwise: {line}", highlight=False)
        for line in key["missing"]:
            console.print(f"  not found: {line}", highlight=False)
    for line in result["skipped"]:
        console.print(f"  skipped: {line}", highlight=False)
