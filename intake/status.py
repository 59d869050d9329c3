"""Computed statuses (domain.md §6): pure functions of plain values, never stored.

A piece version has three independent layers — processing state, automated report,
human decision — and the label a student reads is computed from them here, in one
place. The dossier status is computed from its enrolment pieces' labels (§6.3).
Nothing in this module reads the database, files or the clock.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class PieceStatus(StrEnum):
    TO_UPLOAD = "to_upload"
    NOT_APPLICABLE = "not_applicable"
    PROCESSING = "processing"
    TO_FIX = "to_fix"
    PENDING_REVIEW = "pending_review"
    VALIDATED = "validated"
    REFUSED = "refused"

    @property
    def label(self) -> str:
        return PIECE_LABELS[self]


PIECE_LABELS: Mapping[PieceStatus, str] = {
    PieceStatus.TO_UPLOAD: "À déposer",
    PieceStatus.NOT_APPLICABLE: "Non concernée",
    PieceStatus.PROCESSING: "En cours de vérification",
    PieceStatus.TO_FIX: "À corriger",
    PieceStatus.PENDING_REVIEW: "En attente de validation",
    PieceStatus.VALIDATED: "Validée",
    PieceStatus.REFUSED: "Refusée",
}

# What the student can do in each state (domain.md §6.2, "Student can").
PIECE_HINTS: Mapping[PieceStatus, str] = {
    PieceStatus.TO_UPLOAD: "Déposez votre document (PDF ou JPG, 5 Mo au plus).",
    PieceStatus.NOT_APPLICABLE: (
        "C’est normal, selon votre situation ou statut, vous n’avez pas de pièce à déposer."
    ),
    PieceStatus.PROCESSING: "Votre document est en cours de vérification : patientez.",
    PieceStatus.TO_FIX: (
        "Corrigez le problème indiqué et déposez un nouveau fichier, ou expliquez votre "
        "situation si vous pensez que le document est correct."
    ),
    PieceStatus.PENDING_REVIEW: (
        "Votre document sera examiné par le service des inscriptions. Vous pouvez encore "
        "le remplacer."
    ),
    PieceStatus.VALIDATED: "Pièce validée par le service des inscriptions.",
    PieceStatus.REFUSED: "Pièce refusée : lisez le motif puis déposez un nouveau document.",
}

# eCandidat piece codes for export (domain.md §6.2). The two transient states map to
# what they mean for the SIS: processing = transmitted, to-fix = still to send.
ECANDIDAT_CODES: Mapping[PieceStatus, str] = {
    PieceStatus.TO_UPLOAD: "AT",
    PieceStatus.TO_FIX: "AT",
    PieceStatus.PROCESSING: "TR",
    PieceStatus.PENDING_REVIEW: "TR",
    PieceStatus.VALIDATED: "VA",
    PieceStatus.REFUSED: "RE",
    PieceStatus.NOT_APPLICABLE: "NC",
}


class DossierStatus(StrEnum):
    INCOMPLETE = "incomplete"
    CHECKING = "checking"
    PENDING_REVIEW = "pending_review"
    VALIDATED = "validated"

    @property
    def label(self) -> str:
        return DOSSIER_LABELS[self]


DOSSIER_LABELS: Mapping[DossierStatus, str] = {
    DossierStatus.INCOMPLETE: "Dossier incomplet",
    DossierStatus.CHECKING: "Vérification en cours",
    DossierStatus.PENDING_REVIEW: "En attente de validation",
    DossierStatus.VALIDATED: "Pièces validées",
}

# decision actions, as stored (intake.models.DecisionAction values)
VALIDATED, REFUSED, REOPENED = "validated", "refused", "reopened"
NOT_APPLICABLE, APPLICABLE = "not_applicable", "applicable"


@dataclass(frozen=True)
class DecisionFact:
    action: str
    version_id: int | None
    id: int = 0
    check_run_id: int | None = None


def current_decision(
    decisions: Sequence[DecisionFact], version_id: int | None
) -> DecisionFact | None:
    """The validation or refusal that holds for ``version_id``: the last one made on
    that very version, unless reopened since. A decision on an earlier version never
    carries over to a new upload."""
    held: DecisionFact | None = None
    if version_id is None:
        return None
    for d in decisions:
        if d.version_id != version_id:
            continue
        if d.action in (VALIDATED, REFUSED):
            held = d
        elif d.action == REOPENED:
            held = None
    return held


def applicability_override(decisions: Sequence[DecisionFact]) -> str | None:
    """An administrator's "Non concernée" / "required after all", the last one wins."""
    out = None
    for d in decisions:
        if d.action in (NOT_APPLICABLE, APPLICABLE):
            out = d.action
    return out


