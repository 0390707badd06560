"""``ctlabel mine pdf CORPUS -o OUT --store STORE [--cluster local:N | --scheduler ADDR]``: a corpus run.

One task per PDF (:func:`ctlabel.pdf.store.extract_one`: hash, extract into the store unless there)
on a Dask cluster, or on local processes without one; the client mines each finished PDF's figures
from the store. ``OUT`` is a folder of record shards ``part-NNNNN.jsonl`` (each written whole: temp +
rename) and ``manifest.jsonl``: a header with the run's key (lexicon, dpi, extractor version), then one
line per PDF (``pdf``, ``sha256``, ``status`` ok|skipped|failed, ``reason``, ``records``, ``pages``,
``shard``), appended after its shard is in place. A re-run with the same key does only the PDFs not
in the manifest or failed there (a time-out, a lost worker; a PDF that cannot be read is done); with another key (a lexicon edit) it builds ``OUT.next`` from the store and swaps it in.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from ctlabel.errors import CtlabelError
from ctlabel.io import atomic_write, dump_record
from ctlabel.lexicon import Lexicon
from ctlabel.mine.miner import Miner
from ctlabel.pdf.batch import find_pdfs, pdf_record
from ctlabel.pdf.staging import doc_ids
from ctlabel.pdf.store import EXTRACTOR_VERSION, ExtractionStore, extract_one
from ctlabel.schema import ExtractedFigure, PdfRecord

MANIFEST = "manifest.jsonl"
# A worker forks each extraction (its time limit). Dask's MALLOC_TRIM_THRESHOLD_=65536 turns glibc's
# adaptive mmap threshold off: every page image was then mapped and faulted in afresh (3× the page
# faults, a third more CPU per extraction, measured); these restore heap reuse. No stack sampling every 10 ms.
WORKER_CONFIG = {
    "distributed.worker.daemon": False,
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": 128 << 20,
    "distributed.nanny.pre-spawn-environ.MALLOC_MMAP_THRESHOLD_": 32 << 20,
    "distributed.worker.profile.enabled": False,
}
SHARD_SECONDS = 60.0  # a shard at least this often, so a stopped run loses little mining


@dataclass
class CorpusSummary:
    """Totals of a corpus run: PDFs (done before, extracted now), pages, records, failures, seconds, skipped PDFs."""

    output: str
    pdfs: int = 0  # PDFs in the corpus
    done_before: int = 0  # found in the manifest of an earlier run with the same key
    extracted: int = 0  # extracted in this run (the rest came from the store)
    pages: int = 0
    records: int = 0
    failed: int = 0
    seconds: float = 0.0
    dashboard: str | None = None
    skipped: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return self.__dict__.copy()


def run_key(miner: Miner, dpi: int, version: str) -> str:
    """The run key (16 hex digits): a hash of the miner's provenance, ``dpi`` and the extractor ``version``."""
    return hashlib.sha256(json.dumps([miner.provenance, dpi, version]).encode()).hexdigest()[:16]


def read_manifest(out: Path) -> tuple[str | None, list[dict[str, Any]]]:
    """The run key and the PDF lines of ``out/manifest.jsonl`` (a torn last line is left out)."""
    try:
        lines = (out / MANIFEST).read_text(encoding="utf-8").splitlines()
    except OSError:
        return None, []
    rows = []
    for line in lines:
        try:
            rows.append(json.loads(line))
        except ValueError:
            break
    if not rows or "run" not in rows[0]:
        return None, []
    return rows[0]["run"], rows[1:]


