from __future__ import annotations

from validators.names import NameMatch, compare_person, fold, name_in_text, names_match


def test_fold():
    assert fold("Lefèvre-d’Aubigné") == "LEFEVRE D AUBIGNE"
    assert fold("  Zoë  Œuvrard ") == "ZOE OEUVRARD"


def test_names_match_tolerates_accents_hyphens_order_and_compounds():
    assert names_match("MAELYS GAELLE MARIE", "Maëlys")
    assert names_match("Jean-Pierre", "JEAN PIERRE")
    assert names_match("JEANPIERRE", "Jean Pierre")
    assert names_match("DUPONTEL", "Dupontal")  # one OCR slip on a long token
    assert not names_match("DUPONT", "DURANT")
    assert not names_match("LI", "LO")
    assert not names_match("", "X")


def test_compare_person():
    assert compare_person("Martin", "Maëlys", "MARTIN", "MAELYS GAELLE").result is NameMatch.MATCH
    assert compare_person("MAELYS", "MARTIN", "Martin", "Maëlys").result is NameMatch.INVERTED
    assert compare_person("MARTIN", "CLARA", "Martin", "Maëlys").result is (
        NameMatch.FIRST_NAME_DIFFERS
    )
    assert compare_person("DURAND", "MAELYS", "Martin", "Maëlys").result is (
        NameMatch.LAST_NAME_DIFFERS
    )
    assert compare_person("DURAND", "CLARA", "Martin", "Maëlys").result is NameMatch.MISMATCH
    assert compare_person(None, None, "Martin", "Maëlys").result is NameMatch.UNKNOWN


def test_name_in_text():
    text = "Attestation délivrée à Mme Maëlys MARTIN, née le 13/07/1990"
    assert name_in_text("Martin", text)
    assert name_in_text("MAELYS MARTIN", text)
    assert not name_in_text("Durand", text)
