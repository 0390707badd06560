"""``ctlabel bench api``: the Python API beside the CLI on the same rows, and reading records back."""

from __future__ import annotations

import json
import resource
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
start, cpu = time.perf_counter(), time.process_time()
mined = ctlabel.mine(df, text_cols=texts, id_col=id_col)
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
labels = ["covid", "GGO", "Csld", "CrPa", "AirBr", "InSepThi"]
with open(states, "w") as fh:
    json.dump({"ids": mined.index.tolist(), **{label: mined[label].astype(str).tolist() for label in labels}}, fh)
print(json.dumps({"seconds": seconds, "cpu": cpu, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(cmd: list[str]) -> tuple[float, float, str]:
    """Wall and CPU seconds of a command (CPU time is what a shared, loaded machine measures best)."""
    start, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return time.perf_counter() - start, _children_cpu() - cpu, done.stdout


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
    start, cpu = time.perf_counter(), time.process_time()
    frame = read_records(big)
    return {
        "records": count,
        "seconds": time.perf_counter() - start,
        "cpu_seconds": time.process_time() - cpu,
        "rows": len(frame),
    }


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
        cli_cmd = [
            sys.executable,
            "-m",
            "ctlabel",
            "mine",
            "captions",
            str(table),
            "-o",
            str(out),
            "--id-col",
            id_col,
            *texts,
        ]
        api_cmd = [sys.executable, "-c", _API_RUN, str(table), id_col, str(states), *text_cols]
        runs: dict[str, list[float]] = {
            k: [] for k in ("cli", "cli_cpu", "api_call", "api_call_cpu", "api_process", "api_process_cpu", "peak")
        }
        for _ in range(rounds):
            wall, cpu, _out = _timed(cli_cmd)
            runs["cli"].append(wall)
            runs["cli_cpu"].append(cpu)
            wall, cpu, stdout = _timed(api_cmd)
            reported = json.loads(stdout.strip().splitlines()[-1])
            runs["api_process"].append(wall)
            runs["api_process_cpu"].append(cpu)
            runs["api_call"].append(reported["seconds"])
            runs["api_call_cpu"].append(reported["cpu"])
            runs["peak"].append(reported["peak_rss_mb"])
        identical = _cli_states(out) == json.loads(states.read_text())
        read_back = _read_records(out, read, folder) if read else None
    medians = {f"{k}_median": statistics.median(v) for k, v in runs.items() if k != "peak"}
    return {
        "records": n,
        "rounds": rounds,
        "unique_texts": unique,
        "runs": runs,
        **medians,
        "api_call_vs_cli": medians["api_call_median"] / medians["cli_median"] - 1,
        "api_call_vs_cli_cpu": medians["api_call_cpu_median"] / medians["cli_cpu_median"] - 1,
        "api_peak_rss_mb": max(runs["peak"]),
        "identical_states": identical,
        "read_records": read_back,
    }
