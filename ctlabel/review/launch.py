"""``ctlabel review server``: a local Label Studio configured for ctlabel.

The admin user's email, password and API token are kept in ``DATA_DIR/ctlabel-credentials.json``
(created on the first start, reused after); the files root of each running server is recorded in
the cache (``servers.json``) so that ``review push`` can link task images below it.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import httpx

from ctlabel.errors import CtlabelError
from ctlabel.io import cache_dir

INSTALL = "python3 -m venv .ls-venv && .ls-venv/bin/pip install label-studio"
ADMIN = "admin@ctlabel.local"


@dataclass
class LocalServer:
    """A started local Label Studio: URL, admin token and login, data dir, files root, database (no password), log."""

    url: str
    token: str
    username: str
    password: str
    data_dir: Path
    files_root: Path
    database: str
    log: Path


def find_binary() -> str:
    """``$LABEL_STUDIO_BIN``, ``label-studio`` on PATH, or a ``.ls-venv`` beside ctlabel's venv or here."""
    configured = os.environ.get("LABEL_STUDIO_BIN")
    if configured:
        if not Path(configured).is_file():
            raise CtlabelError(f"LABEL_STUDIO_BIN={configured}: no such file")
        return configured
    found = shutil.which("label-studio")
    if found:
        return found
    for venv in (Path(sys.prefix).parent / ".ls-venv", Path.cwd() / ".ls-venv"):
        if (venv / "bin" / "label-studio").is_file():
            return str(venv / "bin" / "label-studio")
    raise CtlabelError(
        f"Label Studio is not installed; install it in its own venv: {INSTALL} (or set LABEL_STUDIO_BIN)"
    )


def database_env(database: str | None) -> dict[str, str]:
    """Label Studio's settings for ``sqlite`` (default) or ``postgresql://USER[:PASSWORD]@HOST[:PORT]/DB``
    (``?host=/run/postgresql`` for a Unix socket)."""
    if not database or database == "sqlite":
        return {"DJANGO_DB": "sqlite"}
    parts = urlsplit(database)
    if parts.scheme not in ("postgresql", "postgres") or not parts.path.strip("/"):
        raise CtlabelError(f"--database {database!r}: expected sqlite or postgresql://USER@HOST/DB")
    host = parse_qs(parts.query).get("host", [parts.hostname or "localhost"])[0]
    env = {
        "DJANGO_DB": "default",
        "POSTGRE_NAME": unquote(parts.path.strip("/")),
        "POSTGRE_USER": unquote(parts.username or getpass.getuser()),
        "POSTGRE_HOST": host,
        "POSTGRE_PORT": str(parts.port or 5432),
    }
    if parts.password:
        env["POSTGRE_PASSWORD"] = unquote(parts.password)
    return env


def credentials(data_dir: Path) -> dict[str, str]:
    """The admin's email, password and token for this data dir: created once, then reused."""
    path = data_dir / "ctlabel-credentials.json"
    if path.exists():
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
            return {k: str(saved[k]) for k in ("username", "password", "token")}
        except (json.JSONDecodeError, KeyError, TypeError):
            raise CtlabelError(f"{path}: not ctlabel's credentials file (remove it only with the data dir)") from None
    data_dir.mkdir(parents=True, exist_ok=True)
    created = {"username": ADMIN, "password": secrets.token_urlsafe(12), "token": secrets.token_hex(20)}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(created), encoding="utf-8")
    tmp.chmod(0o600)
    os.replace(tmp, path)
    return created


