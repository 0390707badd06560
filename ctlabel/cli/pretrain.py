"""``ctlabel pretrain``: a backbone learned from unlabeled images (SimCLR), for ``train --weights``."""

from __future__ import annotations

from pathlib import Path

import typer

from ctlabel.cli.common import console, err_console, guarded, print_json, progress_bar


def pretrain_command(
    images: list[Path] = typer.Argument(..., help="Image files or folders (searched recursively); no labels are read."),
    out: Path = typer.Option(
        ..., "--out", help="Backbone weights file (OUT.state.pt beside it holds the state for --resume)."
    ),
    backbone: str = typer.Option("resnet18", "--backbone", help="Any timm model name."),
    epochs: int = typer.Option(50, "--epochs"),
    image_size: int = typer.Option(224, "--image-size"),
    batch_size: int = typer.Option(64, "--batch-size", help="Images per step (each gives two views)."),
    lr: float = typer.Option(1e-3, "--lr", help="AdamW learning rate (cosine decay to 1/100)."),
    temperature: float = typer.Option(0.2, "--temperature", help="NT-Xent temperature."),
    seed: int = typer.Option(0, "--seed"),
    amp: bool | None = typer.Option(
        None, "--amp/--no-amp", help="bfloat16 autocast (default: on where the CPU has fast bf16)."
    ),
    resume: bool = typer.Option(False, "--resume", help="Continue from OUT.state.pt."),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Self-supervised pretraining (SimCLR: two random views per image, contrastive loss) of a backbone."""
    from ctlabel.train.pretrain import PretrainConfig, load_images, pretrain

    config = PretrainConfig(
        images=[str(p) for p in images],
        out=str(out),
        backbone=backbone,
        epochs=epochs,
        image_size=image_size,
        batch_size=batch_size,
        lr=lr,
        temperature=temperature,
        seed=seed,
        amp=amp,
    )

    def run():
        with progress_bar("decoding", None) as advance:
            pixels, skipped = load_images(config, advance)
        for line in skipped[:20]:
            err_console.print(f"[yellow]skipped:[/] {line}", highlight=False)
        with progress_bar("pretraining", config.epochs * len(pixels)) as advance:
            history = pretrain(
                config, pixels, resume, log=lambda line: err_console.print(line, highlight=False), progress=advance
            )
        return {"out": str(out), "images": len(pixels), "skipped": len(skipped), "history": history}

    result = guarded(run)
    if json_out:
        print_json(result)
        return
    if result["history"]:
        first, last = result["history"][0], result["history"][-1]
        console.print(
            f"{out}: {config.backbone} pretrained on {result['images']} images; contrastive loss "
            f"{first['loss']:.3f} (epoch {first['epoch']}) → {last['loss']:.3f} (epoch {last['epoch']})",
            highlight=False,
        )
