"""``ctlabel train``, ``predict``, ``explain`` and ``report``."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from ctlabel.cli.common import console, err_console, guarded, print_json, progress_bar


def train_command(
    labels: Path = typer.Argument(..., help="Label file (ladnn, binary or chexpert format)."),
    images: list[Path] = typer.Option(
        ..., "--images", help="Folder searched (recursively) for the images by file name; repeatable."
    ),
    out: Path = typer.Option(..., "--out", help="Run folder: checkpoints, metrics, plots."),
    split_file: Path | None = typer.Option(None, "--split-file", help="image,split CSV (e.g. the LA-DNN split)."),
    val: Path | None = typer.Option(None, "--val", help="Validation label file (LABELS is then the train file)."),
    test: Path | None = typer.Option(None, "--test", help="Test label file."),
    recipe: Path | None = typer.Option(
        None, "--recipe", help="A training/*.toml recipe; options given here override it."
    ),
    backbone: str | None = typer.Option(None, "--backbone", help="Any timm model name (default densenet169)."),
    epochs: int | None = typer.Option(None, "--epochs"),
    image_size: int | None = typer.Option(None, "--image-size"),
    batch_size: int | None = typer.Option(None, "--batch-size"),
    lr: float | None = typer.Option(None, "--lr"),
    weight_decay: float | None = typer.Option(None, "--weight-decay"),
    covid_weight: float | None = typer.Option(None, "--covid-weight"),
    lesion_policy: str | None = typer.Option(None, "--lesion-policy", help="mask (reference), zeros or ones."),
    baseline: bool | None = typer.Option(
        None, "--baseline/--ladnn", help="Train the COVID head alone (the paper's baseline)."
    ),
    pretrained: bool | None = typer.Option(
        None, "--pretrained/--scratch", help="ImageNet weights from the local timm/HF cache."
    ),
    weights: Path | None = typer.Option(None, "--weights", help="Backbone weights from this file."),
    device: str | None = typer.Option(None, "--device", help="auto, cpu or cuda."),
    amp: bool | None = typer.Option(
        None, "--amp/--no-amp", help="bfloat16 autocast (default: on where the CPU or GPU has fast bf16)."
    ),
    seed: int | None = typer.Option(None, "--seed"),
    select: str | None = typer.Option(
        None, "--select", help="Best checkpoint by val_covid_loss, val_loss, val_auc, val_f1 or val_accuracy."
    ),
    patience: int | None = typer.Option(
        None, "--patience", help="Early stopping after N epochs without improvement (0: off)."
    ),
    skip_missing: bool | None = typer.Option(
        None, "--skip-missing", help="Drop missing or unreadable images instead of failing."
    ),
    resume: bool = typer.Option(False, "--resume", help="Continue from RUN_DIR/last.pt."),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Train the LA-DNN (or the baseline) and write best.pt, metrics.json, roc.png, pr.png, history.csv."""
    from ctlabel.train.config import make_config
    from ctlabel.train.trainer import train

    options = dict(
        labels=str(labels),
        images=[str(p) for p in images],
        out=str(out),
        recipe=str(recipe) if recipe else None,
        split_file=str(split_file) if split_file else None,
        val=str(val) if val else None,
        test=str(test) if test else None,
        backbone=backbone,
        epochs=epochs,
        image_size=image_size,
        batch_size=batch_size,
        lr=lr,
        weight_decay=weight_decay,
        covid_weight=covid_weight,
        lesion_policy=lesion_policy,
        baseline=baseline,
        pretrained=pretrained,
        weights=str(weights) if weights else None,
        device=device,
        amp=amp,
        seed=seed,
        select=select,
        patience=patience,
        skip_missing=skip_missing,
    )

    for name, value in (("--lr", lr), ("--weight-decay", weight_decay), ("--covid-weight", covid_weight)):
        if value is not None and (value < 0 or (name == "--lr" and value == 0)):
            raise typer.BadParameter(f"{name} {value:g}: must be {'more than' if name == '--lr' else 'at least'} 0")

    def run():
        config = make_config(options)
        with progress_bar("training", None) as advance:
            return train(config, resume, log=lambda line: err_console.print(line, highlight=False), progress=advance)

    result = guarded(run)
    for line in result.dropped[:20]:
        err_console.print(f"[yellow]dropped:[/] {line}", highlight=False)
    if json_out:
        print_json(result.metrics)
        return
    table = Table(title=f"{out} (best epoch {result.best_epoch + 1})")
    for col in ("split", "accuracy", "F1", "AUC", "AUC 95% CI", "recall", "precision"):
        table.add_column(col, justify="left" if col == "split" else "right")
    for split in ("val", "test"):
        if split in result.metrics:
            m = result.metrics[split]["covid"]
            ci = m["ci95"].get("auc")
            table.add_row(
                split,
                f"{m['accuracy']:.3f}",
                f"{m['f1']:.3f}",
                "-" if m["auc"] is None else f"{m['auc']:.3f}",
                f"[{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "",
                f"{m['recall']:.3f}",
                f"{m['precision']:.3f}",
            )
    console.print(table)


