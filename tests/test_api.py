"""The Python API: the same records, scores and predictions as the CLI, on DataFrames; the docs example runs."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import ctlabel
from ctlabel.cli.main import app
from ctlabel.errors import CtlabelError
from ctlabel.schema import LABELS, empty_record

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


def cli(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_import_stays_light():
    code = (
        "import sys, ctlabel; print(sorted(m for m in ('pandas', 'torch', 'spacy', 'ctlabel.api') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def mine_with_cli(gold, out):
    """``ctlabel mine captions`` on a gold file's caption and report columns."""
    cli(
        "mine",
        "captions",
        str(gold),
        "-o",
        str(out),
        "--id-col",
        "image",
        "--text-col",
        "caption",
        "--text-col",
        "report",
    )


def test_mine_gives_the_cli_records_on_the_dev_gold(covid_ct, tmp_path):
    gold = covid_ct / "lesion-gold-dev.csv"
    out = tmp_path / "mined.jsonl"
    mine_with_cli(gold, out)
    mined = ctlabel.mine(pd.read_csv(gold), text_cols=["caption", "report"], id_col="image")
    from_cli = [json.loads(line) for line in out.read_text().splitlines()]
    assert [json.loads(json.dumps(r)) for r in mined["record"]] == from_cli  # every state, span and confidence
    records = ctlabel.read_records(out)
    assert records.index.tolist() == mined.index.tolist() == [r["id"] for r in from_cli]
    assert records[list(LABELS)].equals(mined[list(LABELS)])
    assert records.loc[from_cli[0]["id"], "caption"] == from_cli[0]["texts"][0]["text"]
    assert mined.attrs["lexicon"] == from_cli[0]["provenance"]["lexicon"]


def test_mine_a_series_with_its_index_as_ids():
    texts = pd.Series(["No ground-glass opacity.", "Possible consolidation.", None], index=[0, 7, 9], name="finding")
    mined = ctlabel.mine(texts)
    assert mined.index.tolist() == ["0", "7", "9"]  # an id 0 is kept, as a CSV cell "0" is
    assert mined.GGO.tolist() == ["negative", "absent", "absent"]
    assert mined.Csld.tolist() == ["absent", "uncertain", "absent"]
    assert mined.loc["9", "finding"] == ""  # a missing text is an empty one
    assert mined.loc["0", "evidence"] == 'GGO negative: "ground-glass opacity" (finding)'
    assert str(mined.GGO.dtype) == "category" and mined.GGO.cat.categories.tolist() == [
        "positive",
        "uncertain",
        "negative",
        "absent",
    ]


def test_mine_panel_column_selects_the_panel_text():
    caption = "Figure 2. (A) Bilateral ground-glass opacities. (B) Consolidation in the left lower lobe."
    df = pd.DataFrame({"name": ["f2a", "f2b"], "caption": [caption] * 2, "letter": ["a", "B"]})
    mined = ctlabel.mine(df, text_cols="caption", id_col="name", panel_col="letter")
    assert mined[["panel", "GGO", "Csld"]].values.tolist() == [["A", "positive", "absent"], ["B", "absent", "positive"]]


def test_mine_bad_input_is_one_clear_error():
    df = pd.DataFrame({"image": ["a.png", "a.png"], "caption": ["GGO", "consolidation"]})
    with pytest.raises(CtlabelError, match=r"no column 'report'; the columns are 'image', 'caption'"):
        ctlabel.mine(df, text_cols=["caption", "report"], id_col="image")
    with pytest.raises(CtlabelError, match=r"duplicate id 'a.png'"):
        ctlabel.mine(df, text_cols=["caption"], id_col="image")
    numbered = ctlabel.mine(df, text_cols=["caption"], id_col="image", number_duplicates=True)
    assert numbered.index.tolist() == ["a.png", "a.png#2"] and numbered.Csld.tolist() == ["absent", "positive"]
    with pytest.raises(CtlabelError, match="give text_cols"):
        ctlabel.mine(df, id_col="image")


def test_mine_skips_a_row_without_id_with_a_warning():
    df = pd.DataFrame({"image": ["x.png", None, "z.png"], "caption": ["GGO", "GGO", "crazy paving"]})
    with pytest.warns(UserWarning, match=r"skipped 1 row\(s\); first: row 1: empty id in column 'image'"):
        mined = ctlabel.mine(df, text_cols=["caption"], id_col="image")
    assert mined.index.tolist() == ["x.png", "z.png"] and mined.attrs["skipped"] == [
        "row 1: empty id in column 'image'"
    ]