class _Output:
    """The shards and manifest of one run key in ``folder`` (resumed when its manifest has that key)."""

    def __init__(self, folder: Path, key: str) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        found, rows = read_manifest(folder)
        self.rows = [r for r in rows if r["status"] != "failed"] if found == key else []  # failures are tried again
        shards = {r["shard"] for r in self.rows if r.get("shard")}
        for stale in folder.glob("part-*.jsonl"):  # written, but its PDFs never reached the manifest
            if stale.name not in shards:
                stale.unlink()
        with atomic_write(folder / MANIFEST) as fh:  # the header and whole lines only
            for row in [{"run": key}, *self.rows]:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        self.next_shard = len(shards)
        self.manifest = (folder / MANIFEST).open("a", encoding="utf-8")

    def done(self) -> set[str]:
        return {r["pdf"] for r in self.rows}

    def write(self, rows: list[dict[str, Any]], lines: list[str]) -> None:
        """A shard of records (JSONL lines; if any), then the manifest lines of its PDFs."""
        name = None
        if lines:
            name = f"part-{self.next_shard:05d}.jsonl"
            self.next_shard += 1
            with atomic_write(self.folder / name) as fh:
                fh.writelines(lines)
        # the shard's rows in one write, not one by one: a crash between rows would keep the shard with
        # only some of its PDFs noted, redo the others and write their records twice
        self.manifest.write(
            "".join(
                json.dumps({**row, "shard": name if row["records"] else None}, ensure_ascii=False) + "\n"
                for row in rows
            )
        )
        self.manifest.flush()
        os.fsync(self.manifest.fileno())
        self.rows += rows

    def close(self) -> None:
        self.manifest.close()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _records(entry: dict[str, Any], doc_id: str, store: ExtractionStore, out: Path) -> list[PdfRecord]:
    """The records of a stored extraction (its figures are stored without the paper's id and folder)."""
    images = store.images_dir(entry["sha256"])
    figures = [
        cast(
            ExtractedFigure,
            {**f, "id": f"{doc_id}-{Path(f['image']).stem}", "doc_id": doc_id, "image": str(images / f["image"])},
        )
        for f in entry.get("figures", [])
    ]
    return [pdf_record(f, out) for f in figures]


def _local(
    pdfs: list[tuple[str, str]], task: Callable[[tuple[str, str]], dict[str, Any]], processes: int
) -> Iterator[dict[str, Any]]:
    with ThreadPoolExecutor(processes) as pool:  # each thread drives one forked extraction at a time
        futures = {pool.submit(task, pdf): pdf for pdf in pdfs}
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            for future in futures:
                future.cancel()


def start_client(cluster: str | None, scheduler: str | None, memory_limit: str):
    """A Dask client: a LocalCluster of N one-thread worker processes (``local:N``) or an existing scheduler."""
    try:
        import dask
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise CtlabelError("--cluster and --scheduler need Dask: pip install 'ctlabel[cluster]'") from None

    if scheduler:
        return Client(scheduler, timeout=30)
    spec = (cluster or "").removeprefix("local:")
    if not cluster or not cluster.startswith("local:") or not spec.isdigit() or int(spec) < 1:
        raise CtlabelError(f"--cluster {cluster}: expected local:N with N ≥ 1 worker processes")
    with dask.config.set(WORKER_CONFIG):
        local = LocalCluster(
            n_workers=int(spec), threads_per_worker=1, processes=True, memory_limit=memory_limit, dashboard_address=":0"
        )
    return Client(local)


def _dask(
    client, pdfs: list[tuple[str, str]], task: Callable[[tuple[str, str]], dict[str, Any]], retries: int
) -> Iterator[dict[str, Any]]:
    from dask.distributed import as_completed as dask_completed

    futures = client.map(
        task,
        pdfs,
        retries=retries,
        key=[f"extract-{i}-{hashlib.sha1(p.encode()).hexdigest()[:8]}" for i, (p, _) in enumerate(pdfs)],
    )
    which = {f.key: pdf for f, (pdf, _) in zip(futures, pdfs)}
    try:
        for future in dask_completed(futures):
            if future.status == "finished":
                yield future.result()
            else:
                exc = future.exception()
                yield {
                    "pdf": which[future.key],
                    "sha256": None,
                    "status": "failed",
                    "pages": 0,
                    "cached": False,
                    "reason": f"failed ({exc.__class__.__name__}: {str(exc)[:120]})",
                }
    finally:
        client.cancel(futures)


_miners: dict[str, Miner] = {}


class _Task:
    """extract_one with the run's settings (picklable, for Dask); with a lexicon, the PDF's records
    are mined where it ran too (``lines``), by a miner each worker process builds once."""

    def __init__(self, root: str, dpi: int, timeout: float, version: str, out: Path, lexicon: Lexicon | None) -> None:
        self.args = (root, dpi, timeout, version)
        self.out, self.lexicon = out, lexicon

    def __call__(self, job: tuple[str, str]) -> dict[str, Any]:
        pdf, doc_id = job
        root, dpi, timeout, version = self.args
        result = extract_one(pdf, root, dpi, timeout, version)
        if self.lexicon is not None and result["status"] == "ok":
            store = ExtractionStore(Path(root), dpi, version)
            entry = store.get(result["sha256"])
            if entry is None:
                raise RuntimeError(f"{pdf}: its store entry vanished after extraction")
            miner = _miners.get(self.lexicon.hash) or _miners.setdefault(self.lexicon.hash, Miner(self.lexicon))
            result["lines"] = [dump_record(r) for r in miner.mine(_records(entry, doc_id, store, self.out))]
        return result


