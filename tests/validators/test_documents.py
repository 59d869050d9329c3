"""The bac, JDC, diploma, parental-consent and apprenticeship-contract checkers."""

from __future__ import annotations

import datetime as dt

from tests.validators.test_cvec import FakeEngine, context, image_doc, student, text_doc
from validators import bac, documents
from validators.base import Kind
from validators.documents import DocCode
from validators.identifiers import IneCode
from validators.registry import get_checker
from validators.verdict import Level, Outcome, Result

BAC_LINES = [
    "RÉPUBLIQUE FRANÇAISE",
    "Académie d’Amiens",
    "RELEVÉ DE NOTES",
    "BACCALAURÉAT GÉNÉRAL — SESSION 2023",
    "Nom de famille : LEFÈVRE",
    "Prénom(s) : Maëlys",
    "Né(e) le : 14/03/2005",
    "N° INE : 0100008010J",
    "Épreuve Coefficient Note",
    "Philosophie 8 14,5",
    "Décision du jury : ADMIS(E)",
]


def codes(verdict, result=None):
    return [str(f.code) for f in verdict.findings if result is None or f.result is result]


def test_registry_points_at_these_checkers():
    assert get_checker(Kind.BAC) is bac.check
    assert get_checker(Kind.JDC) is documents.check_jdc
    assert get_checker(Kind.DIPLOMA) is documents.check_diploma
    assert get_checker(Kind.PARENTAL_CONSENT) is documents.check_parental_consent
    assert get_checker(Kind.APPRENTICESHIP_CONTRACT) is documents.check_apprenticeship_contract


# -- bac ------------------------------------------------------------------------------------


def test_bac_transcript_with_the_record_ine_is_accepted():
    verdict = bac.check(text_doc(Kind.BAC, BAC_LINES), context(student()))
    assert verdict.outcome is Outcome.ACCEPTED, verdict.to_dict()
    assert verdict.fields["ine"] == "0100008010J"
    assert verdict.fields["last_name"] == "LEFÈVRE"
    assert verdict.fields["birth_date"] == "2005-03-14"
    assert "ine.mismatch" in codes(verdict, Result.PASS)


def test_bac_ine_typed_with_a_letter_o():
    verdict = bac.check(text_doc(Kind.BAC, BAC_LINES), context(student(ine="010O008010J")))
    assert verdict.outcome is Outcome.REJECTED
    (mismatch,) = [f for f in verdict.findings if f.code is IneCode.MISMATCH]
    assert mismatch.blocks
    assert "Vous avez saisi la lettre O à la place du chiffre 0 (position 4)." in mismatch.message
    assert "0100008010J" in mismatch.message


def test_bac_other_ine_is_a_mismatch_without_confusion_sentence():
    verdict = bac.check(text_doc(Kind.BAC, BAC_LINES), context(student(ine="1234567890V")))
    (mismatch,) = [f for f in verdict.findings if f.code is IneCode.MISMATCH]
    assert mismatch.blocks and "Vous avez saisi" not in mismatch.message


def test_bac_with_a_provisional_ine_in_the_record():
    verdict = bac.check(text_doc(Kind.BAC, BAC_LINES), context(student(ine="1234D56789B")))
    (prov,) = [f for f in verdict.findings if f.code is IneCode.PROVISIONAL]
    assert prov.blocks and "0100008010J" in prov.message
    assert "généré par le CROUS" in prov.message


def test_bac_wrong_document_is_blocking():
    lines = ["ATTESTATION DE SCOLARITÉ", "Nom : LEFÈVRE", "Lycée Jules Verne " * 4]
    verdict = bac.check(text_doc(Kind.BAC, lines), context(student()))
    assert verdict.outcome is Outcome.REJECTED and verdict.codes == ["bac.wrong_document"]