def test_mine_follows_an_edited_lexicon(tmp_path):
    from ctlabel.lexicon import DEFAULT_LEXICON

    lexicon = tmp_path / "lexicon.toml"
    lexicon.write_text(DEFAULT_LEXICON.read_text())
    texts = pd.Series(["Milky glass pattern in both lungs."], index=["m1"])
    assert ctlabel.mine(texts, lexicon=lexicon).GGO.iloc[0] == "absent"
    lexicon.write_text(lexicon.read_text().replace('"ground glass",', '"ground glass", "milky glass",', 1))
    assert ctlabel.mine(texts, lexicon=lexicon).GGO.iloc[0] == "positive"  # the cached miner was rebuilt


def test_read_records_human_source_kind_and_bad_input(tmp_path):
    machine = empty_record("p1-A")
    machine |= {
        "kind": "ct",
        "panel": "A",
        "texts": [{"source": "caption", "text": "x"}],
        "provenance": {"source": "machine"},
    }
    human = empty_record("p1-B")
    human["texts"] = [{"source": "document", "text": "Crazy paving."}]
    human["lesions"]["CrPa"] = {
        "state": "positive",
        "evidence": [
            {
                "source": "document",
                "start": 0,
                "end": 12,
                "text": "Crazy paving",
                "rule": "CrPa:crazy paving",
                "state": "positive",
            }
        ],
    }
    human["provenance"] = {"source": "human", "labels": {"CrPa": "human"}}
    frame = ctlabel.read_records(write_jsonl(tmp_path / "r.jsonl", [machine, human]))
    assert frame.kind.fillna("-").tolist() == ["ct", "-"] and frame.source.tolist() == ["machine", "human"]
    assert frame.loc["p1-B", "document"] == "Crazy paving." and pd.isna(frame.loc["p1-A", "document"])
    assert frame.loc["p1-B", "evidence"] == 'CrPa positive: "Crazy paving" (document)'
    assert "kind" not in ctlabel.read_records(write_jsonl(tmp_path / "k.jsonl", [human])).columns

    bad = dict(machine, lesions={"GGO": {"state": "present", "evidence": []}})
    with pytest.raises(CtlabelError, match=r"b\.jsonl: record 'p1-A' has no label entry 'Csld'"):
        ctlabel.read_records(write_jsonl(tmp_path / "b.jsonl", [bad]))
    bad["lesions"] = {
        code: {"state": "present" if code == "AirBr" else "absent", "evidence": []} for code in LABELS[1:]
    }
    with pytest.raises(CtlabelError, match=r"record 'p1-A': unknown AirBr state 'present'"):
        ctlabel.read_records(write_jsonl(tmp_path / "b.jsonl", [bad]))
    (tmp_path / "j.jsonl").write_text(json.dumps(machine) + "\n{not json\n")
    with pytest.raises(CtlabelError, match=r"j\.jsonl: line 2: not valid JSON"):
        ctlabel.read_records(tmp_path / "j.jsonl")


def test_evaluate_gives_the_cli_scores_from_files_and_frames(covid_ct, tmp_path):
    gold = covid_ct / "lesion-gold-dev.csv"
    out = tmp_path / "mined.jsonl"
    mine_with_cli(gold, out)
    expected = json.loads(cli("evaluate", str(gold), str(out), "--bootstrap", "50", "--json"))
    from_files = ctlabel.evaluate(gold, out, bootstrap=50)
    mined = ctlabel.read_records(out)
    from_frames = ctlabel.evaluate(pd.read_csv(gold), mined, bootstrap=50)
    for scores in (from_files, from_frames):
        for label, m in expected["labels"].items():
            assert scores.loc[label, ["precision", "recall", "f1", "support"]].tolist() == [
                m["precision"],
                m["recall"],
                m["f1"],
                m["support"],
            ]
            assert scores.loc[label, ["f1_low", "f1_high"]].tolist() == expected["ci95"][f"{label}.f1"]
        assert scores.attrs["micro_f1"] == expected["micro_f1"] and scores.attrs["errors"] == expected["errors"]

    first_miss = next(e for e in expected["errors"] if e["kind"] == "false negative" and e["label"] == "GGO")
    mined.loc[first_miss["id"], "GGO"] = "positive"  # a state changed in the DataFrame counts
    fixed = ctlabel.evaluate(gold, mined, bootstrap=0)
    assert fixed.loc["GGO", "recall"] > expected["labels"]["GGO"]["recall"]
    assert all(e["id"] != first_miss["id"] or e["label"] != "GGO" for e in fixed.attrs["errors"])