def predict_command(
    checkpoint: Path = typer.Argument(..., help="best.pt (or its run folder)."),
    images: list[Path] = typer.Argument(..., help="Image files."),
    amp: bool | None = typer.Option(
        None, "--amp/--no-amp", help="bfloat16 autocast (default: on where the CPU has fast bf16)."
    ),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """COVID and lesion probabilities per image."""
    from ctlabel.train.inference import predict

    results = guarded(lambda: predict(checkpoint, list(images), amp=amp))
    if json_out:
        print_json(results)
        return
    codes = list(results[0]["lesions"]) if results else []
    table = Table()
    for col in ("image", "COVID", *codes):
        table.add_column(col, justify="left" if col == "image" else "right")
    for r in results:
        table.add_row(Path(r["image"]).name, f"{r['covid']:.3f}", *(f"{r['lesions'][c]:.3f}" for c in codes))
    console.print(table)


def explain_command(
    checkpoint: Path = typer.Argument(..., help="best.pt (or its run folder)."),
    images: list[Path] = typer.Argument(..., help="Image files."),
    out: Path = typer.Option(..., "--out", help="Folder for the overlays."),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Grad-CAM++ overlays of the COVID logit, one PNG per image."""
    from ctlabel.train.inference import explain

    results = guarded(lambda: explain(checkpoint, list(images), out))
    if json_out:
        print_json(results)
    else:
        for r in results:
            console.print(f"{r['overlay']}  (COVID {r['covid']:.3f})", highlight=False)


def report_command(run_dir: Path = typer.Argument(..., help="A training run folder.")) -> None:
    """The pair plot of lesion outputs by class (the paper's Figure 5), from the run's predictions."""
    from ctlabel.train.inference import report

    path = guarded(lambda: report(run_dir))
    metrics = json.loads((run_dir / "metrics.json").read_text()) if (run_dir / "metrics.json").exists() else {}
    console.print(f"{path}" + (f"  (best epoch {metrics.get('best_epoch')})" if metrics else ""), highlight=False)


def compare_command(
    runs: list[Path] = typer.Argument(..., help="Run folders (e.g. runs/*)."),
    split: str = typer.Option("test", "--split", help="test or val."),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Runs side by side, grouped by backbone, head, initial weights and dtype: mean ± sd over seeds
    (the paper's Table 1); then paired differences over seeds between groups that differ in one setting."""
    from ctlabel.train.compare import METRICS, compare_runs, paired

    rows = guarded(lambda: compare_runs(list(runs), split))
    pairs = guarded(lambda: paired(list(runs), split))
    if json_out:
        print_json({"groups": rows, "paired": pairs})
        return
    table = Table(title=f"COVID-19 on the {split} split (mean ± sd over runs)")
    for col in ("backbone", "model", "init", "dtype", "runs", *METRICS):
        table.add_column(col, justify="right" if col == "runs" or col in METRICS else "left")
    for row in rows:
        cells = ["-" if row[m] is None else f"{row[m]['mean']:.3f} ± {row[m]['sd']:.3f}" for m in METRICS]
        table.add_row(row["backbone"], row["model"], row["init"], row["dtype"], str(row["runs"]), *cells)
    console.print(table)
    if pairs:
        diff = Table(title="Paired over seeds: second − first (mean ± sd, 95% t-interval)")
        for col in ("setting", "first → second", "with", "metric", "seeds", "difference", "95% interval", "verdict"):
            diff.add_column(col)
        for p in pairs:
            diff.add_row(
                p["setting"],
                f"{p['first']} → {p['second']}",
                p["shared"],
                p["metric"],
                str(len(p["seeds"])),
                f"{p['mean']:+.3f} ± {p['sd']:.3f}",
                f"[{p['ci95'][0]:+.3f}, {p['ci95'][1]:+.3f}]",
                "inside the noise" if p["inside_noise"] else "outside the noise",
            )
        console.print(diff)
