"""The record is a type: a stage that drops or renames a field fails type checking (mypy)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

GOOD = """
from ctlabel.schema import PdfRecord, empty_record

def make() -> PdfRecord:
    return {**empty_record("x"), "doi": None, "page": 1, "figure": "2", "bbox": [0.0, 0.0, 1.0, 1.0],
            "kind": "ct", "notes": None}
"""


def _mypy(tmp_path: Path, source: str) -> subprocess.CompletedProcess:
    pytest.importorskip("mypy")
    module = tmp_path / "stage.py"
    module.write_text(source)
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), str(module)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )


def test_a_complete_pdf_record_type_checks(tmp_path):
    result = _mypy(tmp_path, GOOD)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (('"kind": "ct", ', ""), 'Missing key "kind"'),  # the field the PDF record once lost
        (('"kind": "ct", ', '"picture": "ct", '), "picture"),
        (
            ('def make() -> PdfRecord:\n    return {**empty_record("x"), ', "def make() -> PdfRecord:\n    return {"),
            "Missing keys",
        ),
    ],
)
def test_a_dropped_or_renamed_field_fails_type_checking(tmp_path, change, complaint):
    old, new = change
    assert old in GOOD
    result = _mypy(tmp_path, GOOD.replace(old, new))
    assert result.returncode == 1 and complaint in result.stdout, result.stdout
