"""Benchmark PDF mining end to end (captions, regions, rendered PNGs, mining)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from ctlabel.errors import CtlabelError
from ctlabel.pdf.run import find_pdfs, mine_pdfs


def bench_pdf(paths: list[Path], processes: int, copies: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        inputs = root / "inputs"
        inputs.mkdir()
        sources = find_pdfs(paths) if paths else [root / "paper.pdf"]
        if not paths:
            try:
                from ctlabel.pdf.synthetic import make_long_paper
            except ImportError:
                raise CtlabelError("generating a sample paper needs fpdf2: pip install 'ctlabel[samples]', or pass PDFs") from None
            make_long_paper(sources[0], parts=3)
        for k in range(copies):
            for source in sources:
                shutil.copy(source, inputs / f"{source.stem}-{k}.pdf")
        runs = []
        for n in sorted({1, processes}):
            summary = mine_pdfs([inputs], root / f"out{n}.jsonl", root / f"figures{n}", processes=n)
            runs.append({
                "processes": n, "pdfs": summary.pdfs, "pages": summary.pages, "figures": summary.figures,
                "images": summary.images, "seconds": summary.seconds,
                "pages_per_s": summary.pages / summary.seconds, "figures_per_s": summary.figures / summary.seconds,
            })
    return {"runs": runs}
