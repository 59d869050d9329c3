"""The computed labels of domain.md §6, as a table."""

from __future__ import annotations

import pytest

from intake.status import (
    ECANDIDAT_CODES,
    DecisionFact,
    DossierStatus,
    PieceStatus,
    applicability_override,
    back_for_review,
    current_decision,
    dossier_status,
    needs_another_look,
    piece_status,
    report_signature,
    student_findings,
)

S = PieceStatus


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"required": True}, S.TO_UPLOAD),
        ({"required": False}, S.NOT_APPLICABLE),
        ({"required": False, "override": "applicable"}, S.TO_UPLOAD),
        ({"required": True, "override": "not_applicable"}, S.NOT_APPLICABLE),
        ({"required": True, "state": "queued"}, S.PROCESSING),
        ({"required": True, "state": "running"}, S.PROCESSING),
        ({"required": True, "state": "done", "outcome": "rejected"}, S.TO_FIX),
        (
            {"required": True, "state": "done", "outcome": "rejected", "explained": True},
            S.PENDING_REVIEW,
        ),
        ({"required": True, "state": "done", "outcome": "review"}, S.PENDING_REVIEW),
        # automated acceptance still waits for a person
        ({"required": True, "state": "done", "outcome": "accepted"}, S.PENDING_REVIEW),
        # processing failed for good: handed to a person, never "À corriger"
        ({"required": True, "state": "failed"}, S.PENDING_REVIEW),
        # a human decision wins over the machine, whatever the report says
        (
            {"required": True, "state": "done", "outcome": "rejected", "decision": "validated"},
            S.VALIDATED,
        ),
        (
            {"required": True, "state": "done", "outcome": "accepted", "decision": "refused"},
            S.REFUSED,
        ),
        ({"required": True, "state": "failed", "decision": "refused"}, S.REFUSED),
    ],
)
def test_piece_status(kwargs, expected):
    assert piece_status(**kwargs) is expected


def test_labels_are_the_french_ones():
    assert [s.label for s in PieceStatus] == [
        "À déposer",
        "Non concernée",
        "En cours de vérification",
        "À corriger",
        "En attente de validation",
        "Validée",
        "Refusée",
    ]
    assert ECANDIDAT_CODES[S.VALIDATED] == "VA"
    assert ECANDIDAT_CODES[S.NOT_APPLICABLE] == "NC"
    assert set(ECANDIDAT_CODES) == set(PieceStatus)


@pytest.mark.parametrize(
    ("statuses", "expected", "detail"),
    [
        (
            [S.VALIDATED, S.TO_UPLOAD, S.PROCESSING],
            DossierStatus.INCOMPLETE,
            "1 pièce(s) à déposer, 0 à corriger, 0 refusée(s)",
        ),
        (
            [S.REFUSED, S.TO_FIX, S.TO_FIX],
            DossierStatus.INCOMPLETE,
            "0 pièce(s) à déposer, 2 à corriger, 1 refusée(s)",
        ),
        ([S.PROCESSING, S.PENDING_REVIEW, S.VALIDATED], DossierStatus.CHECKING, ""),
        ([S.PENDING_REVIEW, S.VALIDATED, S.NOT_APPLICABLE], DossierStatus.PENDING_REVIEW, ""),
        ([S.VALIDATED, S.NOT_APPLICABLE], DossierStatus.VALIDATED, ""),
        ([], DossierStatus.VALIDATED, ""),
    ],
)
def test_dossier_status_first_rule_that_applies(statuses, expected, detail):
    summary = dossier_status(statuses)
    assert summary.status is expected
    assert summary.detail == detail


def test_decision_holds_only_for_its_version_and_until_reopened():
    d = [
        DecisionFact("refused", 1, 1),
        DecisionFact("validated", 2, 2),
        DecisionFact("reopened", 2, 3),
    ]
    assert current_decision(d, 1).action == "refused"
    assert current_decision(d, 2) is None  # reopened
    assert current_decision(d, 3) is None  # a new upload starts undecided
    assert current_decision(d[:2], 2).id == 2
    assert current_decision(d, None) is None


def test_applicability_override_last_wins():
    assert applicability_override([]) is None
    d = [
        DecisionFact("not_applicable", None),
        DecisionFact("validated", 4),
        DecisionFact("applicable", None),
    ]
    assert applicability_override(d) == "applicable"
    assert applicability_override(d[:2]) == "not_applicable"


def test_needs_another_look_only_when_the_report_changed():
    decision = DecisionFact("validated", 5, 9, check_run_id=10)
    same = report_signature(
        "review", [{"code": "x.y", "result": "inconclusive", "level": "warning"}]
    )
    other = report_signature("rejected", [{"code": "x.z", "result": "fail", "level": "error"}])
    assert not needs_another_look(decision, same, 10, same)  # same run
    assert not needs_another_look(decision, same, 11, same)  # new run, same result
    assert needs_another_look(decision, same, 11, other)
    assert not needs_another_look(None, None, 11, other)


def test_report_signature_ignores_passes_and_infos():
    a = report_signature("review", [{"code": "a", "result": "pass", "level": "info"}])
    b = report_signature("review", [{"code": "b", "result": "fail", "level": "info"}])
    assert a == b == ("review", ())


def test_back_for_review_after_a_refusal_of_an_earlier_version():
    d = [DecisionFact("refused", 1, 1)]
    assert back_for_review(S.PENDING_REVIEW, d, 2)
    assert not back_for_review(S.PENDING_REVIEW, d, 1)
    assert not back_for_review(S.PROCESSING, d, 2)
    assert not back_for_review(S.PENDING_REVIEW, [], 2)


def test_student_findings_follow_domain_6_4():
    findings = [
        {"code": "cvec.year", "level": "error", "result": "fail", "message": "année"},
        {"code": "photo.ratio", "level": "warning", "result": "fail", "message": "rognez"},
        {"code": "ine.rnie_key", "level": "warning", "result": "fail", "message": "hypothèse"},
        {"code": "cvec.amount", "level": "info", "result": "fail", "message": "montant"},
        {"code": "mrz.missing", "level": "warning", "result": "inconclusive", "message": "?"},
        {"code": "cvec.ine", "level": "info", "result": "pass", "message": "INE lu"},
        {"code": "file.metadata_removed", "level": "info", "result": "pass", "message": "gps"},
    ]
    split = student_findings(findings, lambda code: code.startswith("photo."))
    assert [f["code"] for f in split.to_fix] == ["cvec.year"]
    assert [f["code"] for f in split.hints] == ["photo.ratio"]  # actionable hint only
    assert split.checking == 1  # inconclusive: never shown as a fault
    assert [f["code"] for f in split.passed] == ["cvec.ine"]