def piece_status(
    *,
    required: bool,
    override: str | None = None,
    state: str | None = None,
    outcome: str | None = None,
    explained: bool = False,
    decision: str | None = None,
) -> PieceStatus:
    """The student-facing label of one piece (domain.md §6.2).

    ``state`` is the current version's processing state (None: no version), ``outcome``
    its latest report's outcome, ``decision`` the validation/refusal holding for it.
    A human decision always wins over the automated report.
    """
    if override == NOT_APPLICABLE:
        return PieceStatus.NOT_APPLICABLE
    if decision == VALIDATED:
        return PieceStatus.VALIDATED
    if decision == REFUSED:
        return PieceStatus.REFUSED
    if state is None:
        return (
            PieceStatus.TO_UPLOAD
            if required or override == APPLICABLE
            else PieceStatus.NOT_APPLICABLE
        )
    if state in ("queued", "running"):
        return PieceStatus.PROCESSING
    if state == "failed":  # processing failed for good: a person looks
        return PieceStatus.PENDING_REVIEW
    if outcome == "rejected" and not explained:
        return PieceStatus.TO_FIX
    return PieceStatus.PENDING_REVIEW


@dataclass(frozen=True)
class DossierSummary:
    status: DossierStatus
    to_upload: int = 0
    to_fix: int = 0
    refused: int = 0
    processing: int = 0
    pending: int = 0
    validated: int = 0

    @property
    def label(self) -> str:
        return self.status.label

    @property
    def detail(self) -> str:
        """« N pièce(s) à déposer, M à corriger, K refusée(s) » for an incomplete dossier."""
        if self.status is not DossierStatus.INCOMPLETE:
            return ""
        return (
            f"{self.to_upload} pièce(s) à déposer, {self.to_fix} à corriger, "
            f"{self.refused} refusée(s)"
        )


def dossier_status(statuses: Iterable[PieceStatus]) -> DossierSummary:
    """Dossier status from its enrolment pieces (domain.md §6.3), first rule that applies."""
    found = list(statuses)
    counts = {s: found.count(s) for s in PieceStatus}
    if counts[PieceStatus.REFUSED] or counts[PieceStatus.TO_FIX] or counts[PieceStatus.TO_UPLOAD]:
        status = DossierStatus.INCOMPLETE
    elif counts[PieceStatus.PROCESSING]:
        status = DossierStatus.CHECKING
    elif counts[PieceStatus.PENDING_REVIEW]:
        status = DossierStatus.PENDING_REVIEW
    else:
        status = DossierStatus.VALIDATED
    return DossierSummary(
        status=status,
        to_upload=counts[PieceStatus.TO_UPLOAD],
        to_fix=counts[PieceStatus.TO_FIX],
        refused=counts[PieceStatus.REFUSED],
        processing=counts[PieceStatus.PROCESSING],
        pending=counts[PieceStatus.PENDING_REVIEW],
        validated=counts[PieceStatus.VALIDATED],
    )


def report_signature(outcome: str | None, findings: Iterable[Mapping[str, Any]]) -> tuple:
    """What makes two reports "the same" for a decision: outcome and failed codes."""
    failed = sorted(
        str(f.get("code"))
        for f in findings
        if f.get("result") in ("fail", "inconclusive") and f.get("level") != "info"
    )
    return (outcome, tuple(failed))


def needs_another_look(
    decision: DecisionFact | None,
    decided_report: tuple | None,
    latest_run_id: int | None,
    latest_report: tuple | None,
) -> bool:
    """« à revoir » (domain.md §6.5): a decided piece whose newest report differs from
    the one its decision relied on. The decision itself is never changed."""
    if decision is None or latest_run_id is None or decision.check_run_id == latest_run_id:
        return False
    return decided_report != latest_report


def back_for_review(
    status: PieceStatus, decisions: Sequence[DecisionFact], version_id: int | None
) -> bool:
    """« À traiter de nouveau »: waiting for review again after a refusal of an earlier
    version of the same piece."""
    if status is not PieceStatus.PENDING_REVIEW:
        return False
    return any(d.action == REFUSED and d.version_id != version_id for d in decisions)


@dataclass(frozen=True)
class StudentFindings:
    """A report split the way domain.md §6.4 says each part is shown to a student."""

    to_fix: tuple[Mapping[str, Any], ...]  # failed errors: the catalogue message, what to do
    hints: tuple[Mapping[str, Any], ...]  # failed warnings with an actionable hint
    checking: int  # inconclusive ones: "a person will check", never a fault
    passed: tuple[Mapping[str, Any], ...]


def student_findings(
    findings: Iterable[Mapping[str, Any]], sees_warning: Callable[[str], bool]
) -> StudentFindings:
    to_fix, hints, passed = [], [], []
    checking = 0
    for f in findings:
        result, level, code = f.get("result"), f.get("level"), str(f.get("code"))
        if result == "fail" and level == "error":
            to_fix.append(f)
        elif result == "fail" and level == "warning" and sees_warning(code):
            hints.append(f)
        elif result == "inconclusive":
            checking += 1
        elif result == "pass" and level == "info" and not code.startswith("file."):
            passed.append(f)
    return StudentFindings(tuple(to_fix), tuple(hints), checking, tuple(passed))


def matches_any(code: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(code, p) for p in patterns)