def mine_corpus(
    paths: list[Path],
    output: Path,
    store_root: Path,
    dpi: int = 150,
    timeout: float = 120.0,
    lexicon: str | None = None,
    processes: int = 1,
    cluster: str | None = None,
    scheduler: str | None = None,
    retries: int = 2,
    memory_limit: str = "auto",
    shard_pdfs: int = 500,
    progress: Callable[[dict[str, Any]], None] | None = None,
    version: str = EXTRACTOR_VERSION,
    on_start: Callable[[CorpusSummary], None] | None = None,
) -> CorpusSummary:
    """Extract every PDF into the store (once) and mine the corpus into ``output`` (a folder)."""
    if not timeout > 0:
        raise CtlabelError(f"--timeout {timeout:g}: the seconds allowed per PDF must be more than 0")
    if output.exists() and not output.is_dir():
        raise CtlabelError(
            f"{output}: with --store the output is a folder of shards and a manifest, and this is a file"
        )
    if store_root.exists() and not store_root.is_dir():
        raise CtlabelError(f"{store_root}: --store must be a folder, and this is a file")
    if output.is_dir() and any(output.iterdir()) and not (output / MANIFEST).exists():
        raise CtlabelError(
            f"{output}: a folder that is not the output of a corpus run (no {MANIFEST}); choose another -o"
        )
    pdfs = find_pdfs(paths)
    start = time.perf_counter()
    miner = Miner(lexicon)
    key = run_key(miner, dpi, version)
    found, _ = read_manifest(output)
    folder = output if found in (None, key) else output.with_name(output.name + ".next")
    out = _Output(folder, key)
    ids = doc_ids(pdfs)
    by_name = {str(p.resolve()): p for p in pdfs}
    summary = CorpusSummary(str(output), pdfs=len(pdfs))
    done = out.done()
    summary.done_before = sum(name in done for name in by_name)
    todo = sorted(
        (name for name in by_name if name not in done), key=lambda name: -_size(by_name[name])
    )  # big ones first
    store = ExtractionStore(store_root, dpi, version)
    store.dir.mkdir(parents=True, exist_ok=True)
    client = start_client(cluster, scheduler, memory_limit) if (cluster or scheduler) and todo else None
    # on a cluster the workers mine too; local threads leave mining to this process, a shard at a time
    task = _Task(
        str(store_root.resolve()),
        dpi,
        timeout,
        version,
        output.resolve(),
        miner.lexicon if client is not None else None,
    )
    jobs = [(name, ids[by_name[name]]) for name in todo]
    summary.dashboard = client.dashboard_link if client is not None else None
    if on_start:
        on_start(summary)
    rows: list[dict[str, Any]] = []
    records: list[PdfRecord] = []
    lines: list[str] = []

    def flush() -> None:
        out.write(rows, lines + [dump_record(r) for r in miner.mine(records)] if records else lines)
        rows.clear()
        records.clear()
        lines.clear()

    last = time.monotonic()
    try:
        results = _dask(client, jobs, task, retries) if client is not None else _local(jobs, task, processes)
        for result in results:
            pdf = by_name[result["pdf"]]
            if "lines" in result:  # mined on the worker
                count = len(result["lines"])
                lines += result["lines"]
            else:
                entry = store.get(result["sha256"]) if result["status"] == "ok" else None
                mined = _records(entry, ids[pdf], store, output) if entry else []
                count = len(mined)
                records += mined
            if result["status"] != "ok":
                summary.skipped.append(f"{pdf}: {result['reason']}")
                summary.failed += result["status"] == "failed"
            summary.extracted += not result["cached"] and result["status"] != "failed"
            summary.pages += result["pages"]
            rows.append({k: result[k] for k in ("pdf", "sha256", "status", "reason", "pages")} | {"records": count})
            if progress:
                progress(result)
            if len(rows) >= shard_pdfs or time.monotonic() - last > SHARD_SECONDS:
                flush()
                last = time.monotonic()
        flush()
    finally:
        out.close()
        if client is not None:
            cluster_obj = client.cluster
            client.close()
            if cluster_obj is not None and cluster:
                cluster_obj.close()
    summary.records = sum(r["records"] for r in out.rows)
    if folder != output:  # a new key's output replaces the earlier one only once it is whole
        old = output.with_name(output.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(output, old)
        os.replace(folder, output)
        shutil.rmtree(old, ignore_errors=True)
    summary.seconds = time.perf_counter() - start
    return summary
