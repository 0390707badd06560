"""``ctlabel mine captions --cluster local:N | --scheduler ADDR``: a table's chunks mined on a Dask cluster.

The client reads the table as a stream (ids checked there, as without a cluster) and keeps at most
a window of chunks in flight; the results come back in order into the one output file, written
atomically as before. Each worker parses the lexicon's miner once and keeps it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import Any

from ctlabel.lexicon import Lexicon
from ctlabel.mine.miner import Miner

_miners: dict[str, Miner] = {}


def _mine_on_worker(lexicon: Lexicon, job: tuple[list[tuple[str, dict[str, Any]]], Any]):
    from ctlabel.mine.captions import _mine_serialized

    miner = _miners.get(lexicon.hash)
    if miner is None:
        miner = _miners[lexicon.hash] = Miner(lexicon)
    return _mine_serialized(miner, *job)


def ordered_map(
    client, fn: Callable[..., Any], items: Iterable[Any], retries: int = 2, window: int | None = None
) -> Iterator[Any]:
    """``fn(item)`` for each item on the cluster, in input order, at most ``window`` in flight."""
    window = window or 2 * max(1, sum(w["nthreads"] for w in client.scheduler_info()["workers"].values()))
    pending: deque = deque()
    try:
        for item in items:
            pending.append(client.submit(fn, item, retries=retries, pure=False))
            if len(pending) >= window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        client.cancel(list(pending))


def mine_chunks_on(client, lexicon: Lexicon, jobs: Iterable[Any], retries: int = 2) -> Iterator[Any]:
    """Each (chunk, columns) job mined on the cluster: (JSONL lines, state counts), in order."""
    return ordered_map(client, partial(_mine_on_worker, lexicon), jobs, retries)