def start(
    data_dir: Path, files_root: Path, host: str, port: int, database: str | None, wait_s: float = 600
) -> tuple[subprocess.Popen, LocalServer]:
    """Start Label Studio and return once it answers with the admin's token."""
    db_env = database_env(database)
    if not files_root.is_dir():
        raise CtlabelError(f"--files-root {files_root}: not a folder")
    binary = find_binary()
    creds = credentials(data_dir)
    env = dict(
        os.environ,
        **db_env,
        LABEL_STUDIO_USERNAME=creds["username"],
        LABEL_STUDIO_PASSWORD=creds["password"],
        LABEL_STUDIO_USER_TOKEN=creds["token"],
        LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN="true",
        LABEL_STUDIO_BASE_DATA_DIR=str(data_dir),
        LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED="true",
        LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT=str(files_root.resolve()),
        LATEST_VERSION_CHECK="false",  # no calls out: PyPI, analytics, error reports
        COLLECT_ANALYTICS="false",
        SENTRY_DSN="",
        FRONTEND_SENTRY_DSN="",
    )
    log = data_dir / "label-studio.log"
    proc = subprocess.Popen(
        [binary, "start", "--no-browser", "--host", host, "--port", str(port), "--data-dir", str(data_dir / "data")],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://{host}:{port}"
    server = LocalServer(
        url,
        creds["token"],
        creds["username"],
        creds["password"],
        data_dir,
        files_root.resolve(),
        "sqlite" if db_env["DJANGO_DB"] == "sqlite" else re.sub(r"(//[^:/@]+):[^@]*@", r"\1:***@", str(database)),
        log,
    )
    try:
        _wait(proc, server, wait_s)
    except BaseException:
        stop(proc)
        raise
    return proc, server


def _wait(proc: subprocess.Popen, server: LocalServer, wait_s: float) -> None:
    deadline = time.time() + wait_s
    while time.time() < deadline:
        if proc.poll() is not None:
            tail = server.log.read_text(errors="replace").strip().splitlines()[-1:] or ["(empty log)"]
            raise CtlabelError(f"Label Studio exited with code {proc.returncode}: {tail[0][:300]} (log: {server.log})")
        try:
            answer = httpx.get(
                f"{server.url}/api/current-user/whoami", headers={"Authorization": f"Token {server.token}"}, timeout=5
            )
        except httpx.HTTPError:
            answer = None
        if answer is not None and answer.status_code == 200:
            return
        if (
            answer is not None
            and answer.status_code in (401, 403)
            and httpx.get(f"{server.url}/health", timeout=5).status_code == 200
        ):
            raise CtlabelError(
                f"Label Studio at {server.url} refuses the token in {server.data_dir}/ctlabel-credentials.json "
                "(its database has another admin: use the data dir that created it)"
            )
        time.sleep(1)
    raise CtlabelError(f"Label Studio did not answer at {server.url} within {wait_s:.0f} s (log: {server.log})")


def stop(proc: subprocess.Popen, grace_s: float = 20) -> int:
    """Stop Label Studio and everything it started; its exit code."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        except ProcessLookupError:
            pass
    return proc.returncode


def _state_file() -> Path:
    return cache_dir("review") / "servers.json"


def _key(url: str) -> str:
    return url.rstrip("/").replace("://localhost", "://127.0.0.1")


def _read_state() -> dict[str, dict[str, str]]:
    try:
        state = json.loads(_state_file().read_text(encoding="utf-8"))
        return state if isinstance(state, dict) else {}
    except (OSError, json.JSONDecodeError):
        return {}


def _write_state(state: dict[str, dict[str, str]]) -> None:
    path = _state_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(state, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def remember(server: LocalServer) -> None:
    """Record the server's files root and data dir (and this process's id) in the cache's ``servers.json``."""
    state = _read_state()
    state[_key(server.url)] = {
        "files_root": str(server.files_root),
        "data_dir": str(server.data_dir),
        "pid": str(os.getpid()),
    }
    _write_state(state)


def forget(server: LocalServer) -> None:
    """Drop the server from ``servers.json`` (rewritten only when it was there)."""
    state = _read_state()
    if state.pop(_key(server.url), None) is not None:
        _write_state(state)


def files_root_for(url: str) -> Path | None:
    """The local files root of the server at ``url``: from ``ctlabel review server``'s state, else
    ``$LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT``; None when neither is known."""
    entry = _read_state().get(_key(url))
    if entry and entry.get("files_root"):
        return Path(entry["files_root"])
    root = os.environ.get("LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT")
    return Path(root) if root else None
