"""Shared fixtures: one miner per session, the shared real data when it is there."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ctlabel.mine import Miner
from ctlabel.schema import empty_record

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("CTLABEL_SHARED_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def miner() -> Miner:
    return Miner()


@pytest.fixture(scope="session")
def mine_text(miner):
    """Mine one text (as a caption unless told otherwise) and return the record."""

    def run(text: str, panel: str | None = None, source: str = "caption", **more_texts: str) -> dict:
        record = empty_record("t")
        record["panel"] = panel
        record["texts"] = [{"source": source, "text": text}] + [{"source": s, "text": t} for s, t in more_texts.items()]
        return miner.mine_one(record)

    return run


def states(record: dict) -> dict[str, str]:
    """Label → state, without the absent ones."""
    out = {code: v["state"] for code, v in record["lesions"].items() if v["state"] != "absent"}
    if record["covid"]["state"] != "absent":
        out["covid"] = record["covid"]["state"]
    return out


@pytest.fixture(scope="session")
def covid_ct() -> Path:
    path = SHARED_DATA / "covid-ct"
    if not path.exists():
        pytest.skip(f"real data not found at {path} (set CTLABEL_SHARED_DATA)")
    return path


@pytest.fixture(scope="session")
def label_studio(tmp_path_factory):
    """``ctlabel review server`` on SQLite with a fresh data dir, files served below the repository
    (skips loudly without Label Studio); stopped with Ctrl-C at the end of the session."""
    from labelstudio import start_server, stop_server

    server = start_server(tmp_path_factory.mktemp("label-studio"), ROOT)
    yield server
    stop_server(server.proc)


@pytest.fixture(scope="session")
def label_studio_pg(tmp_path_factory):
    """The same on a fresh PostgreSQL database (``$CTLABEL_TEST_POSTGRES``; skips loudly without it)."""
    from labelstudio import drop_database, postgres_database, start_server, stop_server

    database = postgres_database(os.environ.get("CTLABEL_TEST_POSTGRES"))
    server = start_server(tmp_path_factory.mktemp("label-studio-pg"), ROOT, database)
    yield server
    stop_server(server.proc)
    drop_database(database)


def pytest_collection_modifyitems(items):
    """A test that starts a Label Studio server is slow too."""
    for item in items:
        if item.get_closest_marker("server"):
            item.add_marker(pytest.mark.slow)
