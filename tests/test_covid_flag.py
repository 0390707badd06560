"""The COVID-19 flag: names of the disease, other pathogens, controls, mixed figures, negation."""

import pytest


@pytest.mark.parametrize(
    "text, state",
    [
        ("Chest CT of a patient with COVID-19 pneumonia.", "positive"),
        ("Patients infected with 2019-nCoV on admission.", "positive"),
        ("A 45-year-old man with confirmed SARS-CoV-2 infection.", "positive"),
        ("CT of a severe NCP patient.", "positive"),
        ("Novel coronavirus pneumonia in a 60-year-old woman.", "positive"),
        ("CT of a patient with influenza A pneumonia.", "negative"),
        ("Typical SARS pneumonia in 2003.", "negative"),
        ("MERS-CoV infection with consolidation.", "negative"),
        ("CT images of the control group.", "negative"),
        ("Healthy volunteers without lung lesions.", "negative"),
        ("The patient tested negative for COVID-19.", "negative"),
        ("Patients with SARS-CoV-2 and other pathogens.", "uncertain"),
        ("Suspected COVID-19; awaiting RT-PCR.", "uncertain"),
        ("Bilateral ground glass opacity.", "absent"),
        ("Isolated for being in contact with three people with a positive swab for SARS-CoV-2.", "uncertain"),
        ("Discharged after two negative swabs for SARS-CoV-2.", "negative"),
    ],
)
def test_covid_flag(mine_text, text, state):
    assert mine_text(text)["covid"]["state"] == state


def test_other_pathogen_in_another_sentence_does_not_mix(mine_text):
    text = "Pneumonia due to SARS-CoV-2 was confirmed. Influenza test was negative."
    assert mine_text(text)["covid"]["state"] == "positive"


def test_mixed_figure_lists_both_sides_as_evidence(mine_text):
    evidence = mine_text("CT of COVID-19 and influenza pneumonia")["covid"]["evidence"]
    assert {e["text"] for e in evidence} == {"COVID-19", "influenza"}
    assert all("covid.mixed" in e["rule"] for e in evidence)
