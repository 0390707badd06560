"""The extraction store (`mine pdf --store`): hit, miss, extractor version, resume, re-mine after a lexicon edit."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ctlabel.cli.main import app
from ctlabel.errors import CtlabelError
from ctlabel.lexicon import DEFAULT_LEXICON
from ctlabel.pdf.cluster import MANIFEST, mine_corpus, read_manifest
from ctlabel.pdf.store import ExtractionStore, extract_one, file_sha256
from ctlabel.testing.papers import make_paper

runner = CliRunner()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    for seed in range(3):
        make_paper(root / f"paper{seed}.pdf", seed=seed)
    (root / "broken.pdf").write_bytes(b"%PDF-1.4 this is not a PDF body")
    return root


def _records(out: Path) -> list[dict]:
    rows = [json.loads(line) for shard in sorted(out.glob("part-*.jsonl")) for line in shard.read_text().splitlines()]
    return sorted(rows, key=lambda r: r["id"])


def test_store_miss_then_hit_by_content_not_name(corpus, tmp_path):
    pdf = corpus / "paper0.pdf"
    first = extract_one(str(pdf), str(tmp_path / "store"), 72, 120.0)
    assert first["status"] == "ok" and not first["cached"] and first["pages"] == 6
    store = ExtractionStore(tmp_path / "store", 72)
    entry = store.get(file_sha256(pdf))
    assert (
        entry
        and entry["figures"]
        and all((store.images_dir(entry["sha256"]) / f["image"]).is_file() for f in entry["figures"])
    )
    renamed = tmp_path / "another name.pdf"  # the same bytes under another name: a hit
    shutil.copy(pdf, renamed)
    again = extract_one(str(renamed), str(tmp_path / "store"), 72, 120.0)
    assert again["cached"] and again["sha256"] == first["sha256"]
    # an image gone from the store: the entry no longer counts, the PDF is extracted again
    (store.images_dir(entry["sha256"]) / entry["figures"][0]["image"]).unlink()
    assert store.get(entry["sha256"]) is None
    assert not extract_one(str(pdf), str(tmp_path / "store"), 72, 120.0)["cached"]


def test_extractor_version_or_dpi_change_is_a_miss(corpus, tmp_path):
    pdf, root = str(corpus / "paper1.pdf"), str(tmp_path / "store")
    assert not extract_one(pdf, root, 72, 120.0, version="1")["cached"]
    assert extract_one(pdf, root, 72, 120.0, version="1")["cached"]
    assert not extract_one(pdf, root, 72, 120.0, version="2")["cached"]
    assert not extract_one(pdf, root, 100, 120.0, version="1")["cached"]
    assert {p.name for p in (tmp_path / "store").iterdir()} == {"v1-dpi72", "v2-dpi72", "v1-dpi100"}


def test_unreadable_pdf_is_stored_with_its_reason(corpus, tmp_path):
    first = extract_one(str(corpus / "broken.pdf"), str(tmp_path / "store"), 72, 120.0)
    assert first["status"] == "skipped" and "broken" in first["reason"]
    assert extract_one(str(corpus / "broken.pdf"), str(tmp_path / "store"), 72, 120.0)["cached"]


def test_store_records_equal_the_figures_dir_run(corpus, tmp_path):
    pdf = corpus / "paper2.pdf"
    plain = tmp_path / "plain.jsonl"
    result = runner.invoke(
        app, ["mine", "pdf", str(pdf), "-o", str(plain), "--figures-dir", str(tmp_path / "figs"), "--dpi", "72"]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        app, ["mine", "pdf", str(pdf), "-o", str(tmp_path / "out"), "--store", str(tmp_path / "store"), "--dpi", "72"]
    )
    assert result.exit_code == 0, result.output
    key = ("id", "figure", "panel", "bbox", "kind", "texts", "covid", "lesions")
    expected = sorted(
        ({k: r[k] for k in key} for r in map(json.loads, plain.read_text().splitlines())), key=lambda r: r["id"]
    )
    got = [{k: r[k] for k in key} for r in _records(tmp_path / "out")]
    assert got == expected
    for record in _records(tmp_path / "out"):  # images relative to the output folder, in the store
        assert (tmp_path / "out" / record["image"]).resolve().is_file()


class _Stop(KeyboardInterrupt):
    pass


def test_interrupted_run_resumes_only_what_is_not_done(corpus, tmp_path):
    out, store = tmp_path / "out", tmp_path / "store"
    seen: list[str] = []

    def stop_after_two(result: dict) -> None:
        seen.append(result["pdf"])
        if len(seen) == 2:
            raise _Stop

    with pytest.raises(_Stop):
        mine_corpus([corpus], out, store, dpi=72, shard_pdfs=1, progress=stop_after_two)
    key, rows = read_manifest(out)
    assert key and [r["pdf"] for r in rows] == seen[:1]  # the second PDF's shard was never written
    with (out / MANIFEST).open("a") as fh:  # a line torn by a crash, and a shard whose PDFs never reached the manifest
        fh.write('{"pdf": "/half')
    (out / "part-00099.jsonl").write_text('{"id": "orphan"}\n')
    again = mine_corpus([corpus], out, store, dpi=72, shard_pdfs=1)
    assert again.done_before == 1 and again.extracted <= 2  # the second PDF (at least) came from the store
    _, rows = read_manifest(out)
    assert sorted(r["pdf"] for r in rows) == sorted(str(p.resolve()) for p in corpus.glob("*.pdf"))
    assert not (out / "part-00099.jsonl").exists()
    whole = mine_corpus([corpus], tmp_path / "whole", store, dpi=72)
    assert _records(out) == _records(tmp_path / "whole")
    assert mine_corpus([corpus], out, store, dpi=72).done_before == 4  # nothing left to do
    assert whole.records == len(_records(out)) > 0


def test_lexicon_edit_remines_from_the_store_without_extracting(corpus, tmp_path):
    out, store = tmp_path / "out", tmp_path / "store"
    first = mine_corpus([corpus], out, store, dpi=72)
    assert first.extracted == 4 and first.records > 0
    key, before = read_manifest(out)[0], _records(out)
    lexicon = tmp_path / "lexicon.toml"
    text = DEFAULT_LEXICON.read_text(encoding="utf-8")
    assert '"ground glass change",' in text
    lexicon.write_text(
        text.replace('"ground glass change",', '"ground glass change", "milky glass",'), encoding="utf-8"
    )
    entries = {p: p.stat().st_mtime_ns for p in store.rglob("*.json")}
    again = mine_corpus([corpus], out, store, dpi=72, lexicon=str(lexicon))
    assert again.extracted == 0 and again.done_before == 0 and again.records == first.records
    assert {p: p.stat().st_mtime_ns for p in store.rglob("*.json")} == entries  # the store is only read
    assert not out.with_name("out.next").exists() and not out.with_name("out.old").exists()
    after = _records(out)
    assert read_manifest(out)[0] != key and [r["id"] for r in after] == [r["id"] for r in before]
    assert {r["provenance"]["lexicon"] for r in after}.isdisjoint({r["provenance"]["lexicon"] for r in before})


def test_bad_arguments_are_one_line_and_exit_2(corpus, tmp_path):
    taken = tmp_path / "taken.jsonl"
    taken.write_text("keep me\n")
    result = runner.invoke(app, ["mine", "pdf", str(corpus), "-o", str(taken), "--store", str(tmp_path / "s")])
    assert result.exit_code == 2 and "is a file" in result.output and taken.read_text() == "keep me\n"
    result = runner.invoke(app, ["mine", "pdf", str(corpus), "-o", str(tmp_path / "o"), "--cluster", "local:2"])
    assert result.exit_code == 2 and "need --store" in result.output
    result = runner.invoke(
        app, ["mine", "pdf", str(corpus), "-o", str(tmp_path / "o"), "--store", str(tmp_path / "s"), "--cluster", "two"]
    )
    assert result.exit_code == 2 and "local:N" in result.output
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(CtlabelError, match="not the output of a corpus run"):
        mine_corpus([corpus], other, tmp_path / "s")
