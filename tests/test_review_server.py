"""``ctlabel review server``: settings, the missing-install message, and a real start, stop and restart."""

from __future__ import annotations

import json
import sys

import httpx
import pytest
from typer.testing import CliRunner

from ctlabel.cli.main import app
from ctlabel.errors import CtlabelError
from ctlabel.review.launch import database_env, files_root_for

runner = CliRunner()


def test_database_settings():
    assert database_env(None) == database_env("sqlite") == {"DJANGO_DB": "sqlite"}
    env = database_env("postgresql://anna:s%40cret@db.example:5433/labels")
    assert env == {
        "DJANGO_DB": "default",
        "POSTGRE_NAME": "labels",
        "POSTGRE_USER": "anna",
        "POSTGRE_HOST": "db.example",
        "POSTGRE_PORT": "5433",
        "POSTGRE_PASSWORD": "s@cret",
    }
    socket = database_env("postgres://bob@/team?host=/run/postgresql")
    assert (socket["POSTGRE_HOST"], socket["POSTGRE_USER"], socket["POSTGRE_PORT"]) == (
        "/run/postgresql",
        "bob",
        "5432",
    )
    for bad in ("mysql://u@h/db", "postgresql://u@h/", "labels.db"):
        with pytest.raises(CtlabelError, match="expected sqlite or postgresql://"):
            database_env(bad)


def test_without_label_studio_it_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.delenv("LABEL_STUDIO_BIN", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "venv"))
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["review", "server", "--data-dir", str(tmp_path / "ls")])
    assert result.exit_code == 2
    assert "Label Studio is not installed" in result.output and "pip install label-studio" in result.output
    assert "Traceback" not in result.output
    bad_db = runner.invoke(app, ["review", "server", "--database", "oracle://x/y"])
    assert bad_db.exit_code == 2 and "expected sqlite or postgresql://" in bad_db.output


@pytest.mark.server
def test_start_stop_on_ctrl_c_and_restart_with_the_same_token(tmp_path, monkeypatch):
    from labelstudio import start_server, stop_server

    images = tmp_path / "images"
    images.mkdir()
    first = start_server(tmp_path, images)
    try:
        monkeypatch.setenv("CTLABEL_CACHE", str(first.cache))
        whoami = httpx.get(
            f"{first.url}/api/current-user/whoami", headers={"Authorization": f"Token {first.token}"}, timeout=30
        )
        assert whoami.status_code == 200 and whoami.json()["email"] == first.username
        assert files_root_for(first.url) == images.resolve()  # what push reads to link images
    finally:
        code = stop_server(first.proc)
    assert code == 0
    assert "Label Studio stopped" in first.output.read_text()
    assert files_root_for(first.url) is None and json.loads((first.cache / "review" / "servers.json").read_text()) == {}
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{first.url}/health", timeout=5)
    again = start_server(tmp_path, images)
    try:
        assert again.token == first.token and again.password == first.password
        whoami = httpx.get(
            f"{again.url}/api/current-user/whoami", headers={"Authorization": f"Token {again.token}"}, timeout=30
        )
        assert whoami.status_code == 200
    finally:
        assert stop_server(again.proc) == 0
