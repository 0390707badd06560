"""``ctlabel bench api``: the Python API beside the CLI on the same rows, and reading records back."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ctlabel.mine.bench import _repeat_table
from ctlabel.schema import LABELS, state_of

# Run in a fresh process: read the table as the CLI does (every cell a string, empty cells ""),
# time the ctlabel.mine call alone, write the states, report the call's seconds and the peak memory.
_API_RUN = """
import json, resource, sys, time
import pandas as pd
import ctlabel
table, id_col, states, *texts = sys.argv[1:]
df = pd.read_csv(table, dtype=str, keep_default_na=False)
start = time.perf_counter()
mined = ctlabel.mine(df, text_cols=texts, id_col=id_col)
seconds = time.perf_counter() - start
labels = ["covid", "GGO", "Csld", "CrPa", "AirBr", "InSepThi"]
with open(states, "w") as fh:
    json.dump({"ids": mined.index.tolist(), **{label: mined[label].astype(str).tolist() for label in labels}}, fh)
print(json.dumps({"seconds": seconds, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _timed(cmd: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return time.perf_counter() - start, done.stdout


def _cli_states(path: Path) -> dict[str, list[str]]:
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return {"ids": [r["id"] for r in records], **{label: [state_of(r, label) for r in records] for label in LABELS}}


def _read_records(mined: Path, count: int, folder: Path) -> dict[str, Any]:
    """``ctlabel.read_records`` on ``count`` records (the mined ones repeated, fresh ids): seconds and rows read."""
    from ctlabel.api import read_records

    lines = [json.loads(line) for line in mined.read_text(encoding="utf-8").splitlines()]
    big = folder / "records.jsonl"
    with big.open("w", encoding="utf-8") as fh:
        for k in range(count):
            record = lines[k % len(lines)]
            fh.write(json.dumps({**record, "id": f"{k}-{record['id']}"}, ensure_ascii=False) + "\n")
    start = time.perf_counter()
    frame = read_records(big)
    return {"records": count, "seconds": time.perf_counter() - start, "rows": len(frame)}


def bench_api(
    input_path: str | Path, repeat: int, rounds: int, id_col: str, text_cols: tuple[str, ...], unique: bool, read: int
) -> dict[str, Any]:
    """``ctlabel mine captions`` (the whole command) and ``ctlabel.mine`` (the call, and its whole
    process) on the same rows, alternating ``rounds`` times; medians, states compared."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        table, out, states = folder / "input.csv", folder / "out.jsonl", folder / "api-states.json"
        n = _repeat_table(Path(input_path), repeat, id_col, text_cols, unique, table)
        texts = [arg for col in text_cols for arg in ("--text-col", col)]
        cli_cmd = [sys.executable, "-m", "ctlabel", "mine", "captions", str(table), "-o", str(out), "--id-col", id_col, *texts]
        api_cmd = [sys.executable, "-c", _API_RUN, str(table), id_col, str(states), *text_cols]
        cli, api_call, api_process, peak = [], [], [], []
        for _ in range(rounds):
            cli.append(_timed(cli_cmd)[0])
            seconds, stdout = _timed(api_cmd)
            api_process.append(seconds)
            reported = json.loads(stdout.strip().splitlines()[-1])
            api_call.append(reported["seconds"])
            peak.append(reported["peak_rss_mb"])
        identical = _cli_states(out) == json.loads(states.read_text())
        read_back = _read_records(out, read, folder) if read else None
    median = statistics.median
    return {
        "records": n, "rounds": rounds, "unique_texts": unique, "cli_seconds": cli, "api_call_seconds": api_call,
        "api_process_seconds": api_process, "cli_median": median(cli), "api_call_median": median(api_call),
        "api_process_median": median(api_process), "api_call_vs_cli": median(api_call) / median(cli) - 1,
        "api_peak_rss_mb": max(peak), "identical_states": identical,
        "read_records": read_back,
    }
