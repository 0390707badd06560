"""Mining is invariant to the damage PDF extraction does to text (metamorphic tests).

The sentences here are written for the tests, in other words than any dev caption; the whole
dev gold is checked too (``test_dev_gold_survives_damage``) when the shared data is present.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ctlabel.mine.repair import TextRepairer
from ctlabel.mine.robustness import robustness
from ctlabel.mine.table import Columns
from ctlabel.schema import LABELS, label_of
from ctlabel.testing.damage import TRANSFORMS

from conftest import SHARED_DATA, states

# (text, panel): each names lesions, cues and panel markers in wording of our own.
SENTENCES = [
    (
        (
            "Axial CT of a man with confirmed SARS-CoV-2 infection: patchy ground-glass opacities in the right "
            "lower lobe, without consolidation or pleural effusion."
        ),
        None,
    ),
    ("No consolidation was seen on admission; crazy-paving pattern appeared in both lungs on day 9.", None),
    (
        (
            "(A)Case 2 on day 3 shows faint ground-glass opacity. (B) Case 2 on day 10 shows consolidation with "
            "an air bronchogram."
        ),
        "A",
    ),
    (
        (
            "(A)Case 2 on day 3 shows faint ground-glass opacity. (B) Case 2 on day 10 shows consolidation with "
            "an air bronchogram."
        ),
        "B",
    ),
    (
        (
            "Thickened interlobular septa (B–D) and subpleural ground-glass opacity (a, b) in a patient with "
            "COVID-19 pneumonia."
        ),
        "C",
    ),
    (
        (
            "Follow-up CT: the consolidation in the left lung had completely resolved, while ground-glass "
            "opacities were still present (a and b)."
        ),
        "A",
    ),
    ("Chest radiograph of a child with influenza pneumonia; the throat swab was COVID negative.", None),
    ("Possible crazy paving in the right upper lobe, suspected novel coronavirus pneumonia.", None),
    ("CT images (2B) of the second patient show bilateral ground-glass opacification and septal thickening.", None),
]


def _states_of(mine_text, text: str, panel: str | None) -> dict[str, str]:
    return states(mine_text(text, panel=panel))


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
@pytest.mark.parametrize(("text", "panel"), SENTENCES)
def test_labels_survive_damage(mine_text, name, text, panel):
    clean = _states_of(mine_text, text, panel)
    assert clean, "each test sentence names something"
    assert _states_of(mine_text, TRANSFORMS[name](text), panel) == clean


@pytest.mark.parametrize(
    ("damaged", "expected"),
    [
        ("withpatchyground-glassshadowsinbothlungs.", {"GGO": "positive"}),
        ("noconsolidationandnopleuraleffusion.", {"Csld": "negative"}),
        ("Bilateral ground- glass opacities, SARS- CoV2 confirmed.", {"GGO": "positive", "covid": "positive"}),
        ("ground glassopacity in the left lobe", {"GGO": "positive"}),
        ("RT-PCR\ufffdCconfirmed COVID-19, consoli-\ndation in both bases", {"Csld": "positive", "covid": "positive"}),
        ("RT-PCRâ€“confirmed COVID-19 with air\u00a0broncho\u00adgram", {"AirBr": "positive", "covid": "positive"}),
        ("Figure3.Chest CT of a 60-year-old with COVID-19: crazy-paving.", {"CrPa": "positive", "covid": "positive"}),
        ("NO GROUND-GLASS OPACITY; CONSOLIDATION IN THE RIGHT LOWER LOBE.", {"GGO": "negative", "Csld": "positive"}),
    ],
)
def test_damaged_text_is_mined(mine_text, damaged, expected):
    assert states(mine_text(damaged)) == expected


@pytest.mark.parametrize("text", ["Chest CT of a man infected with 2019-nCoV.", "Axial CT, a woman with proven nCoV."])
def test_a_sentence_ending_in_a_mixed_case_name_still_names_it(mine_text, text):
    assert mine_text(text)["covid"]["state"] == "positive"


@pytest.mark.parametrize(
    "text",
    [
        "Chest CT, COVID negative.",
        "Chest CT of a patient, SARS-CoV-2 (−).",
        "CT of a non-COVID-19 pneumonia in an older woman.",
        "The woman tested negative for SARS-CoV-2 twice.",
        "SARS-CoV-2 PCR came back negative; lobar consolidation on the left.",
        "COVID-19-negative woman with bacterial pneumonia.",
        "SARS-CoV-2 test: negative.",
        "Viral load of SARS-CoV-2 undetectable at discharge.",
        "Swab for COVID-19 -ve, chest CT unremarkable.",
    ],
)
def test_a_stated_negative_result_is_negative(mine_text, text):
    assert mine_text(text)["covid"]["state"] == "negative"


@pytest.mark.parametrize(
    "text",
    [
        "COVID-19 patient with an initially negative RT-PCR and GGO.",
        "COVID-19 pneumonia, RT-PCR negative on admission, positive on day 4.",
        "A COVID-19 ward patient kept in a negative pressure room.",
        "COVID-19 pneumonia, negative control slides stained alike.",
    ],
)
def test_a_negative_elsewhere_leaves_covid_positive(mine_text, text):
    assert mine_text(text)["covid"]["state"] == "positive"


def test_document_text_alone_gives_at_most_uncertain(mine_text):
    record = mine_text("Axial CT slice at the level of the carina.", document="COVID-19 pneumonia: a case series")
    assert record["covid"]["state"] == "uncertain"
    assert "source.fallback:document" in record["covid"]["evidence"][0]["rule"]


@pytest.mark.parametrize(
    ("text", "repaired"),
    [
        ("consoli-\ndation", "consolidation"),  # a word broken at the line end
        ("ground-\nglass", "ground-glass"),  # a compound keeps its hyphen
        ("ﬁndings", "findings"),
        ("caf\u00c3\u00a9 â€œquotedâ€\u009d", 'café "quoted"'),
        ("a\u2009b\u00a0c", "a b c"),
        ("noGGOin the base", "no GGO in the base"),
        ("onset,and in(B)day5", "onset, and in (B) day 5"),  # fixed where the text shows glue
        ("(candd)", "(c and d)"),
    ],
)
def test_repairs(text, repaired):
    out = TextRepairer()(text)
    assert out is not None and out.text == repaired


def test_clean_text_is_left_alone():
    assert TextRepairer()("Bilateral ground-glass opacities (A, B) and consolidation (C).") is None


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("abcdeGGO -\n\u2013\u00ad\ufb01\u00c3\u00a9\ufffdC.(),;19")), max_size=80))
def test_offset_map_points_into_the_original(text):
    out = TextRepairer(["ggo"])(text)
    if out is None:
        return
    assert len(out.lo) == len(out.hi) == len(out.text)
    for i in range(len(out.text)):
        start, end = out.span(i, i + 1)
        assert 0 <= start <= end <= len(text)
        if out.text[i].isalnum() and start < end and text[start:end].isascii():
            assert out.text[i].lower() in text[start:end].lower()
    assert out.lo == sorted(out.lo)


WORDS = [
    "ground-glass",
    "opacities",
    "GGO",
    "no",
    "consolidation",
    "(A)",
    "(b-c)",
    "COVID-19",
    "without",
    "crazy",
    "paving",
    "septal",
    "thickening",
    "air",
    "bronchogram",
    "é",
    "–",
    "possible",
    ";",
    "and",
]


@settings(max_examples=120, deadline=None)
@given(words=st.lists(st.sampled_from(WORDS), max_size=20), name=st.sampled_from(sorted(TRANSFORMS)))
def test_evidence_indexes_the_damaged_text(mine_text, words, name):
    text = TRANSFORMS[name](" ".join(words))
    record = mine_text(text)
    for label in LABELS:
        for evidence in label_of(record, label)["evidence"]:
            assert text[evidence["start"] : evidence["end"]] == evidence["text"]


@pytest.mark.parametrize(
    ("gold", "columns"),
    [
        ("covid-ct/lesion-gold-dev.csv", Columns(id="image", texts=("caption", "report"))),
        ("cxr-notes/notes-dev.csv", Columns(id="id", texts=("note",))),
    ],
)
def test_dev_gold_survives_damage(gold, columns):
    path = SHARED_DATA / gold
    if not path.exists():
        pytest.skip(f"real data not found at {path} (set CTLABEL_SHARED_DATA)")
    result = robustness(path, columns)
    for row in result["transforms"]:
        assert row["same_labels"] >= 0.98, row["transform"]
        assert row["f1_drop"] <= 0.01, row["transform"]


@pytest.mark.parametrize("kind", ["chart", "diagram"])
def test_a_chart_caption_asserts_nothing_about_a_patient(miner, kind):
    from ctlabel.schema import empty_record

    record = {
        **empty_record("fig"),
        "kind": kind,
        "texts": [{"source": "caption", "text": "Accuracy on COVID-19 scans with consolidation, per epoch."}],
    }
    mined = miner.mine_one(record)
    assert mined["covid"]["state"] == "uncertain" and mined["lesions"]["Csld"]["state"] == "uncertain"
    assert f"kind.{kind}" in mined["covid"]["evidence"][0]["rule"]
    ct = miner.mine_one({**empty_record("ct"), "kind": "ct", "texts": record["texts"]})
    assert ct["covid"]["state"] == "positive" and ct["lesions"]["Csld"]["state"] == "positive"


def test_air_space_spelled_apart_is_hedged_consolidation(mine_text):
    assert states(mine_text("Patchy air space disease at both bases."))["Csld"] == "uncertain"