def test_bac_diploma_without_ine_is_not_a_fault():
    lines = [
        "DIPLÔME DU BACCALAURÉAT GÉNÉRAL",
        "décerné à Maëlys LEFÈVRE née le 14/03/2005",
        "Session 2023, mention Bien, Académie d’Amiens",
    ]
    verdict = bac.check(text_doc(Kind.BAC, lines), context(student()))
    assert verdict.outcome is Outcome.ACCEPTED, verdict.to_dict()
    (missing,) = [f for f in verdict.findings if f.code is IneCode.MISSING]
    assert missing.result is Result.SKIPPED


def test_bac_transcript_without_readable_ine_is_review():
    lines = [line for line in BAC_LINES if "INE" not in line]
    verdict = bac.check(text_doc(Kind.BAC, lines), context(student()))
    assert verdict.outcome is Outcome.REVIEW and "ine.missing" in verdict.failed_codes()


def test_bac_name_mismatch_text_layer_is_an_error_ocr_is_review():
    verdict = bac.check(text_doc(Kind.BAC, BAC_LINES), context(student(last_name="Durand")))
    assert "bac.name" in [str(f.code) for f in verdict.findings if f.blocks]
    engine = FakeEngine(lines=BAC_LINES)
    scanned = bac.check(image_doc(Kind.BAC), context(student(last_name="Durand"), engine))
    assert not any(f.blocks for f in scanned.findings), scanned.to_dict()
    assert "bac.name" in scanned.failed_codes()


def test_bac_scan_reads_the_ine_proven_by_its_key():
    engine = FakeEngine(lines=[line.replace("0100008010J", "O1OO0O8O1OJ") for line in BAC_LINES])
    verdict = bac.check(image_doc(Kind.BAC), context(student(), engine))
    assert verdict.fields["ine"] == "0100008010J"
    assert verdict.outcome is Outcome.ACCEPTED, verdict.to_dict()


# -- JDC ------------------------------------------------------------------------------------

JDC_LINES = [
    "MINISTÈRE DES ARMÉES",
    "CERTIFICAT INDIVIDUEL DE PARTICIPATION",
    "À LA JOURNÉE DÉFENSE ET CITOYENNETÉ (JDC)",
    "Mme LEFÈVRE Maëlys",
    "née le 14/03/2005",
    "a participé le 12/04/2022 à la journée défense et citoyenneté",
]


def test_jdc_accepted_and_names_read():
    verdict = documents.check_jdc(text_doc(Kind.JDC, JDC_LINES), context(student()))
    assert verdict.outcome is Outcome.ACCEPTED, verdict.to_dict()
    assert verdict.fields["last_name"] == "LEFÈVRE" and verdict.fields["first_name"] == "Maëlys"
    assert verdict.fields["birth_date"] == "2005-03-14"


def test_jdc_wrong_document_uses_the_catalogue_code():
    lines = ["ATTESTATION DE RECENSEMENT", "Mme LEFÈVRE Maëlys", "mairie d’Amiens " * 4]
    verdict = documents.check_jdc(text_doc(Kind.JDC, lines), context(student()))
    assert verdict.outcome is Outcome.REJECTED
    assert verdict.codes == ["jdc.missing"]
    assert "moins de 25 ans" in verdict.findings[0].message


def test_jdc_other_person():
    verdict = documents.check_jdc(
        text_doc(Kind.JDC, JDC_LINES), context(student(last_name="Durand", first_name="Paul"))
    )
    assert "jdc.name" in [str(f.code) for f in verdict.findings if f.blocks]


def test_jdc_older_student_gets_a_note():
    old = student(birth_date=dt.date(1990, 1, 1))
    verdict = documents.check_jdc(text_doc(Kind.JDC, JDC_LINES), context(old))
    assert "jdc.not_required" in codes(verdict, Result.SKIPPED)


def test_japd_is_accepted_too():
    lines = ["Certificat de participation à la JAPD", "M. LEFÈVRE Maëlys", "né le 14/03/2005"]
    verdict = documents.check_jdc(text_doc(Kind.JDC, lines), context(student()))
    assert "jdc.missing" in codes(verdict, Result.PASS)


