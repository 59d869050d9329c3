"""Required pieces from the student's profile (domain.md §1), read from pieces.toml."""

from __future__ import annotations

import datetime as dt

import pytest

from intake.catalogue import Catalogue, default_catalogue, profile_flags

DAY = dt.date(2026, 9, 1)


def required(record, day=DAY, catalogue=None):
    cat = catalogue or default_catalogue()
    return {r.kind: r.required for r in cat.requirements(record, day)}


def test_first_registration_adult_under_25():
    got = required({"birth_date": dt.date(2007, 3, 14), "first_registration": True})
    assert got == {
        "identity": True,
        "photo": True,
        "jdc": True,
        "bac": True,
        "diploma": True,
        "parental_consent": False,
        "apprenticeship_contract": False,
        "cvec": True,
    }


def test_minor_on_the_registration_day_needs_parental_consent():
    # 18 the day after registration: still a minor that day
    assert required({"birth_date": dt.date(2008, 9, 2)})["parental_consent"] is True
    assert required({"birth_date": dt.date(2008, 9, 1)})["parental_consent"] is False


def test_jdc_only_under_25_and_only_for_first_registration():
    assert required({"birth_date": dt.date(2001, 9, 2)})["jdc"] is True  # 24
    assert required({"birth_date": dt.date(2001, 9, 1)})["jdc"] is False  # 25 that day
    assert (
        required({"birth_date": dt.date(2006, 1, 1), "first_registration": False})["jdc"] is False
    )


def test_jdc_foreign_student_is_configurable():
    foreign = {"birth_date": dt.date(2006, 1, 1), "french_national": False}
    assert required(foreign)["jdc"] is False
    text = _toml().replace("jdc_exempt_foreign = true", "jdc_exempt_foreign = false")
    assert required(foreign, catalogue=Catalogue.from_toml(text))["jdc"] is True
    assert required({"birth_date": dt.date(2006, 1, 1), "french_national": None})["jdc"] is True


def test_reregistration_apprentice():
    got = required(
        {"birth_date": dt.date(2003, 1, 1), "first_registration": False, "apprentice": True}
    )
    assert {k for k, v in got.items() if v} == {"diploma", "apprenticeship_contract", "cvec"}


def test_formation_continue_pays_no_cvec():
    assert (
        required({"birth_date": dt.date(1990, 1, 1), "formation_continue": True})["cvec"] is False
    )


def test_prrel_and_rse_are_listed_only_when_requested_and_never_block():
    cat = default_catalogue()
    plain = cat.requirements({"birth_date": dt.date(2006, 1, 1)}, DAY)
    assert not {"prrel_beneficiary", "prrel_tutor", "rse_proof"} & {r.kind for r in plain}
    asked = cat.requirements(
        {"birth_date": dt.date(2006, 1, 1), "requests_prrel_tutor": True, "requests_rse": True}, DAY
    )
    extra = {r.kind: r for r in asked if r.spec.group != "enrolment"}
    assert set(extra) == {"prrel_tutor", "rse_proof"}
    assert not any(cat.groups[r.spec.group].blocking for r in extra.values())


def test_unknown_birth_date_sets_no_age_flag():
    flags = profile_flags({"birth_date": None}, DAY)
    assert flags["minor"] is False
    assert flags["under_25"] is False


def test_reasons_per_kind_and_appended_contact():
    cat = default_catalogue()
    cvec = [r.code for r in cat.reasons_for("cvec")]
    assert cvec[:4] == ["ine.provisional", "cvec.year", "cvec.number", "cvec.inverted_name"]
    assert "gen.illegible" in cvec and "photo.framing" not in cvec
    assert "cvec.contact" not in cvec  # appended to every CVEC refusal instead
    assert [r.code for r in cat.appended_for("cvec")] == ["cvec.contact"]
    assert cat.appended_for("photo") == []
    bg = cat.reason("photo.background")
    assert "fond blanc" in bg.text("university")
    assert "fond blanc est interdit" in bg.text("ants")


def test_every_piece_kind_exists_and_every_message_uses_the_typographic_apostrophe():
    from validators.base import Kind

    cat = default_catalogue()
    assert {p.kind for p in cat.pieces} == {k.value for k in Kind}
    for text in [p.help for p in cat.pieces] + [r.message for r in cat.reasons]:
        assert "'" not in text, text


def test_student_visible_warnings():
    cat = default_catalogue()
    assert cat.student_sees_warning("photo.ratio")
    assert not cat.student_sees_warning("ine.rnie_key")
    assert not cat.student_sees_warning("file.duplicate")


@pytest.mark.parametrize(
    ("old", "new", "error"),
    [
        ('when = ["minor"]', 'when = ["majeur"]', "unknown flag"),
        ('group = "rse"', 'group = "autre"', "unknown group"),
        ('kind = "rse_proof"', 'kind = "cvec"', "listed twice"),
        ('code = "rse.proof"', 'code = "prrel.form"', "listed twice"),
    ],
)
def test_catalogue_errors_are_caught_at_load(old, new, error):
    with pytest.raises(ValueError, match=error):
        Catalogue.from_toml(_toml().replace(old, new, 1))


def _toml() -> str:
    from importlib import resources

    return resources.files("intake").joinpath("data/pieces.toml").read_text(encoding="utf-8")
