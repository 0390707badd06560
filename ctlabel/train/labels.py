"""Read a label file into training targets: every code mapped, unknown ones refused by name."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ctlabel.errors import CtlabelError
from ctlabel.export.formats import CODES, read_label_file
from ctlabel.schema import POSITIVE, UNCERTAIN

LABEL_ORDER: tuple[str, ...] = CODES  # CVD19 first, then the five lesions: the model's output order


@dataclass
class LabelSet:
    """Names, a (N, 6) target matrix (1 positive, 0 not, -1 uncertain) and where it came from."""

    path: Path
    names: list[str]
    targets: torch.Tensor

    def counts(self) -> dict[str, int]:
        return {code: int((self.targets[:, i] == 1).sum()) for i, code in enumerate(LABEL_ORDER)}

    def subset(self, names: list[str]) -> LabelSet:
        index = {n: i for i, n in enumerate(self.names)}
        return LabelSet(self.path, names, self.targets[[index[n] for n in names]])


def read_labels(path: str | Path) -> LabelSet:
    """A label file's names and (N, 6) targets (1 positive, -1 uncertain, 0 not); CtlabelError for a file with
    errors, duplicate names or no rows."""
    labels = read_label_file(path)
    problems = labels.errors + [f"duplicate image name {n!r}" for n in labels.duplicates]
    if problems:
        more = f" (and {len(problems) - 1} more; run ctlabel validate)" if len(problems) > 1 else ""
        raise CtlabelError(f"{path}: {problems[0]}{more}")
    if not labels.order:
        raise CtlabelError(f"{path}: no rows")
    value = {POSITIVE: 1.0, UNCERTAIN: -1.0}
    targets = torch.tensor([[value.get(labels.rows[n][c], 0.0) for c in LABEL_ORDER] for n in labels.order])
    return LabelSet(Path(path), list(labels.order), targets)