def test_jdc_scan_without_the_name_is_review():
    engine = FakeEngine(lines=[line.replace("LEFÈVRE", "LEF3VRF") for line in JDC_LINES])
    verdict = documents.check_jdc(image_doc(Kind.JDC), context(student(), engine))
    assert verdict.outcome is Outcome.REVIEW
    assert not any(f.blocks for f in verdict.findings)


# -- diploma, consent, contract ---------------------------------------------------------------


def test_diploma():
    lines = ["ATTESTATION DE RÉUSSITE", "Licence Mention Informatique", "Maëlys LEFÈVRE"]
    verdict = documents.check_diploma(text_doc(Kind.DIPLOMA, lines), context(student()))
    assert verdict.outcome is Outcome.ACCEPTED
    wrong = documents.check_diploma(
        text_doc(Kind.DIPLOMA, ["Facture d’électricité", "Maëlys LEFÈVRE", "x" * 50]),
        context(student()),
    )
    assert wrong.codes == ["diploma.wrong_document"] and wrong.outcome is Outcome.REJECTED


def test_parental_consent_signature_goes_to_a_person():
    lines = [
        "Autorisation d’inscription - Étudiant mineur",
        "Je soussigné(e) Jean LEFÈVRE, responsable légal de Maëlys LEFÈVRE",
        "autorise son inscription. Signature :",
    ]
    minor = student(birth_date=dt.date(2007, 1, 1))
    verdict = documents.check_parental_consent(
        text_doc(Kind.PARENTAL_CONSENT, lines), context(minor)
    )
    assert verdict.outcome is Outcome.REVIEW
    (unsigned,) = [f for f in verdict.findings if f.code is DocCode.CONSENT_UNSIGNED]
    assert unsigned.result is Result.INCONCLUSIVE and not unsigned.blocks
    adult = documents.check_parental_consent(
        text_doc(Kind.PARENTAL_CONSENT, lines), context(student())
    )
    assert "consent.not_required" in codes(adult, Result.SKIPPED)


def test_parental_consent_wrong_form():
    verdict = documents.check_parental_consent(
        text_doc(Kind.PARENTAL_CONSENT, ["Bulletin scolaire", "Maëlys LEFÈVRE", "x" * 50]),
        context(student(birth_date=dt.date(2007, 1, 1))),
    )
    assert verdict.codes == ["consent.form"] and verdict.outcome is Outcome.REJECTED
    assert "Autorisation d’inscription - Étudiant mineur" in verdict.findings[0].message


def test_apprenticeship_contract():
    lines = ["CONTRAT D’APPRENTISSAGE", "CERFA FA13", "L’apprenti : LEFÈVRE Maëlys"]
    verdict = documents.check_apprenticeship_contract(
        text_doc(Kind.APPRENTICESHIP_CONTRACT, lines), context(student())
    )
    assert verdict.outcome is Outcome.REVIEW
    assert "contract.unsigned" in verdict.failed_codes()
    assert not any(f.blocks for f in verdict.findings)
    wrong = documents.check_apprenticeship_contract(
        text_doc(Kind.APPRENTICESHIP_CONTRACT, ["Bail d’habitation", "Maëlys LEFÈVRE", "x" * 50]),
        context(student()),
    )
    assert wrong.codes == ["contract.missing"]


def test_unreadable_scan_is_review_for_every_kind():
    for kind, checker in (
        (Kind.JDC, documents.check_jdc),
        (Kind.DIPLOMA, documents.check_diploma),
        (Kind.PARENTAL_CONSENT, documents.check_parental_consent),
        (Kind.APPRENTICESHIP_CONTRACT, documents.check_apprenticeship_contract),
        (Kind.BAC, bac.check),
    ):
        minor = student(birth_date=dt.date(2007, 1, 1))
        verdict = checker(image_doc(kind), context(minor, FakeEngine(lines=[])))
        assert verdict.outcome is Outcome.REVIEW, kind
        assert verdict.codes == ["doc.unreadable"], (kind, verdict.codes)
        assert verdict.findings[0].level is Level.WARNING
