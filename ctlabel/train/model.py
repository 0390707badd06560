"""The LA-DNN: a timm backbone, pooled features, one linear layer of 6 logits (COVID + 5 lesions),
or of 1 logit for the paper's baseline. Any timm model name works."""

from __future__ import annotations

import os
from pathlib import Path

import timm
import torch
from torch import nn

from ctlabel.errors import CtlabelError

PAPER_BACKBONES = ("vgg16", "resnet18", "resnet50", "densenet121", "densenet169", "efficientnet_b0", "efficientnet_b1")


class LADNN(nn.Module):
    """A timm backbone's pooled features through one linear layer of ``outputs`` logits."""

    def __init__(self, backbone: nn.Module, outputs: int):
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(int(backbone.num_features), outputs)  # type: ignore[arg-type]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))


def build_model(name: str, outputs: int, pretrained: bool = False, weights: Path | None = None) -> tuple[LADNN, str]:
    """The model and where its backbone weights came from ("scratch", "cache", or the file)."""
    if name not in timm.list_models() and not timm.is_model(name):
        raise CtlabelError(f"unknown backbone {name!r}; any timm model name works, e.g. {', '.join(PAPER_BACKBONES)}")
    if weights is not None:
        backbone = timm.create_model(name, pretrained=False, num_classes=0)
        load_backbone_weights(backbone, name, weights)
        return LADNN(backbone, outputs), str(weights)
    if pretrained:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # weights come from the user's cache, never a download
        try:
            backbone = timm.create_model(name, pretrained=True, num_classes=0)
        except Exception as exc:  # timm/hub raise several types when the cache lacks the file
            raise CtlabelError(
                f"no cached pretrained weights for {name!r} ({exc.__class__.__name__}); pass --weights FILE or train from scratch"
            ) from None
        return LADNN(backbone, outputs), "cache"
    return LADNN(timm.create_model(name, pretrained=False, num_classes=0), outputs), "scratch"


def _read_state(path: Path) -> dict[str, torch.Tensor]:
    """A state dict from a torch or safetensors file; a ``ctlabel pretrain`` output says its backbone."""
    if not path.exists():
        raise CtlabelError(f"{path}: weights file not found")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(path)
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch and safetensors raise several types for a bad file
        raise CtlabelError(f"{path}: not a weights file ({exc.__class__.__name__})") from None
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            return {"__backbone__": state.get("backbone"), **state[key]}
    if not isinstance(state, dict):
        raise CtlabelError(f"{path}: not a weights file (no state dict in it)")
    return state


def load_backbone_weights(backbone: nn.Module, name: str, path: Path) -> None:
    """Load a backbone's weights (its classifier, if the file has one, is dropped); a file made for
    another backbone is one clear error."""
    state = dict(_read_state(path))
    origin = state.pop("__backbone__", None)
    if origin and origin != name:
        raise CtlabelError(f"{path}: weights of a {origin} backbone, not {name} (pass --backbone {origin})")
    classifier = str(getattr(backbone, "pretrained_cfg", {}).get("classifier") or "")
    if classifier:
        state = {k: v for k, v in state.items() if not k.startswith(classifier + ".")}
    own = backbone.state_dict()
    wrong = [k for k, v in state.items() if k in own and tuple(own[k].shape) != tuple(v.shape)]
    missing, unexpected = [k for k in own if k not in state], [k for k in state if k not in own]
    if wrong or missing or unexpected:
        example = (wrong or missing or unexpected)[0]
        raise CtlabelError(
            f"{path}: does not fit the {name} backbone ({len(wrong)} tensors of another shape, "
            f"{len(missing)} missing, {len(unexpected)} unexpected, e.g. {example!r})"
        )
    backbone.load_state_dict(state)


def gradcam_layer(model: LADNN) -> nn.Module:
    """The layer Grad-CAM++ reads for each backbone family: the last block before pooling."""
    backbone = model.backbone
    for attr in ("layer4", "stages", "features", "conv_head", "final_conv", "blocks"):
        if hasattr(backbone, attr):
            module = getattr(backbone, attr)
            if attr == "features" and hasattr(module, "norm5"):  # DenseNet: the final norm
                return module.norm5
            if isinstance(module, (nn.Sequential, nn.ModuleList)) and len(module):
                layers = [m for m in module if not isinstance(m, (nn.MaxPool2d, nn.AvgPool2d))]  # VGG ends with a pool
                return layers[-1]
            return module
    convs = [m for m in backbone.modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise CtlabelError("this backbone has no convolution for Grad-CAM++")
    return convs[-1]
