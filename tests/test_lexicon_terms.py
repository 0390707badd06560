"""Synonyms, spelling variants, abbreviations and translations from the lexicon."""

import pytest

from ctlabel.errors import CtlabelError
from ctlabel.lexicon import load_lexicon
from ctlabel.mine import Miner
from ctlabel.schema import empty_record

from conftest import states


@pytest.mark.parametrize(
    "text, code",
    [
        ("ground-glass opacities", "GGO"),
        ("ground glass opacification", "GGO"),
        ("multiple GGOs", "GGO"),
        ("patchy ground grass opacity", "GGO"),
        ("scattered shadows of frosted glass", "GGO"),
        ("multiple patchy shadows in both lungs", "GGO"),
        ("consolidations", "Csld"),
        ("condensation shadow in the lower lobe", "Csld"),
        ("crazy paving appearance", "CrPa"),
        ("air-bronchogram", "AirBr"),
        ("bronchoinflation sign", "AirBr"),
        ("thickened interlobular septa", "InSepThi"),
        ("inter- and intra-lobular septal thickening", "InSepThi"),
    ],
)
def test_term_variants(mine_text, text, code):
    assert states(mine_text(text)).get(code) == "positive"


def test_ambiguous_terms_are_uncertain(mine_text):
    found = states(mine_text("patchy high-density shadow and paving stone sign"))
    assert found == {"Csld": "uncertain", "CrPa": "uncertain"}


def test_glued_words_from_pdf_extraction(mine_text):
    text = "ChestHRCTimages,showingmultiplepatchygroundglassopacitiesinbilateralsubpleuralareas"
    evidence = mine_text(text)["lesions"]["GGO"]["evidence"]
    assert evidence and evidence[0]["text"].lower() == "groundglass"


def test_a_new_term_in_a_custom_lexicon_is_found(tmp_path):
    from ctlabel.lexicon import DEFAULT_LEXICON

    custom = tmp_path / "lexicon.toml"
    custom.write_text(DEFAULT_LEXICON.read_text().replace('"ground glass",', '"ground glass", "milky way sign",', 1))
    record = empty_record("x")
    record["texts"] = [{"source": "caption", "text": "A milky way sign in the left lung."}]
    mined = Miner(str(custom)).mine_one(record)
    assert mined["lesions"]["GGO"]["state"] == "positive"
    assert mined["provenance"]["lexicon"] != load_lexicon().hash


def test_a_broken_lexicon_is_one_clear_error(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[concepts.GGO]\nterms = ['ground glass']\n")
    with pytest.raises(CtlabelError, match="lacks the concept"):
        load_lexicon(bad)
    bad.write_text("[concepts.GGO\n")
    with pytest.raises(CtlabelError, match="not a valid TOML"):
        load_lexicon(bad)


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ("[context.negation]\npre = ['no']\n", "unknown key.*negation"),
        ("[[context.cues]]\nname = 'n'\nstate = 'gone'\ndirection = 'forward'\nterms = ['no']\n", "state = 'gone'"),
        ("[[context.cues]]\nname = 'n'\nstate = 'negative'\ndirection = 'sideways'\nterms = ['no']\n", "direction"),
        (
            "[[context.cues]]\nname = 'n'\nstate = 'negative'\ndirection = 'forward'\nscope = 'far'\nterms = ['no']\n",
            "scope",
        ),
        (
            "[[context.cues]]\nname = 'n'\nstate = 'negative'\ndirection = 'forward'\nreach = 3\nterms = ['no']\n",
            "unknown key.*reach",
        ),
        (
            "[[context.cues]]\nname = 'n'\nstate = 'negative'\ndirection = 'forward'\nterms = ['no']\n" * 2,
            "share a name",
        ),
    ],
)
def test_cue_rules_are_checked_on_load(tmp_path, context, message):
    concepts = "".join(
        f"[concepts.{c}]\nterms = ['{c.lower()}']\n" for c in ("GGO", "Csld", "CrPa", "AirBr", "InSepThi", "covid")
    )
    path = tmp_path / "lexicon.toml"
    path.write_text("version = 2\n" + concepts + context)
    with pytest.raises(CtlabelError, match=message):
        load_lexicon(path)


def test_a_lexicon_built_in_memory_is_the_one_that_runs():
    import dataclasses

    from ctlabel.mine import Miner
    from ctlabel.schema import empty_record

    lexicon = load_lexicon()
    rules = tuple(dataclasses.replace(r, state="uncertain") if r.name == "negation.pre" else r for r in lexicon.cues)
    changed = dataclasses.replace(lexicon, cues=rules, hash="in-memory-test")
    record = {**empty_record("x"), "texts": [{"source": "caption", "text": "No consolidation in the right lung."}]}
    assert Miner(changed).mine_one(record)["lesions"]["Csld"]["state"] == "uncertain"
    assert (
        Miner(lexicon).mine_one({**record, "lesions": dict(record["lesions"])})["lesions"]["Csld"]["state"]
        == "negative"
    )


def test_a_term_in_two_concepts_is_refused(tmp_path):
    from ctlabel.lexicon import DEFAULT_LEXICON

    custom = tmp_path / "lexicon.toml"
    # "crazy paving" also under consolidation: one mention could not carry two codes
    custom.write_text(DEFAULT_LEXICON.read_text().replace('"consolidation",', '"consolidation", "Crazy-Paving",', 1))
    with pytest.raises(CtlabelError, match=r"crazy.paving.*concepts\.CrPa.*concepts\.Csld|Csld.*CrPa"):
        load_lexicon(custom)


def test_the_pipeline_writes_mentions_to_doc_spans():
    from ctlabel.mine.nlp import CUES, MENTIONS, build_nlp

    doc = build_nlp(load_lexicon())("Without consolidation. A possible crazy-paving pattern. Patchy GGO in both lungs.")
    found = {(s.label_, s.text, s._.ctlabel_state, s._.ctlabel_hedged) for s in doc.spans[MENTIONS]}
    assert ("Csld", "consolidation", "negative", False) in found
    assert any(code == "GGO" and state == "positive" for code, _, state, _ in found)
    assert any(code == "CrPa" and state == "uncertain" for code, _, state, _ in found)
    assert any(cue.text.lower() == "without" for cue in doc.spans[CUES])
    rules = {s.label_: s._.ctlabel_rule for s in doc.spans[MENTIONS]}
    assert rules["Csld"].startswith("Csld:consolidation | negation")
