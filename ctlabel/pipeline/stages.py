"""Each stage of a pipeline: its inputs, its outputs, and how it runs (through the stage's API)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ctlabel.errors import CtlabelError
from ctlabel.pipeline.spec import Pipeline


@dataclass
class StagePlan:
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


def plan_mine(p: Pipeline, t: dict[str, Any]) -> StagePlan:
    from ctlabel.io import atomic_write
    from ctlabel.lexicon import DEFAULT_LEXICON
    from ctlabel.mine.run import mine_table
    from ctlabel.mine.table import Columns
    from ctlabel.pdf.run import mine_pdfs

    output = p.output(t.get("output", "mined.jsonl"))
    lexicon = p.input(t["lexicon"]) if "lexicon" in t else DEFAULT_LEXICON
    captions = t.get("captions")
    pdfs = [p.input(x) for x in _as_list(t.get("pdfs", []))]
    if not captions and not pdfs:
        raise CtlabelError("[mine] needs 'captions' (a table) or 'pdfs'")
    inputs = [lexicon, *pdfs] + ([p.input(_need(captions, "input", "mine.captions"))] if captions else [])
    figures = p.output(t.get("figures_dir", "figures"))

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
            summary = mine_table(p.input(captions["input"]), part, columns, str(lexicon))
            parts.append(part)
            notes.append(f"{summary.records} caption rows")
        if pdfs:
            part = output.with_suffix(".pdf.jsonl")
            pdf_summary = mine_pdfs(
                pdfs, part, figures, int(t.get("processes", 1)), int(t.get("dpi", 150)), lexicon=str(lexicon)
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


def plan_review(p: Pipeline, t: dict[str, Any], mined: Path) -> StagePlan:
    from ctlabel.review.pull import pull, tasks_from_export, tasks_from_server, with_records

    output = p.output(t.get("output", "reviewed.jsonl"))
    export = p.input(t["from_export"]) if "from_export" in t else None
    inputs = [mined] + ([export] if export else [])

    def run() -> str:
        if export is not None:
            summary = pull(with_records(tasks_from_export(export), mined), output)
        else:
            from ctlabel.review.push import push
            from ctlabel.review.server import Server

            server = Server.from_env(t.get("url"), t.get("api_key"))
            project = _need(t, "project", "review")
            push(mined, project, server)
            tasks, notes = tasks_from_server(server, project)
            summary = pull(tasks, output, notes)
        return f"{summary.records} records, {summary.human} reviewed by people, {len(summary.conflicts)} ties"

    return StagePlan("review", inputs, [output], run)


def plan_export(p: Pipeline, t: dict[str, Any], records: Path) -> StagePlan:
    from ctlabel.export.export import ExportOptions, export_labels

    output = p.output(t.get("output", "labels.csv"))
    negatives = [p.input(x) for x in _as_list(t.get("negatives", []))]
    positives = [p.input(x) for x in _as_list(t.get("positives", []))]
    split_file = p.input(t["split_file"]) if "split_file" in t else None
    splits_dir = p.output(t.get("splits_dir", "splits"))
    options = ExportOptions(
        t.get("format", "ladnn"),
        t.get("uncertain"),
        t.get("covid", "mined"),
        negatives,
        positives,
        t.get("split"),
        t.get("group", "patient"),
        int(t.get("seed", 0)),
        splits_dir,
        split_file,
    )
    outputs = [output] + ([splits_dir / "split.csv"] if options.split or split_file else [])

    def run() -> str:
        summary = export_labels(records, output, options)
        split = ", ".join(f"{k} {v['rows']}" for k, v in summary.splits.items())
        return f"{summary.rows} rows ({summary.negatives} negatives)" + (f"; {split}" if split else "")

    return StagePlan("export", [records, *negatives, *positives] + ([split_file] if split_file else []), outputs, run)


def plan_train(p: Pipeline, t: dict[str, Any], labels: Path, split: Path | None) -> StagePlan:
    from ctlabel.train.config import make_config
    from ctlabel.train.trainer import train

    out = p.output(t.get("out", "run"))
    images = [p.output(x) if not p.input(x).exists() else p.input(x) for x in _as_list(_need(t, "images", "train"))]
    recipe = p.input(t["recipe"]) if "recipe" in t else None
    settings = {k: v for k, v in t.items() if k not in ("images", "out", "recipe", "labels", "split_file")}
    split_file = p.input(t["split_file"]) if "split_file" in t else split

    def run() -> str:
        config = make_config(
            {
                **settings,
                "labels": str(labels),
                "images": os.pathsep.join(map(str, images)),
                "out": str(out),
                "split_file": str(split_file) if split_file else None,
                "recipe": str(recipe) if recipe else None,
            }
        )
        result = train(config, log=lambda line: None)
        test = result.metrics.get("test", result.metrics.get("val", {})).get("covid", {})
        auc = test.get("auc")
        return f"best epoch {result.best_epoch + 1}, COVID AUC {'-' if auc is None else f'{auc:.3f}'} → {out}"

    inputs = [labels] + ([split_file] if split_file else []) + ([recipe] if recipe else [])
    return StagePlan("train", inputs, [out / "best.pt", out / "metrics.json"], run)
