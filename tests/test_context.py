"""Negation, uncertainty, scope boundaries and resolution language, one rule family at a time."""

import pytest

from conftest import states


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Bilateral ground glass opacities without consolidation.", {"GGO": "positive", "Csld": "negative"}),
        (
            "No GGO, consolidation or crazy-paving pattern was seen.",
            {"GGO": "negative", "Csld": "negative", "CrPa": "negative"},
        ),
        ("Absence of air bronchogram in the right lower lobe.", {"AirBr": "negative"}),
        ("Consolidation; interlobular septal thickening was not seen.", {"Csld": "positive", "InSepThi": "negative"}),
        ("Air bronchograms were absent in the consolidation.", {"AirBr": "negative", "Csld": "positive"}),
    ],
)
def test_negation(mine_text, text, expected):
    assert states(mine_text(text)) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        # The scope ends at a clause boundary: ";" and "but", "while", "whereas".
        ("No consolidation; ground glass opacity in both lungs.", {"Csld": "negative", "GGO": "positive"}),
        ("No consolidation but ground glass opacity in both lungs.", {"Csld": "negative", "GGO": "positive"}),
        ("Without consolidation, whereas GGO progressed.", {"Csld": "negative", "GGO": "positive"}),
        # A comma that does not continue a list ends the scope (NegEx runs on here).
        ("No fever at admission, CT showed ground glass opacity.", {"GGO": "positive"}),
        # The scope is bounded in tokens too.
        ("No one of the patients in the first cohort of this hospital had consolidation.", {"Csld": "positive"}),
    ],
)
def test_scope_boundaries(mine_text, text, expected):
    assert states(mine_text(text)) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Possible crazy-paving pattern in the left lung.", {"CrPa": "uncertain"}),
        ("Findings may represent consolidation.", {"Csld": "uncertain"}),
        ("GGO with or without consolidation.", {"GGO": "positive", "Csld": "uncertain"}),
        ("Air bronchogram cannot be excluded.", {"AirBr": "uncertain"}),
        ("Suspected COVID-19 pneumonia.", {"covid": "uncertain"}),
    ],
)
def test_uncertainty(mine_text, text, expected):
    assert states(mine_text(text)) == expected


def test_pseudo_negation_is_not_negation(mine_text):
    assert states(mine_text("No change in the ground glass opacity after treatment.")) == {"GGO": "positive"}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("The ground glass opacities were completely absorbed.", {"GGO": "negative"}),
        ("Complete resolution of consolidation on day 20.", {"Csld": "negative"}),
        ("Slightly absorbed ground-glass opacities on day 7.", {"GGO": "positive"}),
        ("Consolidation partially absorbed.", {"Csld": "positive"}),
    ],
)
def test_resolution_language(mine_text, text, expected):
    assert states(mine_text(text)) == expected


def test_partial_resolution_is_recorded_in_the_rule(mine_text):
    record = mine_text("Consolidation partially absorbed.")
    assert "resolution.partial" in record["lesions"]["Csld"]["evidence"][0]["rule"]


def test_negation_cue_is_named_in_the_evidence(mine_text):
    evidence = mine_text("There was no consolidation.")["lesions"]["Csld"]["evidence"][0]
    assert evidence["state"] == "negative" and "negation.pre:no" in evidence["rule"]


def test_aggregation_prefers_positive(mine_text):
    record = mine_text("No consolidation in the right lung; consolidation in the left lower lobe.")
    assert record["lesions"]["Csld"]["state"] == "positive"
    assert {e["state"] for e in record["lesions"]["Csld"]["evidence"]} == {"positive", "negative"}
    assert record["confidence"] < 0.9  # conflicting mentions lower the confidence
