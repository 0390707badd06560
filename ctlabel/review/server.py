"""The Label Studio server as ctlabel uses it, with one-line errors for what goes wrong."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
from label_studio_sdk.client import LabelStudio
from label_studio_sdk.core.api_error import ApiError

from ctlabel.errors import CtlabelError

PAGE = 2000
ANNOTATED = {
    "filters": {
        "conjunction": "or",
        "items": [
            {"filter": "filter:tasks:total_annotations", "operator": "greater", "type": "Number", "value": 0},
            {"filter": "filter:tasks:cancelled_annotations", "operator": "greater", "type": "Number", "value": 0},
        ],
    }
}


UPLOADS_PROJECT = "ctlabel image uploads"
UPLOADS_CONFIG = '<View><Image name="image" value="$image"/></View>'


class Server:
    """A connection to one Label Studio server (the SDK, plus plain HTTP for bulk reads)."""

    def __init__(self, url: str, api_key: str | None, timeout: float = 600):
        if not api_key:
            raise CtlabelError("no Label Studio API key: pass --api-key or set LABEL_STUDIO_API_KEY")
        self.url = url.rstrip("/")
        self.sdk = LabelStudio(base_url=self.url, api_key=api_key, timeout=timeout)
        self._uploads_project: int | None = None
        self.http = httpx.Client(base_url=self.url, headers={"Authorization": f"Token {api_key}"}, timeout=timeout)
        self.call(self.sdk.users.whoami)

    @classmethod
    def from_env(cls, url: str | None = None, api_key: str | None = None) -> Server:
        """The server at ``url`` (default ``$LABEL_STUDIO_URL``, else http://localhost:8080) with
        ``api_key`` (default ``$LABEL_STUDIO_API_KEY``); an address that is not http(s) is one line."""
        url = url or os.environ.get("LABEL_STUDIO_URL", "http://localhost:8080")
        parts = urlparse(url)
        try:
            parts.port  # noqa: B018 (raises on a port that is not a number)
        except ValueError:
            parts = urlparse("")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CtlabelError(
                f"--url {url!r} (or $LABEL_STUDIO_URL): not an http(s) address like http://localhost:8080"
            )
        return cls(url, api_key or os.environ.get("LABEL_STUDIO_API_KEY"))

    def call(self, fn, *args, **kwargs):
        """Run one SDK call; turn connection and HTTP failures into one clear line."""
        try:
            return fn(*args, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout):
            raise CtlabelError(f"cannot reach Label Studio at {self.url} (is it running? see docs/review.md)") from None
        except (httpx.ReadTimeout, httpx.RemoteProtocolError) as exc:
            raise CtlabelError(
                f"Label Studio at {self.url} dropped the connection ({exc.__class__.__name__}); run the command again to resume"
            ) from None
        except ApiError as exc:
            if exc.status_code in (401, 403):
                raise CtlabelError(f"Label Studio at {self.url} refused the API key (HTTP {exc.status_code})") from None
            raise CtlabelError(
                f"Label Studio at {self.url} answered HTTP {exc.status_code}: {str(exc.body)[:200]}"
            ) from None

    def get_json(self, path: str, **params: Any) -> Any:
        return self._http("GET", path, params=params)

    def _http(self, method: str, path: str, **kwargs: Any) -> Any:
        def send():
            response = self.http.request(method, path, **kwargs)
            if response.status_code >= 400:
                raise ApiError(status_code=response.status_code, body=response.text)
            return response.json() if response.content else None

        return self.call(send)

    def uploads_project_key(self) -> str:
        """Which uploads project this is (id and creation time): a cache of its URLs is valid for it only."""
        project = self.call(self.sdk.projects.get, id=self.uploads_project())
        return f"{project.id}@{project.created_at}"

    def uploads_project(self) -> int:
        """The project that holds uploaded images (Label Studio takes direct file uploads only into
        a project with one data key, so not into the review projects); made when missing."""
        if self._uploads_project is None:
            project = self.find_project(UPLOADS_PROJECT) or self.call(
                self.sdk.projects.create,
                title=UPLOADS_PROJECT,
                label_config=UPLOADS_CONFIG,
                description="Images uploaded by ctlabel review push for the tasks of the review projects; not for labeling.",
            )
            self._uploads_project = int(project.id)
        return self._uploads_project

    def upload_file(self, path: Path) -> str:
        """Upload one file (no task made); its URL on the server."""
        project_id = self.uploads_project()
        with path.open("rb") as fh:
            body = self._http(
                "POST",
                f"/api/projects/{project_id}/import",
                params={"commit_to_project": "false"},
                files={"file": (path.name, fh)},
            )
        ids = body.get("file_upload_ids") or []
        uploads = self._http("GET", f"/api/projects/{project_id}/file-uploads", params={"ids": json.dumps(ids)})
        names = [u["file"] for u in uploads if u.get("id") in ids]
        if len(names) != 1:
            raise CtlabelError(f"Label Studio at {self.url} did not store {path} as one upload")
        return "/data/" + names[0].lstrip("/")

    def local_storages(self, project_id: int) -> list[Path]:
        """Folders whose files the project's tasks may show (its local-files storages)."""
        return [
            Path(st["path"])
            for st in self._http("GET", "/api/storages/localfiles/", params={"project": project_id})
            if st.get("path")
        ]

    def add_local_storage(self, project_id: int, folder: Path) -> None:
        """Let the project's tasks show files below ``folder`` (a storage that is never synced)."""
        self._http(
            "POST",
            "/api/storages/localfiles/",
            json={
                "project": project_id,
                "path": str(folder),
                "title": f"ctlabel images {folder.name}",
                "use_blob_urls": False,
            },
        )

    def find_project(self, title: str) -> Any | None:
        """The project with this title; None when there is none; an error when there are several."""
        matches = [p for p in self.call(lambda: list(self.sdk.projects.list(page_size=1000))) if p.title == title]
        if len(matches) > 1:
            ids = ", ".join(str(p.id) for p in matches)
            raise CtlabelError(
                f"{len(matches)} Label Studio projects are titled {title!r} (ids {ids}); rename all but one"
            )
        return self.call(self.sdk.projects.get, id=matches[0].id) if matches else None

    def create_project(self, title: str, label_config: str, instructions: str) -> Any:
        return self.call(
            self.sdk.projects.create,
            title=title,
            label_config=label_config,
            expert_instruction=instructions,
            show_instruction=True,
            description="Created by ctlabel review push",
        )

    def import_tasks(self, project_id: int, tasks: list[dict[str, Any]]) -> list[int]:
        response = self.call(self.sdk.projects.import_tasks, id=project_id, request=tasks, return_task_ids=True)
        return list(response.task_ids or [])

    def replace_prediction(self, task_id: int, data: dict[str, Any], prediction: dict[str, Any]) -> None:
        self.call(self.sdk.tasks.update, id=str(task_id), data=data)
        for old in self.call(lambda: list(self.sdk.predictions.list(task=task_id))):
            self.call(self.sdk.predictions.delete, id=old.id)
        self.call(self.sdk.predictions.create, task=task_id, **prediction)

    def task_count(self, project_id: int) -> int:
        return int(self.call(self.sdk.projects.get, id=project_id).task_number or 0)

    def annotated_tasks(self, project_id: int) -> Iterator[dict[str, Any]]:
        """Tasks with at least one annotation (submitted or skipped), in large pages; each
        annotation's ``completed_by`` becomes ``{id, email}``."""
        users: dict[int, str] | None = None
        for task in self._tasks(project_id, "all", ANNOTATED):
            if users is None:
                users = {u.id: u.email for u in self.call(lambda: list(self.sdk.users.list()))}
            for annotation in task.get("annotations") or []:
                who = annotation.get("completed_by")
                if isinstance(who, int):
                    annotation["completed_by"] = {"id": who, "email": users.get(who) or str(who)}
            yield task

    def _tasks(self, project_id: int, fields: str, query: dict | None) -> Iterator[dict[str, Any]]:
        page = 1
        while True:
            params: dict[str, Any] = {"project": project_id, "fields": fields, "page_size": PAGE, "page": page}
            if query:
                params["query"] = json.dumps(query)
            body = self.get_json("/api/tasks", **params)
            tasks = body.get("tasks", [])
            yield from tasks
            if len(tasks) < PAGE:
                return
            page += 1

    def export_all(self, project_id: int) -> list[dict[str, Any]]:
        """Every task with its data and annotations (the slow path: used only without a ledger)."""
        return self.get_json(f"/api/projects/{project_id}/export", exportType="JSON", download_all_tasks="true")