def test_evaluate_bad_input_names_the_dataframe(tmp_path):
    mined = ctlabel.mine(pd.Series(["GGO."], index=["a"]))
    with pytest.raises(CtlabelError, match=r"^the mined DataFrame: no record id matches an id of the gold DataFrame$"):
        ctlabel.evaluate(pd.DataFrame({"image": ["b"], "GGO": [1]}), mined)
    with pytest.raises(CtlabelError, match="lacks record"):
        ctlabel.evaluate(pd.DataFrame({"image": ["a"], "GGO": [1]}), mined.drop(columns="record"))
    lost = mined.reindex(["a", "z"])  # a row the DataFrame made up has no state
    lost["record"] = [mined.record["a"], ctlabel.RecordView(empty_record("z"))]
    with pytest.raises(CtlabelError, match=r"record 'z': covid is nan in the DataFrame, not one of positive"):
        ctlabel.evaluate(pd.DataFrame({"image": ["a"], "GGO": [1]}), lost)
    with pytest.raises(CtlabelError, match="uncertain is 'negative' or 'positive'"):
        ctlabel.evaluate(pd.DataFrame({"image": ["a"], "GGO": [1]}), mined, uncertain="maybe")


LABEL_HEADER = "imgname,CVD19,GGO,Csld,CrPa,AirBr,InSepThi\n"


def test_read_labels_with_a_split_file_and_diff(tmp_path):
    old = tmp_path / "old.csv"
    old.write_text(LABEL_HEADER + "a.png,1,1,0,0,0,0\nb.png,1,0,1,0,0,0\nc.png,0,0,0,0,0,0\n")
    new = tmp_path / "new.csv"
    new.write_text(LABEL_HEADER + "a.png,1,0,0,0,0,0\nb.png,1,0,1,1,0,0\nd.png,1,1,0,0,0,0\n")
    split = tmp_path / "split.csv"
    split.write_text("image,split\na.png,train\nb.png,test\n")
    labels = ctlabel.read_labels(old, split_file=split)
    assert labels.index.tolist() == ["a.png", "b.png", "c.png"] and labels.loc["b.png", "Csld"] == 1
    assert labels.split.fillna("-").tolist() == ["train", "test", "-"]
    chexpert = tmp_path / "chexpert.csv"
    chexpert.write_text(LABEL_HEADER + "a.png,1,-1,0,,1,0\n")
    assert ctlabel.read_labels(chexpert).loc["a.png"].tolist() == [1, -1, 0, 0, 1, 0]

    changes = ctlabel.diff(old, new)
    rows = {tuple(r) for r in changes[["image", "label", "change", "old", "new"]].fillna("-").itertuples(index=False)}
    assert rows == {
        ("d.png", "-", "added", "-", "-"),
        ("c.png", "-", "removed", "-", "-"),
        ("a.png", "GGO", "lost", "positive", "absent"),
        ("b.png", "CrPa", "gained", "absent", "positive"),
    }
    assert changes.attrs["counts"]["new"]["CrPa"] == 1
    expected = json.loads(cli("diff", str(old), str(new), "--json"))
    assert changes.attrs["counts"] == expected["counts"]


def test_read_labels_refuses_what_train_refuses(tmp_path):
    dup = tmp_path / "dup.csv"
    dup.write_text(LABEL_HEADER + "a.png,1,1,0,0,0,0\na.png,1,1,0,0,0,0\n")
    with pytest.raises(CtlabelError, match=r"dup\.csv: duplicate image name 'a\.png'"):
        ctlabel.read_labels(dup)
    bad = tmp_path / "bad.csv"
    bad.write_text("imgname,CVD19\na.png,1\n")
    with pytest.raises(CtlabelError, match="header is imgname,CVD19; expected"):
        ctlabel.read_labels(bad)


