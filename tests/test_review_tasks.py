"""Records → tasks and back without a server: image links, text offsets, resolution rules."""


from ctlabel.review.push import ImageLinks
from ctlabel.review.tasks import resolve, to_task


def test_image_links(tmp_path):
    record = {"image": "figures/a b.png"}
    assert ImageLinks(tmp_path, url_prefix="https://img.example/ct").url(record) == "https://img.example/ct/figures/a%20b.png"
    links = ImageLinks(tmp_path / "out", local_root=tmp_path)
    assert links.url(record) == "/data/local-files/?d=out/figures/a%20b.png"
    assert ImageLinks(tmp_path).url(record) is None and links.url({"image": None}) is None


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
