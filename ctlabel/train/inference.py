"""Use a trained checkpoint: predict probabilities, explain with Grad-CAM++, plot a run's report."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from ctlabel.errors import CtlabelError
from ctlabel.train.images import load_image, normalize
from ctlabel.train.model import LADNN, build_model, gradcam_layer
from ctlabel.train.plots import pair_plot
from ctlabel.train.precision import autocast, resolve_amp

EXPLAIN_MIN_SIZE = 224


def load_checkpoint(path: str | Path, device: str = "cpu") -> tuple[LADNN, dict[str, Any]]:
    """The model of a checkpoint (``best.pt`` of a run folder) in eval mode on ``device``, and the checkpoint;
    CtlabelError when it is missing or not a ctlabel checkpoint."""
    path = Path(path)
    if path.is_dir():
        path = path / "best.pt"
    if not path.exists():
        raise CtlabelError(f"{path}: checkpoint not found")
    try:
        state = torch.load(path, map_location=device, weights_only=False)
        model, _ = build_model(state["backbone"], len(state["labels"]))
        model.load_state_dict(state["state_dict"])
    except (KeyError, RuntimeError, EOFError) as exc:
        raise CtlabelError(f"{path}: not a ctlabel checkpoint ({exc.__class__.__name__})") from None
    return model.eval().to(device, memory_format=torch.channels_last), state  # type: ignore[call-overload]


def _pixels(paths: list[Path], size: int) -> torch.Tensor:
    arrays = []
    for p in paths:
        if not p.exists():
            raise CtlabelError(f"{p}: image not found")
        try:
            arrays.append(torch.from_numpy(load_image(p, size).copy()).permute(2, 0, 1))
        except OSError as exc:
            raise CtlabelError(f"{p}: not a readable image ({exc.__class__.__name__})") from None
    return torch.stack(arrays).contiguous(memory_format=torch.channels_last)


@torch.no_grad()
def predict(
    checkpoint: str | Path, images: list[Path], batch: int = 32, amp: bool | None = None
) -> list[dict[str, Any]]:
    """Probabilities per image; bf16 autocast where the CPU has fast bf16 unless ``amp`` says otherwise."""
    model, state = load_checkpoint(checkpoint)
    labels = state["labels"]
    cpu = torch.device("cpu")
    use_amp = resolve_amp(amp, cpu)
    out = []
    for start in range(0, len(images), batch):
        chunk = images[start : start + batch]
        with autocast(cpu, use_amp):
            logits = model(normalize(_pixels(chunk, state["image_size"])))
        probs = torch.sigmoid(logits.float()).numpy()
        for path, p in zip(chunk, probs):
            out.append(
                {"image": str(path), "covid": float(p[0]), "lesions": {c: float(v) for c, v in zip(labels[1:], p[1:])}}
            )
    return out


def explain(checkpoint: str | Path, images: list[Path], out_dir: Path) -> list[dict[str, Any]]:
    """Grad-CAM++ of the COVID logit, overlaid on each image; an empty or NaN map is an error.
    Channels_last, float32: the maps are read through numpy, which has no bfloat16."""
    from pytorch_grad_cam import GradCAMPlusPlus
    from pytorch_grad_cam.utils.image import show_cam_on_image
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    model, state = load_checkpoint(checkpoint)
    # A map needs a few cells: explain at 224 px or more (the network pools globally, any size works).
    size = max(state["image_size"], EXPLAIN_MIN_SIZE)
    out_dir.mkdir(parents=True, exist_ok=True)
    results = []
    with GradCAMPlusPlus(model=model, target_layers=[gradcam_layer(model)]) as cam:
        for path in images:
            pixels = _pixels([path], size)
            heat = cam(input_tensor=normalize(pixels), targets=[ClassifierOutputTarget(0)])[0]
            if not np.isfinite(heat).all():
                raise CtlabelError(f"{path}: the Grad-CAM++ map has NaN values")
            if heat.max() <= 0:
                raise CtlabelError(
                    f"{path}: the Grad-CAM++ map is empty (no positive evidence for the COVID logit in {type(gradcam_layer(model)).__name__})"
                )
            rgb = pixels[0].permute(1, 2, 0).numpy().astype(np.float32) / 255
            overlay = show_cam_on_image(rgb, heat, use_rgb=True)
            target = out_dir / f"{path.stem}-gradcampp.png"
            Image.fromarray(overlay).save(target)
            with torch.no_grad():
                prob = float(torch.sigmoid(model(normalize(pixels)))[0, 0])
            results.append(
                {
                    "image": str(path),
                    "overlay": str(target),
                    "covid": prob,
                    "map_max": float(heat.max()),
                    "map_mean": float(heat.mean()),
                }
            )
    return results


def report(run_dir: Path) -> Path:
    """The pair plot of lesion outputs by class from the run's predictions (test, else val)."""
    path = run_dir / "predictions.csv"
    if not path.exists():
        raise CtlabelError(f"{path}: not found (is {run_dir} a finished training run?)")
    rows = list(csv.DictReader(path.open()))
    lesion_cols = [c for c in (rows[0] if rows else {}) if c.startswith("p_") and c != "p_CVD19"]
    if not lesion_cols:
        raise CtlabelError(f"{run_dir}: a baseline run has no lesion outputs to plot")
    split = "test" if any(r["split"] == "test" for r in rows) else "val"
    rows = [r for r in rows if r["split"] == split]
    probs = np.array([[float(r[c]) for c in lesion_cols] for r in rows])
    covid = np.array([int(float(r["CVD19"]) == 1) for r in rows])
    target = run_dir / "lesion-pairs.png"
    pair_plot(probs, covid, [c[2:] for c in lesion_cols], target)
    return target