def test_record_html_marks_the_evidence_in_the_review_colours():
    from ctlabel.display import label_colours

    caption = "Ground-glass opacities in COVID-19; possible crazy-paving <b>pattern</b>."
    record = ctlabel.mine(
        pd.DataFrame({"id": ["r1"], "caption": [caption], "report": ["no consolidation"]}), ["caption", "report"], "id"
    ).record["r1"]
    html = record._repr_html_()
    colours = label_colours()["caption"]
    assert colours["GGO"] != colours["CrPa"]
    ggo = re.search(
        rf'<mark style="background:{colours["GGO"]}66[^"]*" title="GGO">Ground-glass opacities<sup[^>]*>GGO</sup></mark>',
        html,
    )
    assert ggo, html
    assert re.search(r'title="CrPa uncertain">crazy-paving', html)  # the hedged span carries its tag
    assert "&lt;b&gt;pattern&lt;/b&gt;" in html and "<b>pattern</b>" not in html  # the text is escaped
    report_colours = label_colours()["report"]
    assert re.search(rf'background:{report_colours["Csld"]}66[^"]*" title="Csld negated">consolidation', html)
    no_report = ctlabel.mine(
        pd.DataFrame({"id": ["r2"], "caption": ["GGO."], "report": [None]}), ["caption", "report"], "id"
    )
    assert "Report and other text" not in no_report.record["r2"]._repr_html_()  # an empty text is not shown


def test_overlapping_spans_are_cut_not_lost():
    from ctlabel.display import highlight

    html = highlight("ground glass", [(0, 12, ["GGO"]), (7, 12, ["COVID"])], {"GGO": "#112233", "COVID": "#445566"})
    assert html.startswith('<mark style="background:#11223366') and ">ground <" in html
    assert (
        'title="GGO; COVID">glass<sup style="font-size:70%">GGO</sup><sup style="font-size:70%">COVID</sup></mark>'
        in html
    )


def _shell(command: str) -> None:
    """A notebook's ``!command``; ``ctlabel`` runs from this interpreter."""
    argv = shlex.split(command)
    if argv[0] == "ctlabel":
        argv = [sys.executable, "-m", "ctlabel", *argv[1:]]
    result = subprocess.run(argv, check=False, capture_output=True, text=True)
    assert result.returncode == 0, f"{command}\n{result.stderr}"


def doc_code(path: Path) -> str:
    """The Python blocks of a doc page in order, ``!`` lines as shell commands."""
    blocks = re.findall(r"```python\n(.*?)```", path.read_text(), re.DOTALL)
    lines = [f"_shell({line[1:]!r})" if line.startswith("!") else line for b in blocks for line in b.splitlines()]
    return "\n".join(lines)


@pytest.mark.slow
def test_docs_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CTLABEL_CACHE", str(tmp_path / "cache"))
    (tmp_path / "annotations").symlink_to(ROOT / "annotations")
    space: dict = {"_shell": _shell}
    exec(compile(doc_code(ROOT / "docs" / "api.md"), "docs/api.md", "exec"), space)

    mined, records = space["mined"], space["records"]
    assert len(mined) == 12 and mined.loc["demo01-p3-1%0.png", "GGO"] == "positive"
    assert mined.loc["demo02-p3-2.png", "covid"] == "negative"  # the influenza control group
    assert records.drop(columns="record").equals(mined.drop(columns="record"))
    assert space["hedged"].confidence.is_monotonic_increasing and (space["hedged"].confidence < 0.9).all()
    assert "<mark" in space["hedged"].record.iloc[0]._repr_html_()
    assert set(space["scores"].index) == {"covid", "GGO", "Csld", "AirBr"}
    labels = space["labels"]
    assert len(labels) == 24 and set(labels.split) == {"train", "val", "test"}
    assert (labels.CVD19 == 1).sum() == space["positives"].sum().CVD19
    changes = space["changes"]
    assert len(changes) > 0 and set(changes.change) == {"gained"} and (changes.new == "positive").all()
    probs = space["probs"]
    expected = json.loads(cli("predict", str(tmp_path / "run"), *map(str, space["images"]), "--json"))
    assert probs.index.tolist() == [r["image"] for r in expected]
    assert probs.covid.tolist() == [r["covid"] for r in expected]
    assert probs.drop(columns="covid").values.tolist() == [list(r["lesions"].values()) for r in expected]
