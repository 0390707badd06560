"""``ctlabel bench review``: push and pull throughput against a running Label Studio."""

from __future__ import annotations

import socket
import tempfile
import time
from itertools import islice
from pathlib import Path
from typing import Any

from ctlabel.io import dump_record
from ctlabel.mine import Miner
from ctlabel.review.pull import pull, tasks_from_server
from ctlabel.review.push import push
from ctlabel.review.server import Server
from ctlabel.schema import empty_record

CAPTIONS = (
    "Figure 1. CT of a COVID-19 patient. (A) Bilateral ground-glass opacities. (B) Consolidation with air bronchogram.",
    "Chest CT showing crazy-paving pattern without consolidation.",
    "Possible interlobular septal thickening in the right lower lobe.",
    "CT images of the control group: influenza pneumonia with patchy consolidation.",
)


def _records(path: Path, n: int, offset: int = 0) -> None:
    miner = Miner()
    templates = []
    for k, text in enumerate(CAPTIONS):
        record = empty_record("x")
        record["texts"] = [{"source": "caption", "text": text}]
        record["panel"] = "AB"[k % 2]
        templates.append(miner.mine_one(record))
    with path.open("w", encoding="utf-8") as fh:
        for i in range(offset, offset + n):
            fh.write(dump_record(dict(templates[i % len(templates)], id=f"bench-{i:06d}.png")))


def bench_review(server: Server, push_n: int = 10_000, pull_n: int = 50_000, annotate_n: int = 200) -> dict[str, Any]:
    """Time pushing ``push_n`` synthetic records (then up to ``pull_n``) to a new project on ``server`` and pulling them
    back with ``annotate_n`` tasks annotated; tasks or records per second. The project is deleted at the end."""
    title = f"ctlabel-bench-{int(time.time())}"
    result: dict[str, Any] = {"project": title}
    with tempfile.TemporaryDirectory() as tmp:
        try:
            mined = Path(tmp) / "mined.jsonl"
            ledger = Path(tmp) / "ledger.jsonl"
            _records(mined, push_n)
            start = time.perf_counter()
            summary = push(mined, title, server, ledger_file=ledger)
            result["push"] = {"tasks": summary.created, "seconds": time.perf_counter() - start}
            if pull_n > push_n:
                _records(mined, pull_n)
                start = time.perf_counter()
                more = push(mined, title, server, ledger_file=ledger)
                result["push_more"] = {"tasks": more.created, "seconds": time.perf_counter() - start}
            tasks: list[Any] = list(
                islice(server.sdk.tasks.list(project=summary.project_id, page_size=annotate_n), annotate_n)
            )
            for task in tasks:
                server.sdk.annotations.create(
                    id=task.id,
                    result=[
                        {"from_name": "lesions", "to_name": "caption", "type": "choices", "value": {"choices": ["GGO"]}}
                    ],
                )
            start = time.perf_counter()
            fetched, _ = tasks_from_server(server, title, ledger)
            pulled = pull(fetched, Path(tmp) / "reviewed.jsonl")
            result["pull"] = {"records": pulled.records, "human": pulled.human, "seconds": time.perf_counter() - start}
        finally:  # a failed bench leaves no project behind either
            project = server.find_project(title)
            if project is not None:
                server.call(server.sdk.projects.delete, id=project.id)
    for key in ("push", "push_more"):
        if key in result:
            result[key]["per_s"] = result[key]["tasks"] / result[key]["seconds"]
    result["pull"]["per_s"] = result["pull"]["records"] / result["pull"]["seconds"]
    return result


def bench_databases(databases: list[str], push_n: int, pull_n: int, annotate_n: int) -> dict[str, Any]:
    """The same bench on a fresh local server per database (``sqlite`` or ``postgresql://…``)."""
    from ctlabel.review.launch import start, stop

    results: dict[str, Any] = {}
    for database in databases:
        with tempfile.TemporaryDirectory() as tmp, socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
            probe.close()
            started = time.perf_counter()
            proc, local = start(Path(tmp), Path(tmp), "127.0.0.1", port, database)
            start_seconds = time.perf_counter() - started
            try:
                result = bench_review(Server(local.url, local.token), push_n, pull_n, annotate_n)
                results[local.database] = {"start_seconds": start_seconds, **result}
            finally:
                stop(proc)
    return results
