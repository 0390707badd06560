"""Benchmark the whole `mine captions` command on a table repeated to many rows."""

from __future__ import annotations

import csv
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ctlabel.io import read_table


def _repeat_table(
    input_path: Path, repeat: int, id_col: str, text_cols: tuple[str, ...], unique: bool, out: Path
) -> int:
    """Write INPUT ``repeat`` times with fresh ids; ``unique`` makes every text distinct too."""
    table = read_table(input_path)
    rows = [row for _, row in table.rows]
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=table.columns)
        writer.writeheader()
        for k in range(repeat):
            for row in rows:
                copy = {**row, id_col: f"r{k}-{row[id_col]}"}
                if unique:
                    copy |= {c: f"{row[c]} (copy {k})" for c in text_cols}
                writer.writerow(copy)
    return len(rows) * repeat


def bench_mine(
    input_path: str | Path, repeat: int, processes: int, id_col: str, text_cols: tuple[str, ...], unique: bool = False
) -> dict[str, Any]:
    """Run `ctlabel mine captions` in a fresh process; time it end to end, read its peak RSS."""
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "input.csv"
        n = _repeat_table(Path(input_path), repeat, id_col, text_cols, unique, big)
        cmd = [
            sys.executable,
            "-m",
            "ctlabel",
            "mine",
            "captions",
            str(big),
            "-o",
            str(Path(tmp) / "out.jsonl"),
            "--id-col",
            id_col,
            "--processes",
            str(processes),
            "--json",
        ]
        for col in text_cols:
            cmd += ["--text-col", col]
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        seconds = time.perf_counter() - start
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {
        "records": n,
        "seconds": seconds,
        "records_per_s": n / seconds,
        "processes": processes,
        "unique_texts": unique,
        "peak_rss_mb": peak_kb / 1024,
    }
