"""Each stage of a pipeline: its inputs, its outputs, and how it runs (through the stage's API)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ctlabel.errors import CtlabelError
from ctlabel.pipeline.spec import Pipeline


@dataclass
class StagePlan:
    """A stage ready to run: its name, input and output paths, and ``run`` (returns a one-line summary)."""

    name: str
    inputs: list[Path]
    outputs: list[Path]
    run: Callable[[], str]  # returns a one-line summary


def _need(table: dict[str, Any], key: str, stage: str) -> Any:
    if key not in table:
        raise CtlabelError(f"[{stage}] needs '{key}'")
    return table[key]


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def plan_mine(pipeline: Pipeline, table: dict[str, Any]) -> StagePlan:
    """The mine stage: the ``captions`` table and/or the ``pdfs`` mined into ``output`` (default ``mined.jsonl``)."""
    from ctlabel.io import atomic_write
    from ctlabel.lexicon import DEFAULT_LEXICON
    from ctlabel.mine.captions import mine_table
    from ctlabel.mine.table import Columns
    from ctlabel.pdf.batch import mine_pdfs

    output = pipeline.output(table.get("output", "mined.jsonl"))
    lexicon = pipeline.input(table["lexicon"]) if "lexicon" in table else DEFAULT_LEXICON
    captions = table.get("captions")
    pdfs = [pipeline.input(x) for x in _as_list(table.get("pdfs", []))]
    if not captions and not pdfs:
        raise CtlabelError("[mine] needs 'captions' (a table) or 'pdfs'")
    inputs = [lexicon, *pdfs] + ([pipeline.input(_need(captions, "input", "mine.captions"))] if captions else [])
    figures = pipeline.output(table.get("figures_dir", "figures"))

    def run() -> str:
        parts, notes = [], []
        if captions:
            part = output.with_suffix(".captions.jsonl")
            columns = Columns(
                captions.get("id_col", "image"),
                tuple(captions.get("text_cols", ["caption"])),
                captions.get("doc_col"),
                captions.get("patient_col"),
                captions.get("image_col"),
                captions.get("panel_col"),
            )
            summary = mine_table(pipeline.input(captions["input"]), part, columns, str(lexicon))
            parts.append(part)
            notes.append(f"{summary.records} caption rows")
        if pdfs:
            part = output.with_suffix(".pdf.jsonl")
            pdf_summary = mine_pdfs(
                pdfs, part, figures, int(table.get("processes", 1)), int(table.get("dpi", 150)), lexicon=str(lexicon)
            )
            parts.append(part)
            notes.append(
                f"{pdf_summary.images} figure images from {pdf_summary.pdfs} PDFs ({len(pdf_summary.skipped)} skipped)"
            )
        with atomic_write(output) as out:
            for part in parts:
                out.write(part.read_text(encoding="utf-8"))
        return ", ".join(notes)

    return StagePlan("mine", inputs, [output], run)


def plan_review(pipeline: Pipeline, table: dict[str, Any], mined: Path) -> StagePlan:
    """The review stage: ``mined`` under the decisions of a Label Studio export (``from_export``), or pushed to
    and pulled from ``project`` on the server, into ``output`` (default ``reviewed.jsonl``)."""
    from ctlabel.review.pull import pull, tasks_from_export, tasks_from_server, with_records

    output = pipeline.output(table.get("output", "reviewed.jsonl"))
    export = pipeline.input(table["from_export"]) if "from_export" in table else None
    inputs = [mined] + ([export] if export else [])

    def run() -> str:
        if export is not None:
            summary = pull(with_records(tasks_from_export(export), mined), output)
        else:
            from ctlabel.review.push import push
            from ctlabel.review.server import Server

            server = Server.from_env(table.get("url"), table.get("api_key"))
            project = _need(table, "project", "review")
            push(mined, project, server)
            tasks, notes = tasks_from_server(server, project)
            summary = pull(tasks, output, notes)
        return f"{summary.records} records, {summary.human} reviewed by people, {len(summary.conflicts)} ties"

    return StagePlan("review", inputs, [output], run)


def plan_export(pipeline: Pipeline, table: dict[str, Any], records: Path) -> StagePlan:
    """The export stage: ``records`` into a label file (default ``labels.csv``), and split files if asked."""
    from ctlabel.export.export import ExportOptions, export_labels

    output = pipeline.output(table.get("output", "labels.csv"))
    negatives = [pipeline.input(x) for x in _as_list(table.get("negatives", []))]
    positives = [pipeline.input(x) for x in _as_list(table.get("positives", []))]
    split_file = pipeline.input(table["split_file"]) if "split_file" in table else None
    splits_dir = pipeline.output(table.get("splits_dir", "splits"))
    options = ExportOptions(
        table.get("format", "ladnn"),
        table.get("uncertain"),
        table.get("covid", "mined"),
        negatives,
        positives,
        table.get("split"),
        table.get("group", "patient"),
        int(table.get("seed", 0)),
        splits_dir,
        split_file,
    )
    outputs = [output] + ([splits_dir / "split.csv"] if options.split or split_file else [])

    def run() -> str:
        summary = export_labels(records, output, options)
        split = ", ".join(f"{k} {v['rows']}" for k, v in summary.splits.items())
        return f"{summary.rows} rows ({summary.negatives} negatives)" + (f"; {split}" if split else "")

    return StagePlan("export", [records, *negatives, *positives] + ([split_file] if split_file else []), outputs, run)


def plan_train(pipeline: Pipeline, table: dict[str, Any], labels: Path, split: Path | None) -> StagePlan:
    """The train stage: a model trained on ``labels`` into ``out``, split by ``split_file`` if given, else ``split``."""
    from ctlabel.train.config import make_config
    from ctlabel.train.trainer import train

    out = pipeline.output(table.get("out", "run"))
    images = [
        pipeline.output(x) if not pipeline.input(x).exists() else pipeline.input(x)
        for x in _as_list(_need(table, "images", "train"))
    ]
    recipe = pipeline.input(table["recipe"]) if "recipe" in table else None
    settings = {k: v for k, v in table.items() if k not in ("images", "out", "recipe", "labels", "split_file")}
    split_file = pipeline.input(table["split_file"]) if "split_file" in table else split

    def run() -> str:
        config = make_config(
            {
                **settings,
                "labels": str(labels),
                "images": [str(p) for p in images],
                "out": str(out),
                "split_file": str(split_file) if split_file else None,
                "recipe": str(recipe) if recipe else None,
            }
        )
        result = train(config, log=lambda line: None)
        test = result.metrics.get("test", result.metrics.get("val", {})).get("covid", {})
        auc = test.get("auc")
        return f"best epoch {result.best_epoch + 1}, COVID AUC {'-' if auc is None else f'{auc:.3f}'} → {out}"

    inputs = (
        [labels, *images] + ([split_file] if split_file else []) + ([recipe] if recipe else [])
    )  # images: every file
    return StagePlan("train", inputs, [out / "best.pt", out / "metrics.json"], run)
