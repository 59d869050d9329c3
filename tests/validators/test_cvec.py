"""The CVEC checker (validators.cvec) on text-layer documents and through fake OCR
engines; the fakes and builders here are shared with test_documents.py."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from PIL import Image

from ocr.engine import OcrText, OcrWord
from validators import cvec
from validators.base import Context, Kind, StaticDocument, Student
from validators.identifiers import CvecCode, IneCode
from validators.verdict import Level, Outcome, Result

YEAR = "2024-2025"
DAY = dt.date(2024, 9, 12)


def ocr_text(lines: list[str], *, top: int = 100, step: int = 60, height: int = 30) -> OcrText:
    """An engine answer for ``lines``: words with boxes, one Tesseract line each."""
    words = []
    for n, line in enumerate(lines):
        x = 60
        for token in line.split():
            width = 18 * len(token)
            words.append(OcrWord(token, 95.0, (x, top + n * step, width, height), line=n + 1))
            x += width + 14
    return OcrText("\n".join(lines), 95.0, tuple(words), engine="fake")


@dataclass
class FakeEngine:
    """Answers ``read_page`` with fixed lines and ``read_field`` with fixed texts (one
    per call, in order; the last one repeats). Records the calls."""

    lines: list[str] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)
    timed_out: bool = False
    name: str = "fake"
    calls: list[tuple[str, tuple[int, int]]] = field(default_factory=list)

    def read_page(self, image: Image.Image, *, lang: str = "fra", psm: int = 3) -> OcrText:
        self.calls.append(("page", image.size))
        if self.timed_out:
            return OcrText("", None, timed_out=True, engine=self.name)
        return ocr_text(self.lines)

    def read_field(self, image: Image.Image, *, lang: str = "eng", psm: int = 7) -> OcrText:
        self.calls.append(("field", image.size))
        if not self.fields:
            return OcrText("", None, engine=self.name)
        text = self.fields.pop(0) if len(self.fields) > 1 else self.fields[0]
        return OcrText(text, 90.0, (), engine=self.name)


def student(**changes) -> Student:
    values = {
        "last_name": "Lefèvre",
        "first_name": "Maëlys",
        "birth_date": dt.date(2005, 3, 14),
        "ine": "0100008010J",
        "cvec_number": "AMI4K8O1TZ27",
        "academic_year": YEAR,
        "registration_date": DAY,
    }
    values.update(changes)
    return Student(**values)


def context(record: Student | None = None, engine=None, *, year: str = YEAR) -> Context:
    return Context(registration_date=DAY, academic_year=year, student=record, ocr=engine)


CVEC_LINES = [
    "Contribution de vie étudiante et de campus",
    "ATTESTATION D’ACQUITTEMENT DE LA CVEC",
    "Année universitaire 2024 / 2025",
    "Nom : LEFÈVRE",
    "Prénom(s) : Maëlys",
    "Né(e) le : 14/03/2005",
    "INE : 0100008010J",
    "N° d’attestation : AMI4 K8O1TZ 27 / LEFEV",
    "Le titulaire de cette attestation s’est acquitté de la contribution de vie",
    "étudiante et de campus pour l’année universitaire 2024-2025.",
    "Montant acquitté : 103 €.",
]


def text_doc(kind: Kind, lines: list[str]) -> StaticDocument:
    return StaticDocument.of_text(kind, "\n".join(lines))


def image_doc(kind: Kind, size: tuple[int, int] = (1240, 1754)) -> StaticDocument:
    return StaticDocument.of_images(kind, Image.new("RGB", size, "white"))


# -- born-digital attestations (text layer: exact) -------------------------------------------


def check(lines, record=None, **kw):
    return cvec.check(text_doc(Kind.CVEC, lines), context(record, **kw))


def codes(verdict, result=None):
    return [str(f.code) for f in verdict.findings if result is None or f.result is result]


def test_matching_attestation_is_accepted_with_its_fields():
    verdict = check(CVEC_LINES, student())
    assert verdict.outcome is Outcome.ACCEPTED, verdict.to_dict()
    assert dict(verdict.fields) == {
        "cvec_number": "AMI4K8O1TZ27",
        "academic_year": "2024-2025",
        "last_name": "LEFÈVRE",
        "first_name": "Maëlys",
        "birth_date": "2005-03-14",
        "ine": "0100008010J",
        "cvec_basis": "paid",
    }
    assert {"cvec.number", "cvec.year", "cvec.name", "cvec.ine", "cvec.suffix"} <= set(
        codes(verdict, Result.PASS)
    )


def test_wrong_year_is_an_error():
    lines = [line.replace("2024", "2023").replace("2025", "2024") for line in CVEC_LINES]
    verdict = check(lines, student())
    assert verdict.outcome is Outcome.REJECTED
    (year,) = [f for f in verdict.findings if f.code is CvecCode.YEAR]
    assert year.blocks and "2024-2025" in year.message and "2023-2024" in year.message


def test_year_comes_from_the_context_never_from_a_date():
    verdict = check(CVEC_LINES, student(), year="2025-2026")
    assert "cvec.year" in verdict.failed_codes()


def test_inverted_names_have_their_own_error():
    lines = [
        line.replace("Nom : LEFÈVRE", "Nom : MAËLYS").replace(
            "Prénom(s) : Maëlys", "Prénom(s) : Lefèvre"
        )
        for line in CVEC_LINES
    ]
    verdict = check(lines, student())
    assert verdict.outcome is Outcome.REJECTED
    (inverted,) = [f for f in verdict.findings if f.code is CvecCode.INVERTED_NAME]
    assert inverted.blocks and "inversé votre nom et prénom" in inverted.message
    assert "écrivez au service des inscriptions" in inverted.message  # cvec.contact
    assert "cvec.name" not in verdict.failed_codes()


def test_civility_row_gives_surname_and_first_name():
    lines = [line for line in CVEC_LINES if not line.startswith(("Nom", "Prénom"))]
    lines.insert(3, "Mme LEFÈVRE Maëlys")
    verdict = check(lines, student())
    assert verdict.outcome is Outcome.ACCEPTED, verdict.failed_codes()
    swapped = [line.replace("Mme LEFÈVRE Maëlys", "Mme MAËLYS Lefèvre") for line in lines]
    assert "cvec.inverted_name" in check(swapped, student()).failed_codes()


def test_other_person_is_an_error_on_a_text_layer():
    verdict = check(CVEC_LINES, student(last_name="Durand", first_name="Paul"))
    assert "cvec.name" in [str(f.code) for f in verdict.findings if f.blocks]


def test_typed_number_with_a_confusable_names_the_position():
    # the attestation (exact) has the letter O, the record the digit 0
    verdict = check(CVEC_LINES, student(cvec_number="AMI4 K801TZ 27"))
    (number,) = [f for f in verdict.findings if f.code is CvecCode.NUMBER]
    assert number.blocks
    assert "Vous avez saisi le chiffre 0 à la place de la lettre O (position 7)." in number.message
    # the attestation has 0, the record O
    verdict = check([line.replace("K8O1TZ", "K801TZ") for line in CVEC_LINES], student())
    (number,) = [f for f in verdict.findings if f.code is CvecCode.NUMBER]
    assert number.blocks
    assert "Vous avez saisi la lettre O à la place du chiffre 0 (position 7)." in number.message
    # any other difference: still an error, without a confusion sentence
    verdict = check(CVEC_LINES, student(cvec_number="AMI4K8O1TZ99"))
    (number,) = [f for f in verdict.findings if f.code is CvecCode.NUMBER]
    assert number.blocks and "Vous avez saisi" not in number.message


def test_ine_differs_from_the_record():
    verdict = check(CVEC_LINES, student(ine="010O008010J"))
    (ine,) = [f for f in verdict.findings if f.code is CvecCode.INE]
    assert ine.blocks
    assert "Vous avez saisi la lettre O à la place du chiffre 0 (position 4)." in ine.message


def test_provisional_ine_on_the_attestation_is_a_warning():
    lines = [line.replace("0100008010J", "1234D56789B") for line in CVEC_LINES]
    verdict = check(lines, student())
    assert verdict.outcome is Outcome.REVIEW
    assert "cvec.ine_provisional" in verdict.failed_codes()
    assert not any(f.blocks for f in verdict.findings)


def test_provisional_ine_everywhere_with_a_recent_bac_is_an_error():
    lines = [line.replace("0100008010J", "1234D56789B") for line in CVEC_LINES]
    verdict = check(lines, student(ine="1234D56789B", bac_after_1995=True))
    (prov,) = [f for f in verdict.findings if f.code is IneCode.PROVISIONAL]
    assert prov.blocks and "relevé de notes du baccalauréat" in prov.message
    verdict = check(lines, student(ine="1234D56789B", bac_after_1995=False))
    (prov,) = [f for f in verdict.findings if f.code is IneCode.PROVISIONAL]
    assert prov.level is Level.WARNING and not prov.blocks


def test_exempted_attestation_records_the_basis():
    lines = [
        line.replace("s’est acquitté de", "est exonéré de").replace(
            "Montant acquitté : 103 €.", "(motif : boursier)"
        )
        for line in CVEC_LINES
    ]
    verdict = check(lines, student())
    assert verdict.fields["cvec_basis"] == "exempt"
    assert verdict.outcome is Outcome.ACCEPTED


def test_suffix_must_start_the_surname():
    lines = [line.replace("/ LEFEV", "/ DUPON") for line in CVEC_LINES]
    verdict = check(lines, student())
    assert verdict.outcome is Outcome.REVIEW
    assert "cvec.suffix" in verdict.failed_codes()


def test_not_a_cvec_attestation():
    verdict = check(["Relevé de notes du baccalauréat", "Nom : LEFÈVRE", "x" * 60], student())
    assert verdict.outcome is Outcome.REJECTED
    assert verdict.codes == ["cvec.wrong_document"]


def test_without_a_record_only_the_document_is_judged():
    verdict = check(CVEC_LINES, None)
    assert verdict.outcome is Outcome.ACCEPTED
    assert verdict.fields["ine"] == "0100008010J"


def test_unknown_number_format_is_a_warning_not_an_error():
    lines = [line.replace("AMI4 K8O1TZ 27", "AMI4 K8O1TZ 27X") for line in CVEC_LINES]
    verdict = check(lines, student(cvec_number="AMI4K8O1TZ27X"))
    assert not any(f.blocks for f in verdict.findings)


# -- scans (OCR: never an error on a doubtful reading) ---------------------------------------


def test_ocr_reading_is_never_accepted_without_confirmation():
    engine = FakeEngine(lines=CVEC_LINES, fields=["0100008010J", "AMI4 K8O1TZ 27 / LEFEV"])
    verdict = cvec.check(image_doc(Kind.CVEC), context(student(), engine))
    # a blank image has no glyphs to confirm the confusable characters of the number
    assert verdict.outcome is Outcome.REVIEW
    (number,) = [f for f in verdict.findings if f.code is CvecCode.NUMBER]
    assert number.result is Result.INCONCLUSIVE
    assert verdict.fields["cvec_number"] == "AMI4K8O1TZ27"
    assert verdict.fields["ine"] == "0100008010J"  # proven by its key
    assert engine.calls[0][0] == "page"


def test_ocr_number_differing_by_a_confusable_is_not_an_error():
    engine = FakeEngine(lines=[line.replace("K8O1TZ", "K801TZ") for line in CVEC_LINES])
    verdict = cvec.check(image_doc(Kind.CVEC), context(student(), engine))
    (number,) = [f for f in verdict.findings if f.code is CvecCode.NUMBER]
    assert not number.blocks and number.flags


def test_ocr_misread_ine_key_is_inconclusive_not_an_error():
    lines = [line.replace("0100008010J", "0100003010J") for line in CVEC_LINES]
    engine = FakeEngine(lines=lines, fields=["0100003010J"])
    verdict = cvec.check(image_doc(Kind.CVEC), context(student(), engine))
    assert not any(f.blocks for f in verdict.findings), verdict.to_dict()
    assert "ine.key" in verdict.failed_codes() and "cvec.ine" in verdict.failed_codes()


def test_nothing_read_is_review():
    verdict = cvec.check(image_doc(Kind.CVEC), context(student(), FakeEngine(lines=[])))
    assert verdict.outcome is Outcome.REVIEW and verdict.codes == ["doc.unreadable"]
    timed_out = cvec.check(image_doc(Kind.CVEC), context(student(), FakeEngine(timed_out=True)))
    assert timed_out.outcome is Outcome.REVIEW and timed_out.codes == ["doc.unreadable"]
    no_engine = cvec.check(image_doc(Kind.CVEC), context(student(), None))
    assert no_engine.outcome is Outcome.REVIEW
    assert "aucun moteur" in no_engine.findings[0].message


def test_ocr_without_cvec_words_is_review_not_rejection():
    engine = FakeEngine(lines=["Relevé de notes", "Nom : LEFÈVRE", "blabla " * 10])
    verdict = cvec.check(image_doc(Kind.CVEC), context(student(), engine))
    assert verdict.outcome is Outcome.REVIEW
    assert not any(f.blocks for f in verdict.findings)


def test_messages_have_no_unfilled_placeholders():
    for lines, record in (
        (CVEC_LINES, student()),
        (CVEC_LINES, student(cvec_number="AMI4K801TZ27", ine="010O008010J")),
        ([line.replace("2024", "2022") for line in CVEC_LINES], student()),
    ):
        for f in check(lines, record).findings:
            assert "{" not in f.message and "?" not in f.message, f
    engine = FakeEngine(lines=CVEC_LINES)
    for f in cvec.check(image_doc(Kind.CVEC), context(student(), engine)).findings:
        assert "{" not in f.message, f
