"""The identity checker: unit tests on text-layer documents and a scripted MRZ scan, and
a few runs of the real pipeline (Tesseract + OpenCV) on generated cards."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from PIL import Image, ImageDraw

from ocr.engine import OcrText
from validators.base import Context, Kind, StaticDocument, StaticPage, Student
from validators.identity import check
from validators.mrz import Layout, check_digit
from validators.verdict import Level, Outcome, Result

DAY = dt.date(2026, 9, 1)
CNIE = (
    "IDFRAX4RTBPFW46<<<<<<<<<<<<<<<\n9007138F3002119FRA<<<<<<<<<<<6\nMARTIN<<MAELYS<GAELLE<MARIE<<<"
)
OLD = "IDFRABERTHIER<<<<<<<<<<<<<<<<<<<<<<<\n9409923102854CORINNE<<<<<<<6512068F4"
PASSPORT = (
    "P<FRAULYSSE<<CHRISTOPHE<<<<<<<<<<<<<<<<<<<<<\n08CD503380FRA6004103M1806058<<<<<<<<<<<<<<06"
)
UTO = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"
AUT = (
    "IDAUT10000999<6<<<<<<<<<<<<<<<\n7109094F1112315AUT<<<<<<<<<<<4\nMUSTERFRAU<<ISOLDE<<<<<<<<<<<<"
)
MARTIN = {"last_name": "Martin", "first_name": "Maëlys", "birth_date": "1990-07-13"}


def ctx(student=None, ocr=None, day=DAY) -> Context:
    return Context(
        registration_date=day,
        academic_year="2026-2027",
        student=Student.from_mapping(student) if student else None,
        ocr=ocr,
    )


def card(mrz: str, *, mrz_page: int = 1) -> StaticDocument:
    pages = ["RÉPUBLIQUE FRANÇAISE\nCARTE NATIONALE D’IDENTITÉ", "ADRESSE 12 RUE DES LILAS"]
    pages[mrz_page] += "\n" + mrz
    return StaticDocument.of_text(Kind.IDENTITY, *pages)


def codes(verdict, result=None) -> dict[str, tuple[str, str]]:
    return {
        str(f.code): (str(f.result), str(f.level))
        for f in verdict.findings
        if result is None or f.result == result
    }


def cnie(birth: dt.date, names: str = "MARTIN<<MAELYS<GAELLE<MARIE", expiry: str = "300211"):
    line1 = "IDFRAX4RTBPFW46<<<<<<<<<<<<<<<"
    b = birth.strftime("%y%m%d")
    line2 = f"{b}{check_digit(b)}F{expiry}{check_digit(expiry)}FRA" + "<" * 11
    line2 += check_digit(line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29])
    return "\n".join([line1, line2, (names + "<" * 30)[:30]])


# ---------------------------------------------------------------------------- text layer


def test_cnie_matching_the_record_is_accepted_with_its_fields():
    v = check(card(CNIE), ctx(MARTIN))
    assert v.outcome is Outcome.ACCEPTED, v.to_dict()
    f = v.fields
    from validators.identity import FIELD_KEYS

    assert set(FIELD_KEYS) <= set(f)
    assert f["document_type"] == "cni_td1" and f["document_number"] == "X4RTBPFW4"
    assert (f["last_name"], f["first_names"]) == ("MARTIN", "MAELYS GAELLE MARIE")
    assert f["birth_date"] == dt.date(1990, 7, 13) and f["expiry_date"] == dt.date(2030, 2, 11)
    assert f["sex"] == "F" and f["mrz_valid"] is True
    assert f["age_on_registration"] == 36
    assert f["needs_parental_consent"] is False and f["needs_jdc"] is False
    passed = codes(v, Result.PASS)
    for code in (
        "mrz.check_digits",
        "identity.name_mismatch",
        "identity.birth_date",
        "identity.expired",
        "identity.sides",
        "identity.not_accepted",
        "mrz.country",
    ):
        assert code in passed, code


def test_minor_on_registration_day_needs_parental_consent_and_jdc():
    birth = dt.date(2009, 9, 2)  # 17 on 2026-09-01
    record = {**MARTIN, "birth_date": birth.isoformat()}
    v = check(card(cnie(birth)), ctx(record))
    assert v.outcome is Outcome.ACCEPTED, v.to_dict()
    assert v.fields["age_on_registration"] == 16
    assert v.fields["needs_parental_consent"] is True and v.fields["needs_jdc"] is True
    age = next(f for f in v.findings if str(f.code) == "identity.age")
    assert "autorisation parentale" in age.message and "JDC" in age.message
    eighteen = check(card(cnie(dt.date(2008, 9, 1))), ctx({**MARTIN, "birth_date": "2008-09-01"}))
    assert eighteen.fields["needs_parental_consent"] is False
    assert eighteen.fields["needs_jdc"] is True


def test_without_a_record_birth_date_the_mrz_gives_the_age():
    v = check(card(CNIE), ctx({"last_name": "Martin", "first_name": "Maelys"}))
    assert v.fields["age_on_registration"] == 36
    age = next(f for f in v.findings if str(f.code) == "identity.age")
    assert age.detail["from_mrz"] is True


def test_inverted_names_are_their_own_finding():
    v = check(card(CNIE), ctx({**MARTIN, "last_name": "Maëlys", "first_name": "Martin"}))
    assert codes(v)["identity.inverted_name"] == ("fail", "warning")
    assert v.outcome is Outcome.REVIEW


def test_someone_else_is_an_error_when_every_digit_verified():
    v = check(
        card(OLD, mrz_page=0),
        ctx({"last_name": "Dupont", "first_name": "Corinne", "birth_date": "1965-12-06"}),
    )
    assert codes(v)["identity.name_mismatch"] == ("fail", "error")
    assert v.outcome is Outcome.REJECTED
    other = check(card(CNIE), ctx({**MARTIN, "birth_date": "1991-07-13"}))
    assert codes(other)["identity.birth_date"] == ("fail", "error")


def test_accents_hyphens_and_compound_names_are_tolerated():
    names = "LEFEVRE<DUPONT<<JEAN<PIERRE<<<"
    v = check(
        card(cnie(dt.date(2001, 5, 4), names)),
        ctx(
            {"last_name": "Lefèvre-Dupont", "first_name": "Jean-Pierre", "birth_date": "2001-05-04"}
        ),
    )
    assert codes(v)["identity.name_mismatch"][0] == "pass", v.to_dict()


def test_a_slip_on_unprotected_names_goes_to_a_person():
    v = check(card(cnie(dt.date(1990, 7, 13), "MARTIM<<MAELYS")), ctx(MARTIN))
    assert codes(v)["identity.name_mismatch"] == ("inconclusive", "warning")
    assert v.outcome is Outcome.REVIEW


def test_doubtful_reading_is_never_an_error():
    bad = AUT.replace("AUT<<<<<<<<<<<4", "AUT<<<<<<<<<<<6")
    v = check(
        card(bad), ctx({"last_name": "Dupont", "first_name": "Jean", "birth_date": "1980-01-01"})
    )
    assert codes(v)["mrz.check_digits"] == ("inconclusive", "warning")
    assert not any(f.blocks for f in v.findings), v.to_dict()
    assert v.outcome is Outcome.REVIEW and v.fields["mrz_valid"] is False


def test_expired_passport_is_a_warning_not_an_error():
    v = check(
        StaticDocument.of_text(Kind.IDENTITY, PASSPORT),
        ctx({"last_name": "Ulysse", "first_name": "Christophe", "birth_date": "1960-04-10"}),
    )
    assert codes(v)["identity.expired"] == ("fail", "warning")
    assert codes(v)["identity.sides"][0] == "pass"  # a passport page is enough
    assert v.outcome is Outcome.REVIEW
    assert "18/05/2018" not in v.findings[0].message


def test_utopia_is_flagged_as_fictitious():
    v = check(StaticDocument.of_text(Kind.IDENTITY, UTO), ctx())
    found = next(f for f in v.findings if str(f.code) == "mrz.country")
    assert found.result is Result.FAIL and found.level is Level.WARNING
    assert found.detail["country"] == "UTO" and found.detail["fictitious"] is True
    assert "« UTO »" in found.message
    assert v.outcome is Outcome.REVIEW


def test_foreign_id_card_goes_to_a_person():
    v = check(card(AUT), ctx())
    assert codes(v)["identity.not_accepted"] == ("inconclusive", "warning")
    assert v.fields["document_type"] == "id_card"


def test_old_card_expiry_from_the_issue_month():
    # issued 1994-09 to an adult: 10 years, long expired
    v = check(
        card(OLD, mrz_page=0),
        ctx({"last_name": "Berthier", "first_name": "Corinne", "birth_date": "1965-12-06"}),
    )
    assert codes(v)["identity.expired"] == ("fail", "warning")
    assert v.fields["expiry_rule"] == "adult_10"
    assert v.fields["expiry_date"] == dt.date(2004, 8, 31)


def _old_card(birth: dt.date, issue: str) -> str:
    number = f"{issue}80A12345"
    line1 = "IDFRADURAND<<<<<<<<<<<<<<<<<<<<<<<<<"
    b = birth.strftime("%y%m%d")
    line2 = f"{number}{check_digit(number)}LEA<<<<<<<<<<<{b}{check_digit(b)}F"
    return line1 + "\n" + line2 + check_digit(line1 + line2)


@dataclass
class PageReader:
    """A fake OCR engine: read_page returns fixed text."""

    text: str
    name: str = "fake"
    calls: int = 0

    def read_page(self, image, *, lang="fra", psm=3):
        self.calls += 1
        return OcrText(self.text, 90.0)

    def read_field(self, image, *, lang="eng", psm=7):
        return OcrText("")


def test_old_card_ambiguous_expiry_is_settled_by_the_verso_date_or_left_to_a_person():
    birth = dt.date(1998, 6, 15)  # 18 in June 2016: minor (10 y) or adult (15 y)
    mrz = _old_card(birth, "1606")
    record = {"last_name": "Durand", "first_name": "Léa", "birth_date": birth.isoformat()}
    day = dt.date(2027, 9, 1)  # after 10 years, before 15
    blank = Image.new("RGB", (200, 120), "white")
    doc = StaticDocument(
        Kind.IDENTITY, pages=[StaticPage(0, mrz, blank), StaticPage(1, "X", blank)]
    )
    v = check(doc, ctx(record, day=day))
    assert codes(v)["identity.expired"] == ("inconclusive", "warning")
    assert (
        "18e anniversaire"
        in next(f for f in v.findings if str(f.code) == "identity.expired").detail["reason"]
    )
    reader = PageReader("Carte valable jusqu’au 19.06.2026\ndélivrée le 20.06.2016")
    v = check(doc, ctx(record, ocr=reader, day=day))
    assert reader.calls == 1
    assert codes(v)["identity.expired"] == ("pass", "info")
    assert v.fields["expiry_rule"] == "adult_15" and v.fields["expiry_basis"] == "issue_date"


# ---------------------------------------------------------------------- scripted scans


def _scan(lines=None, *, page=0, unconfirmed=(), candidates=(), pages_with_band=(0,)):
    from ocr.mrz import MrzScan

    return MrzScan(
        lines=list(lines) if lines else None,
        page=page if lines else None,
        candidates=[list(c) for c in candidates],
        unconfirmed=list(unconfirmed),
        pages_with_band=list(pages_with_band),
        bands_found=1,
        attempts=1,
    )


@pytest.fixture
def scripted(monkeypatch):
    def use(scan):
        import ocr.mrz

        monkeypatch.setattr(ocr.mrz, "read_mrz", lambda images, engine, accept, **kw: scan)

    return use


def _card_image(color=(230, 230, 240), size=(1011, 638)) -> Image.Image:
    im = Image.new("RGB", size, color)
    d = ImageDraw.Draw(im)
    for y in range(40, size[1] - 40, 40):
        d.text((40, y), "TEXTE DE LA CARTE " * 3, fill=(20, 20, 20))
    return im


def test_one_side_of_a_card_alone_is_an_error(scripted):
    scripted(_scan(CNIE.splitlines()))
    v = check(StaticDocument.of_images(Kind.IDENTITY, _card_image()), ctx(MARTIN, ocr=object()))
    assert codes(v)["identity.sides"] == ("fail", "error")
    assert v.outcome is Outcome.REJECTED


def test_both_sides_pass_and_a_blank_other_page_fails(scripted):
    scripted(_scan(CNIE.splitlines(), page=1, pages_with_band=(1,)))
    good = StaticDocument.of_images(Kind.IDENTITY, _card_image(), _card_image())
    assert codes(check(good, ctx(MARTIN, ocr=object())))["identity.sides"][0] == "pass"
    blank = StaticDocument.of_images(
        Kind.IDENTITY, Image.new("RGB", (1011, 638), "white"), _card_image()
    )
    assert codes(check(blank, ctx(MARTIN, ocr=object())))["identity.sides"] == ("fail", "error")


def test_a_page_holding_maybe_both_sides_goes_to_a_person(scripted):
    scripted(_scan(CNIE.splitlines()))
    a4 = _card_image(size=(1240, 1754))
    v = check(StaticDocument.of_images(Kind.IDENTITY, a4), ctx(MARTIN, ocr=object()))
    assert codes(v)["identity.sides"] == ("inconclusive", "warning")


def test_no_mrz_found_is_review(scripted):
    scripted(_scan())
    v = check(StaticDocument.of_images(Kind.IDENTITY, _card_image()), ctx(MARTIN, ocr=object()))
    assert codes(v) == {"mrz.not_found": ("inconclusive", "warning")}
    assert v.outcome is Outcome.REVIEW
    assert v.fields["age_on_registration"] == 36  # from the record
    assert v.fields["document_number"] is None and v.fields["mrz_valid"] is False


def test_an_unconfirmed_repair_is_review_with_the_values_shown(scripted):
    scripted(_scan(unconfirmed=[CNIE]))
    v = check(
        StaticDocument.of_images(Kind.IDENTITY, _card_image(), _card_image()),
        ctx(MARTIN, ocr=object()),
    )
    found = next(f for f in v.findings if str(f.code) == "mrz.check_digits")
    assert found.result is Result.INCONCLUSIVE and "non confirmée" in found.message
    assert v.fields["document_number"] == "X4RTBPFW4" and v.fields["mrz_valid"] is False
    assert v.outcome is Outcome.REVIEW
    assert not any(f.blocks for f in v.findings)


def _pending(doubtful=((0, 8),)):
    """A cell-by-cell CNIe reading that verifies but rests on a doubtful cell."""
    from validators.mrz import CellResolution

    lines = tuple(CNIE.splitlines())
    return CellResolution(
        Layout.TD1, lines, lines, sure=False, doubtful=doubtful, alternatives=(lines,)
    )


@dataclass
class OtherSide:
    """A fake OCR engine whose sparse read of a page gives fixed text."""

    text: str
    name: str = "fake"
    calls: int = 0

    def read_page(self, image, *, lang="fra", psm=3):
        return OcrText("")

    def read_field(self, image, *, lang="eng", psm=7):
        self.calls += 1
        return OcrText(self.text, 90.0)


def _pending_scan(result):
    scan = _scan(pages_with_band=(1,))
    scan.pending = [(result, 1, 0)]
    return scan


def test_a_doubtful_number_confirmed_by_the_other_side_is_trusted(scripted):
    scripted(_pending_scan(_pending()))
    recto = OtherSide("CARTE NATIONALE D’IDENTITÉ\nN° DU DOCUMENT X4RTBPFW4\nMARTIN")
    doc = StaticDocument.of_images(Kind.IDENTITY, _card_image(), _card_image())
    v = check(doc, ctx(MARTIN, ocr=recto))
    assert recto.calls == 1
    found = next(f for f in v.findings if str(f.code) == "mrz.check_digits")
    assert found.result is Result.PASS and found.detail["confirmed_by"]
    assert v.fields["document_number"] == "X4RTBPFW4" and v.fields["mrz_valid"] is True
    assert v.fields["mrz_page"] == 2 and v.outcome is Outcome.ACCEPTED


def test_a_doubtful_number_the_other_side_does_not_confirm_is_review(scripted):
    scripted(_pending_scan(_pending()))
    doc = StaticDocument.of_images(Kind.IDENTITY, _card_image(), _card_image())
    v = check(doc, ctx(MARTIN, ocr=OtherSide("N° DU DOCUMENT X4RTBPFW7")))
    found = next(f for f in v.findings if str(f.code) == "mrz.check_digits")
    assert found.result is Result.INCONCLUSIVE and "autre face" in found.message
    assert v.fields["document_number"] == "X4RTBPFW4" and v.fields["mrz_valid"] is False
    assert v.outcome is Outcome.REVIEW and not any(f.blocks for f in v.findings)
    # doubts outside the number: the other side is not even read
    engine = OtherSide("N° DU DOCUMENT X4RTBPFW4")
    scripted(_pending_scan(_pending(doubtful=((0, 1),))))
    v = check(doc, ctx(MARTIN, ocr=engine))
    assert engine.calls == 0 and v.outcome is Outcome.REVIEW


def test_a_td1_reading_not_made_cell_by_cell_needs_the_other_side(scripted):
    scan = _scan(CNIE.splitlines(), page=1, pages_with_band=(1,))
    scan.method = "compact-grey"  # Tesseract's text, no cells: a slip may verify
    scripted(scan)
    doc = StaticDocument.of_images(Kind.IDENTITY, _card_image(), _card_image())
    recto = "NOM\nMARTIN\nPrénoms\nMaëlys, Gaëlle, Marie\nN° DU DOCUMENT X4RTBPFW4"
    v = check(doc, ctx(MARTIN, ocr=OtherSide(recto)))
    assert v.fields["mrz_valid"] is True and v.outcome is Outcome.ACCEPTED
    v = check(doc, ctx(MARTIN, ocr=OtherSide(recto.replace("X4RTBPFW4", "X4RTBPEW4"))))
    assert v.fields["mrz_valid"] is False and v.outcome is Outcome.REVIEW
    assert v.fields["document_number"] == "X4RTBPFW4"


def test_no_ocr_engine_is_review():
    v = check(StaticDocument.of_images(Kind.IDENTITY, _card_image()), ctx(MARTIN))
    assert codes(v) == {"mrz.not_found": ("inconclusive", "warning")}


# --------------------------------------------------------------- the real pipeline


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    from samples.idcards import generate

    out = tmp_path_factory.mktemp("idcards")
    return out, generate(out, n=1, seed=3, conditions=("clean", "mild"))


@pytest.mark.ocr
@pytest.mark.slow
def test_generated_cards_read_right_through_tesseract(generated):
    from ocr.tesseract import TesseractEngine

    out, truths = generated
    engine = TesseractEngine(timeout_s=20)
    for truth in truths:
        names = [truth["files"][k] for k in ("recto", "verso", "page") if k in truth["files"]]
        images = [Image.open(out / name).convert("RGB") for name in names]
        v = check(
            StaticDocument.of_images(Kind.IDENTITY, *images), ctx(truth["student"], ocr=engine)
        )
        got = v.to_dict()["fields"]
        for key, expected in truth["expected"].items():
            if key == "expiry_date" and truth["kind"] == "cni_old":
                assert got["expiry_date"] <= expected <= got["expiry_latest"], truth["id"]
                continue
            assert got[key] == expected, (truth["id"], key, got)
        assert v.fields["mrz_valid"] is True, (truth["id"], v.to_dict())
        assert v.outcome is not Outcome.REJECTED, (truth["id"], v.to_dict())
