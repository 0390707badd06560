"""Real Label Studio servers for the review tests, started with ``ctlabel review server``."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from ctlabel.errors import CtlabelError
from ctlabel.review.launch import find_binary

START_S = 600  # migrations on a fresh database take about a minute; a loaded machine is slower


@dataclass
class LabelStudioServer:
    url: str
    token: str
    username: str
    password: str
    cache: Path  # CTLABEL_CACHE of the server command: its state names the files root
    files_root: Path
    output: Path
    proc: subprocess.Popen


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require_label_studio() -> None:
    try:
        find_binary()
    except CtlabelError as exc:
        pytest.skip(f"REVIEW SERVER TESTS SKIPPED: {exc}; .ci/run installs it")


def start_server(tmp: Path, files_root: Path, database: str | None = None) -> LabelStudioServer:
    """``ctlabel review server`` in a subprocess; returns once it has printed its two export lines."""
    require_label_studio()
    cache = tmp / "cache"
    output = tmp / "server.out"
    command = [
        sys.executable,
        "-m",
        "ctlabel",
        "review",
        "server",
        "--data-dir",
        str(tmp / "ls"),
        "--files-root",
        str(files_root),
        "--port",
        str(free_port()),
    ]
    if database:
        command += ["--database", database]
    proc = subprocess.Popen(
        command,
        env=dict(os.environ, CTLABEL_CACHE=str(cache), COLUMNS="200"),
        stdout=output.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.time() + START_S
    while time.time() < deadline:
        text = output.read_text()
        exports = dict(re.findall(r"^export (LABEL_STUDIO_\w+)=(\S+)$", text, re.M))
        if len(exports) == 2:
            creds = json.loads((tmp / "ls" / "ctlabel-credentials.json").read_text())
            return LabelStudioServer(
                exports["LABEL_STUDIO_URL"],
                exports["LABEL_STUDIO_API_KEY"],
                creds["username"],
                creds["password"],
                cache,
                files_root,
                output,
                proc,
            )
        if proc.poll() is not None:
            raise RuntimeError(f"ctlabel review server exited with {proc.returncode}:\n{text[-2000:]}")
        time.sleep(1)
    stop_server(proc)
    raise RuntimeError(f"ctlabel review server did not print its exports within {START_S} s; see {output}")


def stop_server(proc: subprocess.Popen) -> int:
    """Ctrl-C, as a person at the terminal would; the command's exit code."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode


def postgres_database(admin_url: str | None) -> str:
    """A fresh database on the PostgreSQL server at ``admin_url`` (``$CTLABEL_TEST_POSTGRES``)."""
    if not admin_url:
        pytest.skip(
            "POSTGRESQL TESTS SKIPPED: CTLABEL_TEST_POSTGRES is not set (.ci/run starts Debian's postgresql and sets it)"
        )
    if not shutil.which("psql"):
        pytest.skip("POSTGRESQL TESTS SKIPPED: no psql client (apt-get install postgresql)")
    name = f"ctlabel_test_{uuid.uuid4().hex[:8]}"
    made = subprocess.run(
        ["psql", admin_url, "-v", "ON_ERROR_STOP=1", "-qc", f"CREATE DATABASE {name}"], capture_output=True, text=True
    )
    if made.returncode != 0:
        pytest.skip(f"POSTGRESQL TESTS SKIPPED: cannot create a database at {admin_url}: {made.stderr.strip()[:300]}")
    return admin_url.rsplit("/", 1)[0] + "/" + name


def drop_database(url: str) -> None:
    admin, name = url.rsplit("/", 1)
    subprocess.run(["psql", admin + "/postgres", "-qc", f"DROP DATABASE IF EXISTS {name}"], capture_output=True)
