"""Records → tasks and back without a server: image links, text offsets, resolution rules."""

from ctlabel.review.push import ImageLinks
from ctlabel.review.tasks import resolve, to_task


def test_image_links(tmp_path):
    """A prefix is taken as given; a local file below the root is served from there; a missing file
    gets a note for the annotator and is listed; no image, no link."""
    (tmp_path / "out" / "figures").mkdir(parents=True)
    (tmp_path / "out" / "figures" / "a b.png").write_bytes(b"png")
    record = {"id": "r1", "image": "figures/a b.png"}
    assert ImageLinks(tmp_path, url_prefix="https://img.example/ct").url(record) == (
        "https://img.example/ct/figures/a%20b.png",
        None,
    )
    links = ImageLinks(tmp_path / "out", local_root=tmp_path)
    assert links.url(record) == ("/data/local-files/?d=out/figures/a%20b.png", None)
    assert links.url({"id": "r2", "image": None}) == (None, None)
    url, note = links.url({"id": "r3", "image": "figures/gone.png"})
    assert url is None and "figures/gone.png" in note
    assert len(links.missing) == 1 and links.missing[0].startswith("r3: image ")
    task = to_task(
        {
            **record,
            "texts": [],
            "covid": {"state": "absent", "evidence": []},
            "lesions": {c: {"state": "absent", "evidence": []} for c in ("GGO", "Csld", "CrPa", "AirBr", "InSepThi")},
        },
        None,
        note,
    )
    assert task["data"]["image_note"] == note and task["data"]["image"] == ""


def test_evidence_offsets_follow_the_report_heading(mine_text):
    record = mine_text("Ground glass opacity.", report="no consolidation")
    task = to_task(record, None)
    assert task["data"]["report"] == "[report] no consolidation"
    spans = {r["value"]["text"]: r for r in task["predictions"][0]["result"] if r["type"] == "labels"}
    value = spans["consolidation"]["value"]
    assert task["data"]["report"][value["start"] : value["end"]] == "consolidation"
    assert value["labels"] == ["Csld", "negated"] and spans["consolidation"]["to_name"] == "report"


def test_untouched_task_keeps_the_machine_record(mine_text):
    record = mine_text("Consolidation.")
    reviewed, conflicts = resolve({"data": {"record": record}, "annotations": []})
    assert reviewed["lesions"] == record["lesions"] and reviewed["provenance"]["source"] == "machine" and not conflicts
