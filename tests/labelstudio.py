"""A real Label Studio server for the review tests, started once per test session."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

TOKEN = "ctlabel0test0token0000000000000000000000"


@dataclass
class LabelStudioServer:
    url: str
    token: str
    log: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_label_studio(tmp: Path) -> tuple[subprocess.Popen, LabelStudioServer]:
    binary = os.environ.get("LABEL_STUDIO_BIN") or shutil.which("label-studio")
    if not binary:
        pytest.skip(
            "REVIEW TESTS SKIPPED: no `label-studio` executable (pip install label-studio, or set LABEL_STUDIO_BIN); "
            ".ci/run installs it"
        )
    port = _free_port()
    env = dict(
        os.environ,
        LABEL_STUDIO_USERNAME="reviewer@example.com",
        LABEL_STUDIO_PASSWORD="ctlabel-test-password",
        LABEL_STUDIO_USER_TOKEN=TOKEN,
        LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN="true",
        LABEL_STUDIO_BASE_DATA_DIR=str(tmp),
        LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK="true",
    )
    log = tmp / "label-studio.log"
    proc = subprocess.Popen(
        [binary, "start", "--no-browser", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(tmp / "data")],
        env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 300
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"label-studio exited with {proc.returncode}; see {log}:\n{log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return proc, LabelStudioServer(url, TOKEN, log)
        except httpx.HTTPError:
            pass
        time.sleep(1)
    proc.kill()
    raise RuntimeError(f"label-studio did not answer within 300 s; see {log}")
