"""Captions split into panel parts; each record reads the part of its own panel."""

import pytest

from ctlabel.mine.panels import expand_panels, panel_ranges
from ctlabel.mine.table import panel_from_name

from conftest import states

CAPTION = (
    "Figure 1. Transverse chest CT from a 39 year-old man, showing ground-glass opacities (a and b) on day 1, "
    "and consolidation (c-e) on day 5, and air bronchogram (F) on day 7."
)


@pytest.mark.parametrize(
    "marker, panels",
    [
        ("A", {"A"}),
        ("a and b", {"A", "B"}),
        ("A-C", {"A", "B", "C"}),
        ("D, E and F", {"D", "E", "F"}),
        ("c–e", {"C", "D", "E"}),
    ],
)
def test_expand_panels(marker, panels):
    assert expand_panels(marker) == panels


@pytest.mark.parametrize(
    "panel, expected",
    [("A", {"GGO"}), ("B", {"GGO"}), ("D", {"Csld"}), ("F", {"AirBr"}), (None, {"GGO", "Csld", "AirBr"})],
)
def test_trailing_markers(mine_text, panel, expected):
    assert set(states(mine_text(CAPTION, panel=panel))) == expected


def test_leading_markers_carry_to_the_next_marker(mine_text):
    caption = "Figure 2. CT findings in 4 patients. (A) Patchy GGO in the left lower lung. (B) Consolidation with air bronchogram. C. Crazy-paving pattern."
    assert set(states(mine_text(caption, panel="A"))) == {"GGO"}
    assert set(states(mine_text(caption, panel="B"))) == {"Csld", "AirBr"}
    assert set(states(mine_text(caption, panel="C"))) == {"CrPa"}


def test_lowercase_leading_letters(mine_text):
    caption = "Fig2. CT of a patient. a Chest CT showed ground glass opacity. b Images showed consolidation."
    assert set(states(mine_text(caption, panel="B"))) == {"Csld"}


def test_unnamed_panel_reads_the_whole_caption(mine_text):
    assert set(states(mine_text(CAPTION, panel="H"))) == {"GGO", "Csld", "AirBr"}


def test_left_and_right_words_are_shared_text():
    caption = "Axial (left panel) and coronal view (right panel) of ground glass opacity."
    assert panel_ranges(caption, "A") is None


def test_shared_text_applies_to_every_panel(mine_text):
    caption = "CT of COVID-19 patients. (A) Ground glass opacity. (B) Consolidation."
    assert states(mine_text(caption, panel="B")) == {"Csld": "positive", "covid": "positive"}


@pytest.mark.parametrize(
    "name, panel", [("2020.03.04-p27-108%3.png", "D"), ("x%0.png", "A"), ("plain.png", None), ("a-p1-21%12", "M")]
)
def test_panel_from_covid_ct_file_name(name, panel):
    assert panel_from_name(name) == panel
