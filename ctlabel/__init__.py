"""ctlabel: chest-CT text to training labels, reviewed, exported and trained on.

The Python API (docs/api.md) works on pandas DataFrames; it is imported on first use, so
``import ctlabel`` and the CLI stay fast::

    import ctlabel
    mined = ctlabel.mine(df, text_cols=["caption", "report"], id_col="image")
    ctlabel.evaluate("gold.csv", mined)
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_API = ("Model", "RecordView", "diff", "evaluate", "load_model", "read_labels", "read_records")
__all__ = [
    "Model",
    "RecordView",
    "__version__",
    "diff",
    "evaluate",
    "load_model",
    "mine",
    "read_labels",
    "read_records",
]

if TYPE_CHECKING:
    from ctlabel.api import (
        Model,
        RecordView,
        diff,
        evaluate,
        load_model,
        mine,
        read_labels,
        read_records,
    )


def __getattr__(name: str) -> Any:
    if name == "mine":  # the subpackage, callable as ctlabel.api.mine (ctlabel/mine/__init__.py)
        return import_module("ctlabel.mine")
    if name in _API:
        return getattr(import_module("ctlabel.api"), name)
    raise AttributeError(f"module 'ctlabel' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
