"""``ctlabel validate``: is a label file safe to train on?"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ctlabel.errors import CtlabelError
from ctlabel.export.formats import COVID_CODE, read_label_file
from ctlabel.io import index_images
from ctlabel.schema import LESIONS, POSITIVE


@dataclass
class Validation:
    """The verdict on a label file: its path, format and row count, errors (``ok`` when none) and warnings."""

    path: str
    format: str
    rows: int
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "ok": self.ok}


def validate_labels(path: str | Path, images: str | Path | None = None, fmt: str | None = None) -> Validation:
    """Header, codes, duplicate names, images present, lesions on non-COVID rows."""
    if images is not None and not Path(images).is_dir():
        raise CtlabelError(f"{images}: images folder not found")
    labels = read_label_file(path, fmt)
    result = Validation(str(path), labels.format, len(labels.rows), list(labels.errors))
    result.errors += [f"duplicate image name {name!r}" for name in labels.duplicates]
    if images is not None:
        found = index_images(Path(images))
        missing = [n for n in labels.order if n not in found]
        result.errors += [f"image {n!r} not found below {images}" for n in missing[:20]]
        if len(missing) > 20:
            result.errors.append(f"… and {len(missing) - 20} more images not found")
    for name in labels.order:
        states = labels.rows[name]
        marked = [c for c in LESIONS if states[c] == POSITIVE]
        if marked and states[COVID_CODE] != POSITIVE:
            result.warnings.append(f"{name}: lesion {', '.join(marked)} marked on a non-COVID row")
    if not labels.rows:
        result.errors.append("no rows")
    return result
