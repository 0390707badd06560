"""Read a pipeline file: stages, their settings, and paths resolved against the file's folder."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ctlabel.errors import CtlabelError
from ctlabel.io import read_toml
from ctlabel.pipeline.schema import check_pipeline

STAGES = ("mine", "review", "export", "train")
_VAR = re.compile(r"\$\{(\w+)\}")


@dataclass
class Pipeline:
    """A pipeline file as read: name, work folder, stage tables; ``input`` resolves against the file's folder,
    ``output`` against the work folder."""

    path: Path
    name: str
    workdir: Path
    stages: dict[str, dict[str, Any]]
    base: Path  # input paths are relative to the pipeline file's folder

    def input(self, value: str) -> Path:
        return (self.base / value).resolve() if not Path(value).is_absolute() else Path(value)

    def output(self, value: str) -> Path:
        return (self.workdir / value).resolve() if not Path(value).is_absolute() else Path(value)


def _substitute(value: Any, variables: dict[str, str], where: str) -> Any:
    if isinstance(value, str):

        def repl(match: re.Match) -> str:
            if match.group(1) not in variables:
                raise CtlabelError(
                    f"{where}: unknown variable ${{{match.group(1)}}} (set it with --set {match.group(1)}=…)"
                )
            return variables[match.group(1)]

        return _VAR.sub(repl, value)
    if isinstance(value, list):
        return [_substitute(v, variables, where) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, variables, where) for k, v in value.items()}
    return value


def load_pipeline(path: str | Path, overrides: dict[str, str] | None = None, workdir: Path | None = None) -> Pipeline:
    """Read a pipeline file with its ``${name}`` variables filled in (``overrides`` win) and its tables checked;
    CtlabelError for an unknown section or variable or no stage. ``workdir`` replaces the file's."""
    path = Path(path)
    data = read_toml(path, "pipeline file")
    head = data.get("pipeline", {})
    if not isinstance(head, dict) or not isinstance(head.get("vars", {}), dict):
        raise CtlabelError(f'{path}: [pipeline] must be a table, with vars = {{ name = "value" }}')
    variables = {k: str(v) for k, v in head.get("vars", {}).items()} | dict(overrides or {})
    data = _substitute(data, variables, str(path))
    head = data.get("pipeline", {})
    unknown = sorted(set(data) - {"pipeline", *STAGES})
    if unknown:
        raise CtlabelError(f"{path}: unknown section(s) {', '.join(unknown)}; stages are {', '.join(STAGES)}")
    check_pipeline(path, data)
    stages = {name: data[name] for name in STAGES if name in data}
    if not stages:
        raise CtlabelError(f"{path}: no stage ({', '.join(STAGES)}) is defined")
    base = path.resolve().parent
    work = workdir or (base / head.get("workdir", f"../out/{path.stem}"))
    return Pipeline(path, head.get("name", path.stem), work.resolve(), stages, base)
