"""The defaults shipped inside the package: lexicon, labeling config and review instructions.

Users keep their own edited copies elsewhere (``annotations/`` in a checkout) and pass them by path.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def resource(name: str) -> Path:
    """The path of a bundled file (wheels install as plain files, so this is a real path)."""
    return Path(str(files(__name__).joinpath(name)))


def read_resource(name: str) -> str:
    """The text of a bundled file."""
    return files(__name__).joinpath(name).read_text(encoding="utf-8")
