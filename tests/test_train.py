"""The LA-DNN trainer on a dozen generated images with a tiny timm backbone."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from ctlabel.cli.main import app
from ctlabel.errors import CtlabelError
from ctlabel.train.config import TrainConfig, make_config
from ctlabel.train.images import load_image
from ctlabel.train.metrics import auc, binary_metrics
from ctlabel.train.trainer import compute_loss, lesion_targets

runner = CliRunner()
BACKBONE = "test_resnet"
HEADER = "imgname,CVD19,GGO,Csld,CrPa,AirBr,InSepThi\n"


def _image(path: Path, mode: str, bright: bool, seed: int) -> None:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 60, (48, 40), dtype=np.uint8)
    if bright:  # "lesions": bright blobs in the COVID images
        base[10:30, 8:24] += 150
    img = Image.fromarray(base, "L")
    if mode == "RGB":
        img = img.convert("RGB")
    elif mode == "RGBA":
        img = img.convert("RGBA")
    elif mode == "P":
        img = img.convert("P")
    img.save(path)


@pytest.fixture
def dataset(tmp_path, monkeypatch):
    monkeypatch.setenv("CTLABEL_CACHE", str(tmp_path / "cache"))
    images = tmp_path / "images" / "nested"
    images.mkdir(parents=True)
    rows, split = [], ["image,split"]
    modes = ["RGB", "RGBA", "L", "P"]
    for i in range(12):
        covid = i % 2 == 0
        name = f"img{i:02d}.png"
        _image(images / name, modes[i % 4], covid, i)
        lesions = ["GGO", "", "", "", ""] if covid and i % 4 == 0 else ["", "", "", "", ""]
        rows.append(",".join([name, "CVD19" if covid else "", *lesions]))
        split.append(f"{name},{'train' if i < 8 else ('val' if i < 10 else 'test')}")
    labels = tmp_path / "labels.csv"
    labels.write_text(HEADER + "\n".join(rows) + "\n")
    split_file = tmp_path / "split.csv"
    split_file.write_text("\n".join(split) + "\n")
    return {"labels": labels, "images": tmp_path / "images", "split": split_file, "root": tmp_path}


def train_args(dataset, out: Path, batch_size: int = 4) -> list[str]:
    """``ctlabel train`` on the small dataset: a tiny backbone at 32 px."""
    return [
        "train",
        str(dataset["labels"]),
        "--images",
        str(dataset["images"]),
        "--split-file",
        str(dataset["split"]),
        "--backbone",
        BACKBONE,
        "--image-size",
        "32",
        "--batch-size",
        str(batch_size),
        "--out",
        str(out),
    ]


def train(dataset, out: Path, *extra: str):
    return runner.invoke(app, [*train_args(dataset, out), "--json", *extra])


@pytest.mark.slow
def test_train_writes_the_run_folder(dataset):
    out = dataset["root"] / "run"
    result = train(dataset, out, "--epochs", "2")
    assert result.exit_code == 0, result.output
    for name in (
        "best.pt",
        "last.pt",
        "metrics.json",
        "roc.png",
        "pr.png",
        "history.csv",
        "config.json",
        "predictions.csv",
    ):
        assert (out / name).stat().st_size > 0, name
    metrics = json.loads((out / "metrics.json").read_text())
    covid = metrics["test"]["covid"]
    assert 0 <= covid["auc"] <= 1 and set(covid["ci95"]) >= {"accuracy", "f1"}
    assert metrics["weights"] == "scratch" and metrics["labels"][0] == "CVD19"
    config = json.loads((out / "config.json").read_text())
    assert config["weights_source"] == "scratch" and config["backbone"] == BACKBONE
    assert "train: CVD19 4" in result.output  # counts per label printed before training
    assert len((out / "history.csv").read_text().splitlines()) == 3


@pytest.mark.slow
def test_resume_gives_the_same_result(dataset):
    straight, resumed = dataset["root"] / "straight", dataset["root"] / "resumed"
    assert train(dataset, straight, "--epochs", "3", "--seed", "5").exit_code == 0
    assert train(dataset, resumed, "--epochs", "1", "--seed", "5").exit_code == 0
    assert train(dataset, resumed, "--epochs", "3", "--seed", "5", "--resume").exit_code == 0
    a = torch.load(straight / "last.pt", weights_only=False)
    b = torch.load(resumed / "last.pt", weights_only=False)
    for key in a["state_dict"]:
        assert torch.equal(a["state_dict"][key], b["state_dict"][key]), key
    assert [h["train_loss"] for h in a["history"]] == [h["train_loss"] for h in b["history"]]


@pytest.mark.slow
def test_baseline_has_one_output_and_no_pair_plot(dataset):
    out = dataset["root"] / "base"
    assert train(dataset, out, "--epochs", "1", "--baseline").exit_code == 0
    assert torch.load(out / "best.pt", weights_only=False)["labels"] == ["CVD19"]
    result = runner.invoke(app, ["report", str(out)])
    assert result.exit_code == 2 and "baseline" in result.output


@pytest.mark.slow
def test_predict_explain_and_report(dataset):
    out = dataset["root"] / "run"
    assert train(dataset, out, "--epochs", "1").exit_code == 0
    images = sorted((dataset["images"] / "nested").glob("*.png"))[:3]
    predicted = json.loads(runner.invoke(app, ["predict", str(out / "best.pt"), *map(str, images), "--json"]).stdout)
    assert [Path(p["image"]).name for p in predicted] == [p.name for p in images]
    assert all(
        0 <= p["covid"] <= 1 and set(p["lesions"]) == {"GGO", "Csld", "CrPa", "AirBr", "InSepThi"} for p in predicted
    )
    result = runner.invoke(
        app, ["explain", str(out), *map(str, images), "--out", str(dataset["root"] / "cam"), "--json"]
    )
    assert result.exit_code == 0, result.output
    for entry in json.loads(result.stdout):
        overlay = np.asarray(Image.open(entry["overlay"]))
        assert overlay.shape == (224, 224, 3)  # explained at 224 px at least
        assert np.isfinite(entry["map_max"]) and entry["map_max"] > 0  # not an empty map
    result = runner.invoke(app, ["report", str(out)])
    assert result.exit_code == 0 and (out / "lesion-pairs.png").stat().st_size > 0


def test_unknown_code_is_refused_by_name(dataset):
    dataset["labels"].write_text(HEADER + "img00.png,CVD19,GGO,,,Aibr,\n")
    result = train(dataset, dataset["root"] / "x", "--epochs", "1")
    assert result.exit_code == 2 and "unknown code 'Aibr'" in result.output and "column AirBr" in result.output


def test_missing_images_are_refused_unless_skipped(dataset):
    (dataset["images"] / "nested" / "img03.png").unlink()
    (dataset["images"] / "nested" / "img05.png").write_bytes(b"not an image")
    result = train(dataset, dataset["root"] / "x", "--epochs", "1")
    assert result.exit_code == 2 and "img03.png: not found" in result.output and "1 more" in result.output
    result = train(dataset, dataset["root"] / "y", "--epochs", "1", "--skip-missing")
    assert result.exit_code == 0, result.output
    assert "img05.png: not a readable image" in result.output


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "P"])
def test_image_modes_decode_to_rgb(tmp_path, mode):
    _image(tmp_path / "x.png", mode, True, 0)
    arr = load_image(tmp_path / "x.png", 16)
    assert arr.shape == (16, 16, 3) and arr.dtype == np.uint8 and arr.max() > 150


def test_lesion_policies():
    targets = torch.tensor([[1, 1, 0, -1, 0, 0], [1, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0.0]])
    values, mask = lesion_targets(targets, "mask")  # only the image with a lesion counts; its uncertain cell is masked
    assert mask.tolist() == [[1, 1, 0, 1, 1], [0] * 5, [0] * 5]
    values, mask = lesion_targets(targets, "zeros")
    assert mask.sum() == 15 and values[0].tolist() == [1, 0, 0, 0, 0]
    values, mask = lesion_targets(targets, "ones")
    assert values[0].tolist() == [1, 0, 1, 0, 0]


def test_loss_matches_a_hand_computed_case():
    logits = torch.zeros((2, 6))  # every probability 0.5: each BCE term is ln 2
    targets = torch.tensor([[1, 1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0.0]])
    config = TrainConfig(covid_weight=5.0, lesion_policy="mask")
    loss, covid = compute_loss(logits, targets, config)
    assert covid.item() == pytest.approx(np.log(2))
    assert loss.item() == pytest.approx(5 * np.log(2) + np.log(2))  # lesion mean over the 5 valid terms
    logits[0, 0] = 2.0
    _, covid = compute_loss(logits, targets, TrainConfig(baseline=True))
    assert covid.item() == pytest.approx((np.log1p(np.exp(-2.0)) + np.log(2)) / 2)


def test_metrics_against_a_hand_computed_case():
    y = np.array([1, 1, 0, 0, 1])
    p = np.array([0.9, 0.4, 0.35, 0.1, 0.8])
    # pairs (pos, neg): 0.9>0.35, 0.9>0.1, 0.4>0.35, 0.4>0.1, 0.8>0.35, 0.8>0.1 -> all 6 ranked right
    assert auc(y, p) == 1.0
    assert auc(y, np.array([0.2, 0.4, 0.35, 0.5, 0.8])) == pytest.approx(3 / 6)
    m = binary_metrics(y, p)  # threshold 0.5: predicted 1,0,0,0,1 -> tp 2, fn 1, fp 0
    assert (m["accuracy"], m["precision"], m["recall"]) == (0.8, 1.0, pytest.approx(2 / 3))
    assert auc(np.array([1, 1]), np.array([0.2, 0.3])) is None


def test_recipe_is_overridden_by_options(tmp_path):
    recipe = tmp_path / "r.toml"
    recipe.write_text('backbone = "resnet18"\nepochs = 15\nbaseline = true\n')
    config = make_config({"recipe": str(recipe), "epochs": 2, "backbone": None})
    assert (config.backbone, config.epochs, config.baseline) == ("resnet18", 2, True)
    recipe.write_text('bakbone = "resnet18"\n')
    with pytest.raises(CtlabelError, match="unknown setting"):
        make_config({"recipe": str(recipe)})


def test_paper_recipes_load():
    recipes = sorted((Path(__file__).resolve().parent.parent / "training").glob("*.toml"))
    assert len(recipes) == 14
    for path in recipes:
        config = make_config({"recipe": str(path)})
        assert config.backbone in path.stem


@pytest.mark.slow
@pytest.mark.parametrize("train_images", [8, 7])
def test_ddp_under_torchrun_on_cpu(dataset, train_images):
    """Two processes (gloo) train one model; rank 0 writes the run folder. With an odd number of
    training images both ranks still take the same number of batches (else one waits forever), and a
    last batch of one image (BatchNorm cannot train on it) joins the batch before."""
    import subprocess
    import sys

    lines = dataset["split"].read_text().splitlines()
    extra = [line for line in lines if line.endswith(",train")][train_images:]
    dataset["split"].write_text("\n".join(line for line in lines if line not in extra) + "\n")  # left out
    out = dataset["root"] / "ddp"
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "-m",
        "ctlabel",
        *train_args(dataset, out, batch_size=2),
        "--epochs",
        "2",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr.count("epoch 2/2") == 1  # only rank 0 reports
    history = (out / "history.csv").read_text().splitlines()
    per_rank = int(history[1].split(",")[history[0].split(",").index("images")])
    assert len(history) == 3 and per_rank == -(-train_images // 2)  # half, rounded up


@pytest.mark.slow
def test_compare_groups_runs_by_backbone_and_head(dataset):
    for name, extra in (("l0", ["--seed", "0"]), ("l1", ["--seed", "1"]), ("b0", ["--baseline"])):
        assert train(dataset, dataset["root"] / name, "--epochs", "1", *extra).exit_code == 0
    result = runner.invoke(app, ["compare", *(str(dataset["root"] / n) for n in ("l0", "l1", "b0")), "--json"])
    rows = {r["model"]: r for r in json.loads(result.stdout)["groups"]}
    assert rows["LA-DNN"]["runs"] == 2 and rows["baseline"]["runs"] == 1
    assert rows["LA-DNN"]["init"] == "scratch" and rows["LA-DNN"]["dtype"] in ("bfloat16", "float32")
    single = json.loads((dataset["root"] / "b0" / "metrics.json").read_text())["test"]["covid"]["accuracy"]
    assert rows["baseline"]["accuracy"] == {"mean": single, "sd": 0.0}


def test_weights_from_a_local_file(tmp_path):
    """--weights FILE loads the backbone through timm's pretrained_cfg_overlay, never a download."""
    import timm

    from ctlabel.train.model import build_model

    source = timm.create_model(BACKBONE, pretrained=False)
    torch.nn.init.constant_(
        source.conv1[0].weight if isinstance(source.conv1, torch.nn.Sequential) else source.conv1.weight, 0.125
    )
    weights = tmp_path / "w.pth"
    torch.save(source.state_dict(), weights)
    model, origin = build_model(BACKBONE, 6, weights=weights)
    assert origin == str(weights)
    loaded = dict(model.backbone.named_parameters())
    key = next(k for k in loaded if k.startswith("conv1") and k.endswith("weight"))
    assert torch.all(loaded[key] == 0.125)
    scratch, origin = build_model(BACKBONE, 6)
    assert origin == "scratch" and not torch.all(dict(scratch.backbone.named_parameters())[key] == 0.125)
    with pytest.raises(CtlabelError, match="not found"):
        build_model(BACKBONE, 6, weights=tmp_path / "missing.pth")
