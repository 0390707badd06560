"""The Label Studio round trip against a real server: push, annotate as reviewers would, pull."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from label_studio_sdk.client import LabelStudio
from typer.testing import CliRunner

from ctlabel.cli.main import app
from ctlabel.errors import CtlabelError
from ctlabel.io import dump_record
from ctlabel.resources import read_resource
from ctlabel.review import push as push_module
from ctlabel.review.push import push
from ctlabel.review.server import Server
from ctlabel.schema import empty_record

runner = CliRunner()
pytestmark = pytest.mark.server


def make_record(rid: str, text: str, miner) -> dict:
    record = empty_record(rid)
    record["texts"] = [{"source": "caption", "text": text}, {"source": "report", "text": "consolidation noted"}]
    return miner.mine_one(record)


@pytest.fixture
def project_name(request):
    return f"t-{request.node.name}"[:50]


@pytest.fixture
def env(label_studio, tmp_path, monkeypatch):
    monkeypatch.setenv("LABEL_STUDIO_URL", label_studio.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", label_studio.token)
    monkeypatch.setenv("CTLABEL_CACHE", str(tmp_path / "cache"))
    return label_studio


@pytest.fixture
def sdk(env):
    return LabelStudio(base_url=env.url, api_key=env.token)


@pytest.fixture
def records(miner):
    return [
        make_record("img-1.png", "Bilateral ground glass opacities in a COVID-19 patient.", miner),
        make_record("img-2.png", "Consolidation with air bronchogram.", miner),
        make_record("img-3.png", "No consolidation; crazy-paving pattern.", miner),
        make_record("img-4.png", "Possible interlobular septal thickening.", miner),
    ]


def write(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(dump_record(r) for r in records))
    return path


def cli(*args):
    return runner.invoke(app, ["review", *args])


def project_tasks(sdk, title):
    project = next(p for p in sdk.projects.list() if p.title == title)
    return project, list(sdk.tasks.list(project=project.id, page_size=1000, fields="all"))


def annotate(sdk, task_id, user_id, covid=None, lesions=(), cancelled=False, note=None):
    result = []
    if covid:
        result.append({"from_name": "covid", "to_name": "caption", "type": "choices", "value": {"choices": [covid]}})
    result.append(
        {"from_name": "lesions", "to_name": "caption", "type": "choices", "value": {"choices": list(lesions)}}
    )
    if note:
        result.append({"from_name": "note", "to_name": "caption", "type": "textarea", "value": {"text": [note]}})
    sdk.annotations.create(
        id=task_id, result=[] if cancelled else result, completed_by=user_id, was_cancelled=cancelled
    )


def user(sdk, name):
    existing = [u for u in sdk.users.list() if u.email == f"{name}@example.com"]
    return existing[0].id if existing else sdk.users.create(email=f"{name}@example.com", username=name).id


def test_push_creates_tasks_with_predictions_and_is_idempotent(env, sdk, records, miner, tmp_path, project_name):
    mined = write(tmp_path / "mined.jsonl", records)
    first = cli("push", str(mined), "--project", project_name, "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["created"] == 4
    _, tasks = project_tasks(sdk, project_name)
    assert len(tasks) == 4
    by_id = {t.data["id"]: t for t in tasks}
    prediction = by_id["img-2.png"].predictions[0]
    assert prediction.model_version.startswith("ctlabel-miner")
    assert prediction.score == pytest.approx(records[1]["confidence"])
    lesions = next(r for r in prediction.result if r["from_name"] == "lesions")
    assert set(lesions["value"]["choices"]) == {"Csld", "AirBr"}
    spans = [r for r in prediction.result if r["type"] == "labels"]
    assert any(s["value"]["text"] == "air bronchogram" and s["value"]["labels"] == ["AirBr"] for s in spans)
    assert by_id["img-1.png"].data["caption"].startswith("Bilateral")
    # the same records again: nothing created, nothing changed
    again = json.loads(cli("push", str(mined), "--project", project_name, "--json").stdout)
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 4)
    # a changed record is updated in place, a new one added alone
    changed = dict(records[3], confidence=0.11)
    extra = make_record("img-5.png", "Frosted glass shadow.", miner)
    write(mined, [*records[:3], changed, extra])
    third = json.loads(cli("push", str(mined), "--project", project_name, "--json").stdout)
    assert (third["created"], third["updated"], third["unchanged"]) == (1, 1, 3)
    _, tasks = project_tasks(sdk, project_name)
    assert len(tasks) == 5
    task4 = next(t for t in tasks if t.data["id"] == "img-4.png")
    assert [p.score for p in task4.predictions] == [pytest.approx(0.11)]


def test_interrupted_push_resumes_without_duplicates(env, records, tmp_path, project_name, monkeypatch):
    mined = write(tmp_path / "mined.jsonl", records)
    monkeypatch.setattr(push_module, "BATCH", 2)
    server = Server(env.url, env.token)
    real_import = Server.import_tasks
    calls = {"n": 0}

    def drop_second_batch(self, project_id, tasks):
        calls["n"] += 1
        if calls["n"] == 2:  # the connection drops mid-push (a fault a real server cannot be made to cause)
            raise CtlabelError(
                "Label Studio dropped the connection (RemoteProtocolError); run the command again to resume"
            )
        return real_import(self, project_id, tasks)

    monkeypatch.setattr(Server, "import_tasks", drop_second_batch)
    with pytest.raises(CtlabelError, match="run the command again"):
        push(mined, project_name, server)
    monkeypatch.setattr(Server, "import_tasks", real_import)
    # the ledger is lost too: the push reconciles from the server's tasks
    for ledger in (tmp_path / "cache").rglob("*.jsonl"):
        ledger.unlink()
    summary = push(mined, project_name, server)
    assert (summary.created, summary.unchanged) == (2, 2)
    assert server.task_count(summary.project_id) == 4


def test_pull_applies_people_majority_ties_and_skips(env, sdk, records, tmp_path, project_name):
    mined = write(tmp_path / "mined.jsonl", records)
    assert cli("push", str(mined), "--project", project_name).exit_code == 0
    _, tasks = project_tasks(sdk, project_name)
    task = {t.data["id"]: t.id for t in tasks}
    ann1, ann2, ann3 = user(sdk, "ann1"), user(sdk, "ann2"), user(sdk, "ann3")
    # img-1: one reviewer overrules the machine (GGO -> Csld) and says NonCOVID
    annotate(sdk, task["img-1.png"], ann1, covid="NonCOVID", lesions=["Csld"], note="it is consolidation")
    # img-2: two reviewers disagree on AirBr (tie -> uncertain), agree on Csld
    annotate(sdk, task["img-2.png"], ann1, lesions=["Csld", "AirBr"])
    annotate(sdk, task["img-2.png"], ann2, lesions=["Csld"])
    # img-3: majority of three wins
    annotate(sdk, task["img-3.png"], ann1, lesions=["CrPa"])
    annotate(sdk, task["img-3.png"], ann2, lesions=["CrPa"])
    annotate(sdk, task["img-3.png"], ann3, lesions=[])
    # img-4: skipped by its reviewer -> the machine's labels stay
    annotate(sdk, task["img-4.png"], ann1, cancelled=True)
    out = tmp_path / "reviewed.jsonl"
    result = cli("pull", "--project", project_name, "-o", str(out), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["records"], summary["human"], summary["machine"], summary["skipped_only"]) == (4, 3, 1, 1)
    assert summary["conflicts"] == {"img-2.png": ["AirBr"]}
    reviewed = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert sorted(reviewed) == ["img-1.png", "img-2.png", "img-3.png", "img-4.png"]
    one = reviewed["img-1.png"]
    assert one["covid"]["state"] == "negative"
    assert one["lesions"]["GGO"]["state"] == "negative" and one["lesions"]["Csld"]["state"] == "positive"
    assert one["provenance"]["source"] == "human" and one["provenance"]["annotators"] == ["ann1@example.com"]
    assert one["provenance"]["notes"] == ["it is consolidation"] and one["provenance"]["time"]
    assert one["lesions"]["GGO"]["evidence"]  # the machine's evidence is kept for the record
    two = reviewed["img-2.png"]
    assert two["lesions"]["AirBr"]["state"] == "uncertain" and two["lesions"]["Csld"]["state"] == "positive"
    assert two["covid"]["state"] == records[1]["covid"]["state"]  # nobody voted on COVID: machine's stays
    assert reviewed["img-3.png"]["lesions"]["CrPa"]["state"] == "positive"
    four = reviewed["img-4.png"]
    assert four["provenance"]["source"] == "machine" and four["lesions"] == records[3]["lesions"]

    # the offline path: a Label Studio JSON export gives the same records
    project = next(p for p in sdk.projects.list() if p.title == project_name)
    export = httpx.get(
        f"{env.url}/api/projects/{project.id}/export",
        params={"exportType": "JSON", "download_all_tasks": "true"},
        headers={"Authorization": f"Token {env.token}"},
        timeout=60,
    ).json()
    export_file = tmp_path / "export.json"
    export_file.write_text(json.dumps(export))
    offline = tmp_path / "offline.jsonl"
    assert cli("pull", "--from-export", str(export_file), "-o", str(offline)).exit_code == 0
    offline_records = {r["id"]: r for r in map(json.loads, offline.read_text().splitlines())}
    assert offline_records["img-1.png"]["provenance"]["annotators"] == [str(ann1)]  # an export has user ids only
    for record in (*offline_records.values(), *reviewed.values()):
        record["provenance"].pop("annotators", None)
    assert offline_records == reviewed

    status = json.loads(cli("status", "--project", project_name, "--json").stdout)
    assert (status["tasks"], status["annotated"], status["skipped_only"], status["remaining"]) == (4, 3, 1, 0)
    # Csld: machine (img-1 0, img-2 1, img-3 0) vs people (1, 1, 0) -> po 2/3, pe 1/3*2/3+2/3*1/3=4/9, kappa 0.4
    assert status["machine_vs_human"]["Csld"]["kappa"] == pytest.approx(0.4)
    assert status["human_vs_human"]["AirBr"]["n"] == 1 + 3  # one pair on img-2, three on img-3
    assert any("GGO:" in rule and "rejected" in rule for rule, _ in status["most_overruled_rules"])


def test_errors_are_one_line(env, sdk, records, tmp_path, project_name):
    mined = write(tmp_path / "mined.jsonl", records)
    wrong_key = cli("push", str(mined), "--project", project_name, "--api-key", "not-a-key")
    assert wrong_key.exit_code == 2 and "refused the API key" in wrong_key.output
    unreachable = cli("push", str(mined), "--project", project_name, "--url", "http://127.0.0.1:9")
    assert unreachable.exit_code == 2 and "cannot reach Label Studio" in unreachable.output
    no_id = tmp_path / "bad.jsonl"
    no_id.write_text(dump_record(records[0]) + json.dumps({"texts": []}) + "\n")
    bad = cli("push", str(no_id), "--project", project_name)
    assert bad.exit_code == 2 and "line 2: record without 'id'" in bad.output
    assert not [p for p in sdk.projects.list() if p.title == project_name]  # nothing half-imported
    for _ in range(2):
        sdk.projects.create(title=project_name + "-dup", label_config=read_resource("labeling-config.xml"))
    dup = cli("push", str(mined), "--project", project_name + "-dup")
    assert dup.exit_code == 2 and "2 Label Studio projects are titled" in dup.output
    sdk.projects.create(title=project_name + "-cfg", label_config='<View><Text name="t" value="$caption"/></View>')
    cfg = cli("push", str(mined), "--project", project_name + "-cfg")
    assert cfg.exit_code == 2 and 'lacks <Choices name="covid">' in cfg.output


def test_pipeline_review_stage_against_the_server(env, sdk, tmp_path, project_name):
    """[review] with a project: the pipeline pushes the mined records and pulls what people did."""
    root = Path(__file__).resolve().parent.parent
    pipeline = tmp_path / "p.toml"
    pipeline.write_text(
        f'[pipeline]\nworkdir = "{tmp_path / "w"}"\n'
        f'[mine]\ncaptions = {{ input = "{root}/annotations/sample/captions.csv", id_col = "image", text_cols = ["caption", "report"] }}\n'
        f'[review]\nproject = "{project_name}"\n'
    )
    first = runner.invoke(app, ["run", str(pipeline), "--json"])
    assert first.exit_code == 0, first.output
    _, tasks = project_tasks(sdk, project_name)
    assert len(tasks) == 12
    annotate(sdk, tasks[0].id, user(sdk, "ann1"), covid="NonCOVID", lesions=[])
    again = runner.invoke(app, ["run", str(pipeline), "--only", "review", "--force", "--json"])
    assert again.exit_code == 0, again.output
    reviewed = [json.loads(line) for line in (tmp_path / "w" / "reviewed.jsonl").read_text().splitlines()]
    assert len(reviewed) == 12 and sum(r["provenance"]["source"] == "human" for r in reviewed) == 1
    assert len(project_tasks(sdk, project_name)[1]) == 12  # the second push created nothing
