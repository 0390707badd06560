"""Every evidence span is exactly the text at start:end of its source, whatever the text."""

from hypothesis import given, settings
from hypothesis import strategies as st

from ctlabel.schema import LABELS, label_of

WORDS = [
    "ground-glass",
    "opacity",
    "GGOs",
    "consolidation",
    "crazy",
    "paving",
    "air",
    "bronchogram",
    "no",
    "without",
    "possible",
    "COVID-19",
    "influenza",
    "(A)",
    "(b-c)",
    "B.",
    ";",
    ",",
    "but",
    "absorbed",
    "interlobular",
    "septal",
    "thickening",
    "frosted glass",
    "groundglassopacities",
    "showing",
    "and",
    "patchy",
    "shadow",
    "é",
    "–",
    "\n",
    "SARS-CoV-2",
    "controls",
    "1.5",
    "e.g.",
]


@settings(max_examples=300, deadline=None)
@given(
    caption=st.lists(st.sampled_from(WORDS), max_size=30).map(" ".join),
    report=st.lists(st.sampled_from(WORDS), max_size=12).map("".join),
    panel=st.sampled_from([None, "A", "B", "C"]),
)
def test_evidence_spans_match_their_text(mine_text, caption, report, panel):
    record = mine_text(caption, panel=panel, report=report)
    texts = {t["source"]: t["text"] for t in record["texts"]}
    for label in LABELS:
        for evidence in label_of(record, label)["evidence"]:
            assert texts[evidence["source"]][evidence["start"] : evidence["end"]] == evidence["text"]
            assert evidence["rule"]
