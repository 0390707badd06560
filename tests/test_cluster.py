"""`mine pdf --store --cluster local:2` and `--scheduler`: a worker killed mid-run loses and duplicates nothing."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import psutil
import pytest

from ctlabel.pdf.cluster import mine_corpus, read_manifest
from ctlabel.testing.papers import make_paper

pytestmark = pytest.mark.slow  # each test trains, pretrains or starts a cluster

pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, list[dict]]:
    """Five generated papers and a broken PDF, and their records from a run without a cluster."""
    root = tmp_path_factory.mktemp("cluster")
    papers = root / "papers"
    papers.mkdir()
    for seed in range(5):
        make_paper(papers / f"paper{seed}.pdf", seed=seed)
    (papers / "broken.pdf").write_bytes(b"%PDF-1.4 not a PDF body")
    mine_corpus([papers], root / "plain", root / "plain-store", dpi=72, processes=2)
    return papers, _records(root / "plain")


def _records(out: Path) -> list[dict]:
    rows = [json.loads(line) for shard in sorted(out.glob("part-*.jsonl")) for line in shard.read_text().splitlines()]
    for row in rows:
        row.pop("image")  # the store's path differs between runs
    return sorted(rows, key=lambda r: r["id"])


def _busy_worker() -> psutil.Process | None:
    """A Dask worker process (a child of this test) that is extracting a PDF now (it has a child)."""
    for child in psutil.Process().children():
        if "spawn_main" in " ".join(child.cmdline()) and child.children():
            return child
    return None


def test_killed_worker_loses_and_duplicates_nothing(corpus, tmp_path):
    papers, expected = corpus
    killed: list[int] = []

    def kill_one(result: dict) -> None:
        if not killed and (worker := _busy_worker()) is not None:
            os.kill(worker.pid, signal.SIGKILL)
            killed.append(worker.pid)

    summary = mine_corpus(
        [papers],
        tmp_path / "out",
        tmp_path / "store",
        dpi=72,
        cluster="local:2",
        retries=2,
        shard_pdfs=2,
        progress=kill_one,
    )
    assert killed, "no worker was busy to kill"
    assert summary.dashboard and summary.failed == 0
    got = _records(tmp_path / "out")
    assert got == expected
    assert len({r["id"] for r in got}) == len(got)
    _, rows = read_manifest(tmp_path / "out")
    assert sorted(r["pdf"] for r in rows) == sorted(str(p.resolve()) for p in papers.glob("*.pdf"))
    assert [r["status"] for r in rows].count("skipped") == 1


def test_scheduler_joins_an_existing_cluster(corpus, tmp_path):
    import dask
    from dask.distributed import LocalCluster

    papers, expected = corpus
    with dask.config.set({"distributed.worker.daemon": False}):
        cluster = LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=":0")
    try:
        summary = mine_corpus(
            [papers], tmp_path / "out", tmp_path / "store", dpi=72, scheduler=cluster.scheduler_address
        )
        assert cluster.scheduler_address and summary.failed == 0
        assert _records(tmp_path / "out") == expected
        assert len(cluster.scheduler.workers) == 1  # the cluster is the caller's: still up
    finally:
        cluster.close()


def test_captions_on_a_cluster_equal_the_plain_run(tmp_path):
    from typer.testing import CliRunner

    from ctlabel.cli.main import app

    sample = Path(__file__).resolve().parent.parent / "annotations" / "sample" / "captions.csv"
    header, *rows = sample.read_text(encoding="utf-8").splitlines()
    table = tmp_path / "big.csv"  # several chunks (512 rows each), ids made unique
    with table.open("w", encoding="utf-8") as fh:
        fh.write(header + "\n")
        for k in range(1200 // len(rows) + 1):
            fh.writelines(f"r{k}-{row}\n" for row in rows)
    args = ["mine", "captions", str(table), "--id-col", "image", "--text-col", "caption", "--text-col", "report"]
    runner = CliRunner()
    plain = runner.invoke(app, [*args, "-o", str(tmp_path / "plain.jsonl")])
    assert plain.exit_code == 0, plain.output
    spread = runner.invoke(app, [*args, "-o", str(tmp_path / "cluster.jsonl"), "--cluster", "local:2"])
    assert spread.exit_code == 0, spread.output
    lines = (tmp_path / "cluster.jsonl").read_text().splitlines()
    assert len(lines) > 1024 and lines == (tmp_path / "plain.jsonl").read_text().splitlines()
