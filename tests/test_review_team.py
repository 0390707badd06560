"""A team at once: annotators submit in parallel while ``push`` adds tasks and ``pull`` runs, on
PostgreSQL and on SQLite (docs/review.md says what SQLite does under this load)."""

from __future__ import annotations

import json
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from itertools import combinations
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from ctlabel.cli.main import app
from ctlabel.io import dump_record
from ctlabel.metrics import cohen_kappa
from ctlabel.review.pull import pull, tasks_from_server
from ctlabel.review.push import push
from ctlabel.review.server import Server
from ctlabel.schema import LESIONS, empty_record

pytestmark = pytest.mark.server
ANNOTATORS = 4
FIRST, MORE = 40, 40
TEXTS = (
    "Bilateral ground-glass opacities in a COVID-19 patient.",
    "Consolidation with air bronchogram; crazy-paving pattern.",
    "No consolidation. Interlobular septal thickening.",
    "Possible ground glass opacity, influenza pneumonia.",
)
runner = CliRunner()


@pytest.fixture(params=["postgresql", "sqlite"])
def server(request):
    return request.getfixturevalue("label_studio_pg" if request.param == "postgresql" else "label_studio")


def write_records(path: Path, miner, n: int) -> list[str]:
    records = []
    for i in range(n):
        record = empty_record(f"team-{i:03d}.png")
        record["texts"] = [{"source": "caption", "text": TEXTS[i % len(TEXTS)]}]
        records.append(miner.mine_one(record))
    path.write_text("".join(dump_record(r) for r in records))
    return [r["id"] for r in records]


class Annotator:
    """One person submitting through the API, retrying what the server refuses (and counting it)."""

    def __init__(self, server, k: int, user_id: int, email: str):
        self.http = httpx.Client(base_url=server.url, headers={"Authorization": f"Token {server.token}"}, timeout=120)
        self.k, self.user_id, self.email = k, user_id, email
        self.submitted: dict[int, list[str]] = {}
        self.errors: list[str] = []

    def choose(self, task_id: int) -> list[str]:
        rng = random.Random(f"{self.k}-{task_id}")
        return [c for c in LESIONS if rng.random() < 0.4]

    def run(self, task_ids: list[int]) -> None:
        for task_id in random.Random(self.k).sample(task_ids, len(task_ids)):
            lesions = self.choose(task_id)
            result = [{"from_name": "lesions", "to_name": "caption", "type": "choices", "value": {"choices": lesions}}]
            for attempt in range(6):
                try:
                    answer = self.http.post(
                        f"/api/tasks/{task_id}/annotations/", json={"result": result, "completed_by": self.user_id}
                    )
                except httpx.HTTPError as exc:
                    self.errors.append(f"{exc.__class__.__name__}")
                else:
                    if answer.status_code == 201:
                        self.submitted[task_id] = lesions
                        break
                    self.errors.append(f"HTTP {answer.status_code}: {answer.text[:120]}")
                time.sleep(0.5 * (attempt + 1))


def test_team_submits_while_push_and_pull_run(server, miner, tmp_path, monkeypatch):
    monkeypatch.setenv("CTLABEL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("LABEL_STUDIO_URL", server.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", server.token)
    title = f"team-{tmp_path.name}"[:50]
    first = tmp_path / "first.jsonl"
    write_records(first, miner, FIRST)
    push(first, title, Server(server.url, server.token))
    everything = tmp_path / "all.jsonl"
    all_ids = write_records(everything, miner, FIRST + MORE)
    admin = Server(server.url, server.token)
    project = admin.find_project(title)
    task_ids = [t.id for t in admin.sdk.tasks.list(project=project.id, page_size=1000)]
    assert len(task_ids) == FIRST
    team = []
    for k in range(ANNOTATORS):
        email = f"annotator{k}-{tmp_path.name[-6:]}@example.com"
        user = admin.sdk.users.create(email=email, username=email.split("@")[0])
        team.append(Annotator(server, k, user.id, email))

    pulls: list[int] = []
    done = threading.Event()

    def keep_pulling() -> None:
        reader = Server(server.url, server.token)
        while not done.is_set():
            tasks, _ = tasks_from_server(reader, title)
            summary = pull(tasks, tmp_path / "during.jsonl")
            ids = [json.loads(line)["id"] for line in (tmp_path / "during.jsonl").read_text().splitlines()]
            assert len(ids) == len(set(ids)) == summary.records  # never a duplicate, whatever moment it is read
            pulls.append(summary.records)

    with ThreadPoolExecutor(ANNOTATORS + 2) as pool:
        puller = pool.submit(keep_pulling)
        work = [pool.submit(a.run, task_ids) for a in team]
        pushed = pool.submit(push, everything, title, Server(server.url, server.token))
        for job in work:
            job.result()
        summary = pushed.result()
        done.set()
        puller.result()
    assert (summary.created, summary.unchanged) == (MORE, FIRST)
    assert pulls and all(FIRST <= n <= FIRST + MORE for n in pulls)
    errors = [e for a in team for e in a.errors]
    print(f"{server.url}: {len(errors)} refused submissions {errors[:5]}")
    assert all(len(a.submitted) == FIRST for a in team), errors[:5]  # every annotator got every task in

    out = tmp_path / "reviewed.jsonl"
    assert runner.invoke(app, ["review", "pull", "--project", title, "-o", str(out)]).exit_code == 0
    reviewed = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(r["id"] for r in reviewed) == sorted(all_ids)  # no task lost, none twice
    by_task = {t["id"]: t for t in tasks_from_server(admin, title)[0]}
    back = sorted((t, a["completed_by"]["email"]) for t in task_ids for a in by_task[t]["annotations"])
    assert back == sorted((t, a.email) for a in team for t in task_ids)  # every annotation back exactly once

    status = json.loads(runner.invoke(app, ["review", "status", "--project", title, "--json"]).stdout)
    assert (status["tasks"], status["annotated"], status["remaining"]) == (FIRST + MORE, FIRST, MORE)
    assert status["annotators"] == {a.email: FIRST for a in team}
    chosen = {(t, a.email): a.submitted[t] for a in team for t in task_ids}
    pairs_per_task = len(list(combinations(range(ANNOTATORS), 2)))
    for lesion in LESIONS:
        expected = [  # each pair of people on each task, in the order the server lists their annotations
            (int(lesion in chosen[t, x["completed_by"]["email"]]), int(lesion in chosen[t, y["completed_by"]["email"]]))
            for t in task_ids
            for x, y in combinations(by_task[t]["annotations"], 2)
        ]
        assert status["human_vs_human"][lesion]["n"] == FIRST * pairs_per_task == len(expected)
        assert status["human_vs_human"][lesion]["kappa"] == pytest.approx(cohen_kappa(expected))
