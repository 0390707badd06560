"""Task images without options: below the server's files root when known, else uploaded; a missing
image is pushed with a note. Checked by fetching each image back from the real server."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest
from PIL import Image
from typer.testing import CliRunner

from ctlabel.cli.main import app
from ctlabel.io import dump_record
from ctlabel.schema import empty_record

pytestmark = pytest.mark.server
ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


def scan(path: Path, shade: int) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("L", (24, 16), shade).save(path)
    return path.read_bytes()


def records_file(path: Path, images: dict[str, str]) -> Path:
    rows = []
    for rid, image in images.items():
        record = empty_record(rid)
        record["image"] = image
        record["texts"] = [{"source": "caption", "text": "Patchy consolidation."}]
        rows.append(dump_record(record))
    path.write_text("".join(rows))
    return path


def task_images(server, title: str) -> dict[str, dict]:
    client = httpx.Client(base_url=server.url, headers={"Authorization": f"Token {server.token}"}, timeout=60)
    project = next(
        p for p in client.get("/api/projects", params={"page_size": 1000}).json()["results"] if p["title"] == title
    )
    tasks = client.get("/api/tasks", params={"project": project["id"], "fields": "all", "page_size": 100}).json()[
        "tasks"
    ]
    out = {}
    for task in tasks:
        data = task["data"]
        body = client.get(data["image"]).content if data["image"] else None
        out[data["id"]] = {"url": data["image"], "note": data["image_note"], "bytes": body}
    return out


@pytest.fixture
def env(label_studio, tmp_path, monkeypatch):
    monkeypatch.setenv("LABEL_STUDIO_URL", label_studio.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", label_studio.token)
    monkeypatch.setenv("CTLABEL_CACHE", str(tmp_path / "cache"))  # no server state: the root is unknown
    monkeypatch.delenv("LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT", raising=False)
    return label_studio


def test_without_a_files_root_images_are_uploaded_once_and_a_missing_one_is_noted(env, tmp_path):
    scans = tmp_path / "scans"
    first, second = scan(scans / "p1.png", 40), scan(scans / "sub" / "p2.png", 200)
    mined = records_file(tmp_path / "mined.jsonl", {"a": "p1.png", "b": "sub/p2.png", "c": "lost.png", "d": None})
    result = runner.invoke(
        app, ["review", "push", str(mined), "--project", "uploads", "--images", str(scans), "--json"]
    )
    assert result.exit_code == 0, result.output
    notes = json.loads(result.stdout)["notes"]
    assert len(notes) == 1 and notes[0].startswith("c: image ") and "lost.png" in notes[0]
    shown = task_images(env, "uploads")
    assert shown["a"]["url"].startswith("/data/upload/") and shown["a"]["bytes"] == first
    assert shown["b"]["bytes"] == second and not shown["a"]["note"]
    assert shown["c"]["url"] == "" and "lost.png" in shown["c"]["note"]
    assert shown["d"]["url"] == "" and shown["d"]["note"] == ""
    # the same images for another project: not uploaded again
    again = runner.invoke(app, ["review", "push", str(mined), "--project", "uploads-2", "--images", str(scans)])
    assert again.exit_code == 0, again.output
    assert task_images(env, "uploads-2")["a"]["url"] == shown["a"]["url"]


def test_below_the_servers_files_root_images_are_served_in_place(env, tmp_path, monkeypatch):
    folder = ROOT / "build" / f"test-images-{tmp_path.name}"  # the session's server serves files below the repository
    try:
        content = scan(folder / "ct.png", 90)
        mined = records_file(tmp_path / "mined.jsonl", {"x": str(folder / "ct.png")})
        monkeypatch.setenv("LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT", str(ROOT))
        result = runner.invoke(app, ["review", "push", str(mined), "--project", "in-place"])
        assert result.exit_code == 0, result.output
        shown = task_images(env, "in-place")["x"]
        assert shown["url"] == f"/data/local-files/?d=build/{folder.name}/ct.png" and shown["bytes"] == content
    finally:
        shutil.rmtree(folder, ignore_errors=True)
