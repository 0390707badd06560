"""``ctlabel diff OLD NEW``: what changed between two label files, image by image."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ctlabel.errors import CtlabelError
from ctlabel.export.formats import CODES, read_label_file
from ctlabel.schema import POSITIVE


def diff_labels(old_path: str | Path, new_path: str | Path) -> dict[str, Any]:
    """Images added and removed, per-label flips (with names), positive counts before and after."""
    old, new = read_label_file(old_path), read_label_file(new_path)
    for labels in (old, new):
        if labels.errors or labels.conflicts:
            raise CtlabelError(f"{labels.path}: {(labels.errors + labels.conflicts)[0]} (run ctlabel validate)")
    common = [n for n in new.order if n in old.rows]
    flips: dict[str, dict[str, list[str]]] = {}
    for code in CODES:
        gained = [n for n in common if new.rows[n][code] == POSITIVE != old.rows[n][code]]
        lost = [n for n in common if old.rows[n][code] == POSITIVE != new.rows[n][code]]
        other = [
            n
            for n in common
            if old.rows[n][code] != new.rows[n][code] and POSITIVE not in (old.rows[n][code], new.rows[n][code])
        ]
        flips[code] = {"gained": gained, "lost": lost, "changed": other}

    def counts(labels) -> dict[str, int]:
        return {"rows": len(labels.rows), **{c: sum(s[c] == POSITIVE for s in labels.rows.values()) for c in CODES}}

    return {
        "old": str(old_path),
        "new": str(new_path),
        "added": [n for n in new.order if n not in old.rows],
        "removed": [n for n in old.order if n not in new.rows],
        "flips": flips,
        "counts": {"old": counts(old), "new": counts(new)},
        "duplicates": {"old": old.duplicates, "new": new.duplicates},
        "changed_images": sorted({n for f in flips.values() for names in f.values() for n in names}),
    }
