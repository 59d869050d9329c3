"""From an accepted upload to a saved report, and the dossier actions around it.

- :func:`store_upload` — the upload gate (``intake.receive`` in the limited child, the
  recto/verso merge), then **one transaction** that adds the new version ``queued``.
  The blob is stored before the row commits; the caller queues the check only after
  the commit (``intake.tasks``).
- :func:`check_version` — the check of one stored version: claims it with a conditional
  UPDATE (queued → running, with a lease; the same on SQLite and PostgreSQL), is
  idempotent on (version, file sha256, ruleset version), runs the kind's checker in the
  child, renders PNG previews, offers a repaired photo, and saves the report.
- :func:`record_decision`, :func:`explain`, :func:`accept_fix` — human actions, each a
  new row or a guarded update, audited.
- :func:`dossier_view` — the read model: every piece of a dossier with its computed
  status (``intake.status``).

Nothing here imports Flask: the web tier, the CLI and issue 7's workers call the same
functions.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from intake.catalogue import Catalogue, PieceSpec, default_catalogue
from intake.config import Settings
from intake.db import Database, default_url
from intake.models import (
    AuditEvent,
    CheckRun,
    Decision,
    DecisionAction,
    Piece,
    PieceVersion,
    ProcessingState,
    Student,
    utcnow,
)
from intake.receive import Received, analyse, check_context, merge, receive, upload_options
from intake.sandbox import Sandbox, SandboxFailure, limits_from
from intake.status import (
    DecisionFact,
    DossierSummary,
    PieceStatus,
    applicability_override,
    back_for_review,
    current_decision,
    dossier_status,
    needs_another_look,
    piece_status,
    report_signature,
)
from intake.storage import BlobStore
from validators.base import Kind
from validators.codes import FileCode
from validators.registry import ruleset_version
from validators.verdict import Finding, Level, Result, Verdict, finding

log = logging.getLogger("justif.pipeline")


class CheckResult(StrEnum):
    DONE = "done"  # a report was saved
    ALREADY = "already"  # the same (version, sha256, ruleset) report exists
    SKIPPED = "skipped"  # another worker holds the version, or it is finished
    RETRY = "retry"  # an internal error; queued again
    FAILED = "failed"  # an internal error, attempts exhausted: a person looks
    LOST = "lost"  # the lease expired and another worker took the version over


class ActionRefused(Exception):
    """A dossier action that cannot be done now; ``message`` is French, for people."""

    def __init__(self, code: str, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass
class Pipeline:
    """What a check or an upload needs besides ids: database, settings, blob store."""

    db: Database
    settings: Settings
    catalogue: Catalogue = field(default_factory=default_catalogue)
    max_attempts: int = 3
    clock: Callable[[], dt.datetime] = utcnow

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Pipeline:
        env = os.environ if environ is None else environ
        settings = Settings.from_env(env)
        url = env.get("JUSTIF_DATABASE_URL") or default_url(settings.data_dir)
        return cls(Database(url), settings)

    @cached_property
    def store(self) -> BlobStore:
        return BlobStore(self.settings.data_dir).ensure()

    @property
    def lease(self) -> dt.timedelta:
        # a check is bounded by the child's wall-clock kill; previews and the photo fix
        # add two more child calls at most
        if self.settings.lease_s:
            return dt.timedelta(seconds=self.settings.lease_s)
        return dt.timedelta(seconds=3 * self.settings.check_timeout_s + 60)

    @property
    def ruleset(self) -> str:
        """The version of the rules reports are made under (validators' own version,
        plus the deployment's ``JUSTIF_RULESET_TAG`` if any)."""
        tag = self.settings.ruleset_tag
        return f"{ruleset_version()}.{tag}" if tag else ruleset_version()

    def new_sandbox(self, *, check: bool = True) -> Sandbox:
        return Sandbox(limits_from(self.settings, check=check), max_jobs=self.settings.child_jobs)


_default: Pipeline | None = None


def default_pipeline() -> Pipeline:
    """The process-wide pipeline built from ``JUSTIF_*`` (workers without an app)."""
    global _default  # one per process, built on first use
    if _default is None:
        _default = Pipeline.from_env()
    return _default


# -- audit --------------------------------------------------------------------------------


def audit(
    session: Session,
    user_id: int | None,
    action: str,
    target_type: str = "",
    target_id: int | None = None,
    **detail: Any,
) -> None:
    session.add(
        AuditEvent(
            user_id=user_id,
            action=action,
            target_type=target_type,
            target_id=target_id,
            detail=detail,
        )
    )


# -- the check of one version ----------------------------------------------------------


def _claim(pipe: Pipeline, version_id: int) -> int | None:
    """queued → running (or take over an expired lease). The attempt number, or None
    when another worker holds the version or it is finished."""
    now = pipe.clock()
    with pipe.db.session() as s:
        res = s.execute(
            update(PieceVersion)
            .where(
                PieceVersion.id == version_id,
                or_(
                    PieceVersion.state == ProcessingState.QUEUED,
                    and_(
                        PieceVersion.state == ProcessingState.RUNNING,
                        PieceVersion.lease_until < now,
                    ),
                ),
            )
            .values(
                state=ProcessingState.RUNNING,
                attempts=PieceVersion.attempts + 1,
                lease_until=now + pipe.lease,
                heartbeat_at=now,
                started_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if res.rowcount != 1:
            return None
        return s.scalar(select(PieceVersion.attempts).where(PieceVersion.id == version_id))


def _mine(version_id: int, attempt: int) -> Any:
    return and_(
        PieceVersion.id == version_id,
        PieceVersion.state == ProcessingState.RUNNING,
        PieceVersion.attempts == attempt,
    )


def _beat(pipe: Pipeline, version_id: int, attempt: int) -> None:
    now = pipe.clock()
    with pipe.db.session() as s:
        s.execute(
            update(PieceVersion)
            .where(_mine(version_id, attempt))
            .values(heartbeat_at=now, lease_until=now + pipe.lease)
            .execution_options(synchronize_session=False)
        )


@dataclass(frozen=True)
class _Job:
    version_id: int
    sha256: str
    mime: str
    kind: str
    source: str
    intake_findings: list[dict[str, Any]]
    previews: list[str]
    fix: dict[str, Any] | None
    record: dict[str, Any]
    registration_date: dt.date | None


def _load_job(pipe: Pipeline, version_id: int) -> _Job:
    with pipe.db.session() as s:
        v = s.get(PieceVersion, version_id)
        if v is None:
            raise LookupError(version_id)
        student = v.piece.student
        return _Job(
            version_id=v.id,
            sha256=v.sha256,
            mime=v.mime,
            kind=v.piece.kind,
            source=v.source,
            intake_findings=list(v.intake_findings or []),
            previews=list(v.previews or []),
            fix=dict(v.fix) if v.fix else None,
            record=student.record(),
            registration_date=student.registration_date,
        )


def check_version(
    version_id: int,
    pipeline: Pipeline | None = None,
    *,
    sandbox: Sandbox | None = None,
    runner: str = "inprocess",
) -> CheckResult:
    """Check one stored version. Safe to call twice, concurrently or after a crash."""
    pipe = pipeline or default_pipeline()
    attempt = _claim(pipe, version_id)
    if attempt is None:
        return CheckResult.SKIPPED
    own = sandbox is None
    box = sandbox or pipe.new_sandbox()
    try:
        return _check_claimed(pipe, version_id, attempt, box, runner)
    except Exception as exc:  # an internal error, never the student's file
        log.exception("check of version %s failed (attempt %s)", version_id, attempt)
        return _give_back(pipe, version_id, attempt, exc)
    finally:
        if own:
            box.close()


def _check_claimed(
    pipe: Pipeline, version_id: int, attempt: int, box: Sandbox, runner: str
) -> CheckResult:
    job = _load_job(pipe, version_id)
    ruleset = pipe.ruleset
    with pipe.db.session() as s:
        existing = s.scalar(
            select(CheckRun.id).where(
                CheckRun.version_id == version_id,
                CheckRun.file_sha256 == job.sha256,
                CheckRun.ruleset == ruleset,
            )
        )
        if existing is not None:
            s.execute(
                update(PieceVersion)
                .where(_mine(version_id, attempt))
                .values(state=ProcessingState.DONE, lease_until=None, finished_at=pipe.clock())
                .execution_options(synchronize_session=False)
            )
            return CheckResult.ALREADY

    path = pipe.store.path_for(job.sha256)
    if not path.is_file():
        raise FileNotFoundError(f"blob {job.sha256[:12]} absent du stockage")

    started = pipe.clock()
    t0 = time.perf_counter()
    context = check_context(
        pipe.settings,
        student=job.record,
        registration_date=job.registration_date,
        options=upload_options(job.intake_findings),
    )
    verdict = analyse(path, job.mime, job.kind, context, settings=pipe.settings, sandbox=box)
    elapsed_ms = round((time.perf_counter() - t0) * 1000, 1)
    if job.intake_findings:
        gate = Verdict.from_dict({"outcome": "review", "findings": job.intake_findings})
        verdict = Verdict.of(gate.findings + verdict.findings, verdict.fields)
    _beat(pipe, version_id, attempt)

    previews = job.previews or _render_previews(pipe, box, path, job.mime)
    fix = job.fix
    spec = _spec_or_none(pipe.catalogue, job.kind)
    if (
        fix is None
        and spec is not None
        and spec.fixable
        and job.source != "photo_fix"
        and verdict.outcome != "accepted"
    ):
        fix = _offer_fix(pipe, box, path)

    now = pipe.clock()
    with pipe.db.session() as s:
        res = s.execute(
            update(PieceVersion)
            .where(_mine(version_id, attempt))
            .values(
                state=ProcessingState.DONE,
                finished_at=now,
                lease_until=None,
                heartbeat_at=now,
                last_error=None,
                previews=previews,
                fix=fix,
            )
            .execution_options(synchronize_session=False)
        )
        if res.rowcount != 1:
            return CheckResult.LOST
        s.add(
            CheckRun(
                version_id=version_id,
                file_sha256=job.sha256,
                ruleset=ruleset,
                outcome=str(verdict.outcome),
                findings=[f.to_dict() for f in verdict.findings],
                fields=verdict.to_dict()["fields"],
                started_at=started,
                finished_at=now,
                elapsed_ms=elapsed_ms,
                runner=runner,
            )
        )
    return CheckResult.DONE


def _give_back(pipe: Pipeline, version_id: int, attempt: int, exc: Exception) -> CheckResult:
    final = attempt >= pipe.max_attempts
    message = f"{type(exc).__name__}: {exc}"[:500]
    with pipe.db.session() as s:
        s.execute(
            update(PieceVersion)
            .where(_mine(version_id, attempt))
            .values(
                state=ProcessingState.FAILED if final else ProcessingState.QUEUED,
                lease_until=None,
                last_error=message,
                finished_at=pipe.clock() if final else None,
            )
            .execution_options(synchronize_session=False)
        )
        if final:
            audit(s, None, "check.failed", "version", version_id, error=message, attempts=attempt)
    return CheckResult.FAILED if final else CheckResult.RETRY


def _spec_or_none(catalogue: Catalogue, kind: str) -> PieceSpec | None:
    try:
        return catalogue.spec(kind)
    except KeyError:
        return None


def _render_previews(pipe: Pipeline, box: Sandbox, path: Path, mime: str) -> list[str]:
    """PNG previews rendered in the child and stored as blobs (administrators never get
    the original in their browser). A failure only means no preview."""
    work = pipe.store.scratch_dir()
    try:
        value = box.run(
            "preview",
            {"path": str(path), "mime": mime, "out_dir": str(work), "dpi": 100},
            timeout_s=pipe.settings.child_timeout_s,
        )
        return [pipe.store.put_file(p) for p in value.get("pages", [])]
    except (SandboxFailure, OSError, ValueError):
        log.warning("preview failed for %s", path.name)
        return []
    finally:
        shutil.rmtree(work, ignore_errors=True)


def photo_fixer() -> Callable[..., Any] | None:
    """``intake.photofix.fix_photo`` when that module exists (the photo issue)."""
    import importlib

    try:
        module = importlib.import_module("intake.photofix")
    except ModuleNotFoundError as exc:
        if exc.name == "intake.photofix":
            return None
        raise
    return getattr(module, "fix_photo", None)


def _offer_fix(pipe: Pipeline, box: Sandbox, path: Path) -> dict[str, Any] | None:
    """A repaired copy of a photo, stored and previewed, for the student to accept."""
    fixer = photo_fixer()
    if fixer is None:  # not installed yet: nothing stored, a later check may offer it
        return None
    work = pipe.store.scratch_dir()
    try:
        out = work / "fixed.jpg"
        result = fixer(
            path, out, profile=pipe.settings.photo_profile, settings=pipe.settings, sandbox=box
        )
        actions = [str(a) for a in (getattr(result, "actions", None) or [])]
        if not getattr(result, "ok", False):
            reason = getattr(result, "reason", None)
            return {
                "state": "impossible",
                "reason": str(getattr(result, "message", "") or reason or ""),
                "reason_code": str(reason) if reason else None,
            }
        produced = Path(getattr(result, "out", None) or out)
        with produced.open("rb") as fh:
            received = receive(
                fh,
                "photo-corrigee.jpg",
                Kind.PHOTO,
                settings=pipe.settings,
                store=pipe.store,
                sandbox=box,
            )
        if received.stored is None or received.sha256 is None:
            return {
                "state": "impossible",
                "reason": "La photo corrigée n’a pas pu être enregistrée.",
            }
        previews = _render_previews(pipe, box, received.stored, received.mime or "image/jpeg")
        return {
            "state": "offered",
            "sha256": received.sha256,
            "mime": received.mime or "image/jpeg",
            "size": received.size,
            "width": received.width,
            "height": received.height,
            "actions": actions,
            "preview": previews[0] if previews else None,
        }
    except Exception:  # the repair is an offer: its failure never fails the check
        log.exception("photo fix failed")
        return {"state": "impossible", "reason": "La correction automatique a échoué."}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def pending_versions(pipe: Pipeline, limit: int = 500) -> list[int]:
    """Versions to (re)start: queued ones, and running ones whose lease expired (their
    worker died). Oldest first."""
    now = pipe.clock()
    with pipe.db.session() as s:
        rows = s.scalars(
            select(PieceVersion.id)
            .where(
                or_(
                    PieceVersion.state == ProcessingState.QUEUED,
                    and_(
                        PieceVersion.state == ProcessingState.RUNNING,
                        or_(PieceVersion.lease_until.is_(None), PieceVersion.lease_until < now),
                    ),
                )
            )
            .order_by(PieceVersion.id)
            .limit(limit)
        )
        return list(rows)


# -- uploads -------------------------------------------------------------------------------


@dataclass
class UploadOutcome:
    """An accepted upload (``version_id``) or a refused one (blocking ``findings``)."""

    version_id: int | None = None
    findings: list[Finding] = field(default_factory=list)
    part: str = ""  # which file was refused ("recto", "verso"…)

    @property
    def accepted(self) -> bool:
        return self.version_id is not None

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.blocks]


def clean_display_name(name: str, limit: int = 120) -> str:
    """The client's file name for display only (never a path): no directories,
    control characters or leading dots/dashes, truncated."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(c for c in base if c.isprintable() and c not in "\r\n\t\x00")
    base = base.strip().lstrip(".-").strip()
    if len(base) > limit:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: limit - len(ext) - 2] + "…" + dot + ext) if dot else base[:limit]
    return base or "document"


def ensure_piece(session: Session, student_id: int, kind: str) -> Piece:
    piece = session.scalar(select(Piece).where(Piece.student_id == student_id, Piece.kind == kind))
    if piece is None:
        piece = Piece(student_id=student_id, kind=kind)
        session.add(piece)
        session.flush()
    return piece


def upload_allowed(pipe: Pipeline, session: Session, student: Student, kind: str) -> None:
    """Raise ActionRefused when ``kind`` cannot take a new file for this student."""
    if student.cancelled:
        raise ActionRefused(
            "dossier.cancelled",
            "Votre inscription est annulée : ce dossier ne reçoit plus de pièces.",
            403,
        )
    view = dossier_view(pipe, session, student)
    piece = view.piece(kind)
    if piece is None:
        raise ActionRefused(
            "piece.unknown", "Cette pièce ne fait pas partie de votre dossier.", 404
        )
    if piece.status is PieceStatus.NOT_APPLICABLE:
        raise ActionRefused(
            "piece.not_applicable",
            "Cette pièce ne vous concerne pas : vous n’avez rien à déposer.",
            409,
        )
    if piece.status is PieceStatus.VALIDATED:
        raise ActionRefused(
            "piece.validated",
            "Cette pièce a été validée : elle ne peut plus être remplacée. Contactez le "
            "service des inscriptions si elle doit l’être.",
            409,
        )


# attempts at numbering a new version when concurrent uploads to one piece collide
_ADD_VERSION_TRIES = 5


def store_upload(
    pipe: Pipeline,
    *,
    student_id: int,
    kind: str,
    files: Sequence[tuple[BinaryIO, str]],
    user_id: int | None,
    sandbox: Sandbox,
    source: str = "upload",
    part_names: Sequence[str] = (),
) -> UploadOutcome:
    """Receive one file (or recto + verso, merged into one PDF) and add the version.

    Refused files are not stored and create no version: their findings come back at
    once. The returned version is committed ``queued``; queue its check afterwards.
    """
    kind = str(Kind(kind))
    if not 1 <= len(files) <= 2:
        raise ValueError("one file, or recto and verso")
    with pipe.db.session() as s:
        student = s.get(Student, student_id)
        if student is None:
            raise ActionRefused("dossier.unknown", "Dossier introuvable.", 404)
        upload_allowed(pipe, s, student, kind)
        audit(s, user_id, "upload.attempt", "student", student_id, kind=kind, files=len(files))

    # recto and verso are each taken up to the raw cap: their merge re-compresses them
    # to fit, and only the merged file (≤ max_bytes) is kept (domain.md §2.2–2.3)
    settings = (
        pipe.settings.replace(max_bytes=pipe.settings.max_raw_bytes)
        if len(files) == 2
        else pipe.settings
    )
    received: list[Received] = []
    for i, (stream, name) in enumerate(files):
        r = receive(stream, name, kind, settings=settings, store=pipe.store, sandbox=sandbox)
        if r.stored is None:
            label = part_names[i] if i < len(part_names) else ""
            # the side already received is not kept on its own (an identity file)
            _drop_unreferenced(pipe, [x.sha256 for x in received if x.sha256])
            return UploadOutcome(findings=list(r.verdict.findings), part=label)
        received.append(r)

    gate_findings: list[Finding] = []
    if len(received) == 2:
        final, merge_findings = _merge_sides(pipe, received, kind, sandbox)
        if final is None:
            _drop_unreferenced(pipe, [r.sha256 for r in received if r.sha256])
            return UploadOutcome(findings=merge_findings, part="recto/verso")
        display = "recto + verso"
        source = "merge" if source == "upload" else source
        for r in received:
            gate_findings.extend(f for f in r.verdict.findings if not f.blocks)
    else:
        final = received[0]
        display = clean_display_name(files[0][1])
    gate_findings.extend(
        f for f in final.verdict.findings if not f.blocks and f.code is not FileCode.DUPLICATE
    )
    if final.sha256 is None or final.stored is None:
        raise RuntimeError("receive() stored no file")

    for tries in range(1, _ADD_VERSION_TRIES + 1):
        try:
            version_id, findings = _add_version(
                pipe, student_id, kind, final, gate_findings, display, source, user_id
            )
            break
        except IntegrityError:
            # a concurrent upload to the same piece took this number (or created the
            # piece) between the read and the insert: read again, take the next one
            if tries == _ADD_VERSION_TRIES:
                raise
            log.info("version number taken by a concurrent upload, retrying")
    if len(received) == 2:
        _drop_unreferenced(pipe, [r.sha256 for r in received if r.sha256])
    return UploadOutcome(version_id=version_id, findings=findings)


def _add_version(
    pipe: Pipeline,
    student_id: int,
    kind: str,
    final: Received,
    gate_findings: list[Finding],
    display: str,
    source: str,
    user_id: int | None,
) -> tuple[int, list[Finding]]:
    """The writing transaction of an upload: the version numbered after the piece's
    last one (IntegrityError when a concurrent upload took that number)."""
    with pipe.db.session() as s:
        student = s.get(Student, student_id)
        if student is None:
            raise ActionRefused("dossier.unknown", "Dossier introuvable.", 404)
        upload_allowed(pipe, s, student, kind)  # again, inside the writing transaction
        piece = ensure_piece(s, student_id, kind)
        findings = gate_findings + _duplicate_findings(s, final.sha256, piece)
        number = (
            s.scalar(select(func.max(PieceVersion.number)).where(PieceVersion.piece_id == piece.id))
            or 0
        ) + 1
        version = PieceVersion(
            piece_id=piece.id,
            number=number,
            sha256=final.sha256,
            mime=final.mime or "application/octet-stream",
            pages=final.pages or 1,
            size=final.stored.stat().st_size,
            width=final.width,
            height=final.height,
            display_name=display,
            source=source,
            uploaded_by=user_id,
            intake_findings=[f.to_dict() for f in findings],
            state=ProcessingState.QUEUED,
            queued_at=pipe.clock(),
        )
        s.add(version)
        s.flush()
        audit(s, user_id, "upload", "version", version.id, kind=kind, number=number, source=source)
        version_id = version.id
    return version_id, findings


def _merge_sides(
    pipe: Pipeline, parts: list[Received], kind: str, sandbox: Sandbox
) -> tuple[Received | None, list[Finding]]:
    work = pipe.store.scratch_dir()
    try:
        out = work / "recto-verso.pdf"
        merged = merge(
            [p.stored for p in parts if p.stored], out, settings=pipe.settings, sandbox=sandbox
        )
        if not merged.ok:
            return None, [merged.finding] if merged.finding else []
        if not merged.fits:
            return None, [
                finding(
                    FileCode.TOO_LARGE,
                    size_mb=f"{merged.size / 1e6:.1f}",
                    max_bytes=pipe.settings.max_bytes,
                )
            ]
        with out.open("rb") as fh:
            final = receive(
                fh,
                "recto-verso.pdf",
                kind,
                settings=pipe.settings,
                store=pipe.store,
                sandbox=sandbox,
            )
        if final.stored is None:
            return None, list(final.verdict.findings)
        steps = [
            finding(FileCode.ORIENTATION_APPLIED, Level.INFO, result=Result.PASS, message=step)
            for step in merged.steps
        ]
        return final, steps
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _drop_unreferenced(pipe: Pipeline, hashes: Iterable[str]) -> None:
    """Delete blobs no version references (the sides once merged: identity documents
    are kept no longer than needed)."""
    with pipe.db.session() as s:
        for sha in set(hashes):
            used = s.scalar(select(func.count()).where(PieceVersion.sha256 == sha))
            if not used:
                pipe.store.delete(sha)


def _duplicate_findings(session: Session, sha: str, piece: Piece) -> list[Finding]:
    rows = session.execute(
        select(PieceVersion.number, Piece.id, Piece.kind, Piece.student_id)
        .join(Piece, PieceVersion.piece_id == Piece.id)
        .where(PieceVersion.sha256 == sha)
    ).all()
    if not rows:
        return []
    if any(r.student_id != piece.student_id for r in rows):
        # same bytes in another dossier: for the reviewer only
        return [finding(FileCode.DUPLICATE, Level.WARNING, where=" dans un autre dossier")]
    same = [r for r in rows if r.id == piece.id]
    where = f" (version {same[-1].number} de cette pièce)" if same else " pour une autre pièce"
    return [finding(FileCode.DUPLICATE, Level.INFO, result=Result.PASS, where=where)]


# -- human actions -------------------------------------------------------------------------


def record_decision(
    pipe: Pipeline,
    session: Session,
    *,
    piece: Piece,
    action: str,
    user_id: int | None,
    reasons: Sequence[str] = (),
    comment: str = "",
    version_id: int | None = None,
) -> Decision:
    """Add a decision row (never edits one). Validation and refusal apply to the current
    version, which must have finished processing; a refusal needs catalogue reasons."""
    action = DecisionAction(action)
    current = piece.current
    if action in (DecisionAction.VALIDATED, DecisionAction.REFUSED, DecisionAction.REOPENED):
        if current is None:
            raise ActionRefused(
                "decision.no_file", "Aucun fichier n’a été déposé pour cette pièce."
            )
        if version_id is not None and version_id != current.id:
            raise ActionRefused(
                "decision.stale",
                "Une nouvelle version a été déposée entre-temps : rechargez la page.",
            )
        if action is not DecisionAction.REOPENED and current.state in (
            ProcessingState.QUEUED,
            ProcessingState.RUNNING,
        ):
            raise ActionRefused(
                "decision.processing", "La vérification automatique n’est pas terminée."
            )
    allowed = {r.code for r in pipe.catalogue.reasons_for(piece.kind)}
    # reasons belong to refusals only (boxes ticked before clicking "Valider" are dropped)
    reasons = [r for r in dict.fromkeys(reasons) if r] if action is DecisionAction.REFUSED else []
    unknown = [r for r in reasons if r not in allowed]
    if unknown:
        raise ActionRefused(
            "decision.reason", f"Motif inconnu pour cette pièce : {', '.join(unknown)}.", 400
        )
    if action is DecisionAction.REFUSED and not reasons:
        raise ActionRefused("decision.reason", "Choisissez au moins un motif de refus.", 400)
    on_version = action in (
        DecisionAction.VALIDATED,
        DecisionAction.REFUSED,
        DecisionAction.REOPENED,
    )
    run = current.latest_run if (current is not None and on_version) else None
    decision = Decision(
        piece_id=piece.id,
        version_id=current.id if (current is not None and on_version) else None,
        check_run_id=run.id if run else None,
        action=action,
        reasons=reasons,
        comment=(comment or "").strip()[:2000],
        user_id=user_id,
        created_at=pipe.clock(),
    )
    session.add(decision)
    session.flush()
    audit(
        session,
        user_id,
        f"decision.{action}",
        "piece",
        piece.id,
        version_id=decision.version_id,
        reasons=reasons,
    )
    return decision


def explain(
    pipe: Pipeline, session: Session, *, version: PieceVersion, text: str, user_id: int
) -> None:
    """The student explains an "À corriger" verdict: the piece goes to a person."""
    text = (text or "").strip()
    if len(text) < 10:
        raise ActionRefused(
            "explain.short",
            "Expliquez votre situation en quelques mots (10 caractères au moins).",
            400,
        )
    run = version.latest_run
    if version.state != ProcessingState.DONE or run is None or run.outcome != "rejected":
        raise ActionRefused("explain.state", "Cette pièce n’est pas « À corriger ».")
    version.explanation = text[:2000]
    version.explained_at = pipe.clock()
    audit(session, user_id, "explain", "version", version.id)


def accept_fix(pipe: Pipeline, session: Session, *, version: PieceVersion, user_id: int) -> int:
    """The student accepts the repaired photo: it becomes a new version (queued)."""
    fix = dict(version.fix or {})
    if fix.get("state") != "offered" or not fix.get("sha256"):
        raise ActionRefused("fix.none", "Aucune correction n’est proposée pour ce fichier.")
    piece = version.piece
    if piece.current is None or piece.current.id != version.id:
        raise ActionRefused(
            "fix.stale", "Un autre fichier a été déposé depuis : rechargez la page."
        )
    upload_allowed(pipe, session, piece.student, piece.kind)
    if not pipe.store.exists(fix["sha256"]):
        raise ActionRefused(
            "fix.missing", "La photo corrigée n’est plus disponible : déposez-en une nouvelle."
        )
    new = PieceVersion(
        piece_id=piece.id,
        number=version.number + 1,
        sha256=fix["sha256"],
        mime=fix.get("mime") or "image/jpeg",
        pages=1,
        size=int(fix.get("size") or 0),
        width=fix.get("width"),
        height=fix.get("height"),
        display_name="photo corrigée",
        source="photo_fix",
        uploaded_by=user_id,
        intake_findings=[],
        state=ProcessingState.QUEUED,
        queued_at=pipe.clock(),
    )
    session.add(new)
    fix["state"] = "accepted"
    version.fix = fix
    session.flush()
    audit(session, user_id, "fix.accepted", "version", new.id, from_version=version.id)
    return new.id


def decline_fix(pipe: Pipeline, session: Session, *, version: PieceVersion, user_id: int) -> None:
    fix = dict(version.fix or {})
    if fix.get("state") != "offered":
        raise ActionRefused("fix.none", "Aucune correction n’est proposée pour ce fichier.")
    fix["state"] = "declined"
    version.fix = fix
    audit(session, user_id, "fix.declined", "version", version.id)


# -- the read model -------------------------------------------------------------------------


@dataclass
class PieceView:
    spec: PieceSpec
    required: bool
    blocking: bool
    status: PieceStatus
    piece: Piece | None = None
    version: PieceVersion | None = None
    run: CheckRun | None = None
    decision: Decision | None = None  # the validation/refusal holding for the current version
    decisions: list[Decision] = field(default_factory=list)
    needs_look: bool = False
    back_for_review: bool = False

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def label(self) -> str:
        return self.status.label

    @property
    def findings(self) -> list[dict[str, Any]]:
        return list(self.run.findings) if self.run else []

    @property
    def history(self) -> list[PieceVersion]:
        return list(reversed(self.piece.versions)) if self.piece else []


@dataclass
class DossierView:
    student: Student
    pieces: list[PieceView]
    summary: DossierSummary
    groups: dict[str, tuple[str, list[PieceView], DossierSummary]]

    def piece(self, kind: str) -> PieceView | None:
        for p in self.pieces:
            if p.kind == kind:
                return p
        return None

    @property
    def enrolment(self) -> list[PieceView]:
        return [p for p in self.pieces if p.blocking]


def load_student(session: Session, student_id: int) -> Student | None:
    return session.scalar(
        select(Student)
        .where(Student.id == student_id)
        .options(
            selectinload(Student.pieces)
            .selectinload(Piece.versions)
            .selectinload(PieceVersion.runs),
            selectinload(Student.pieces).selectinload(Piece.decisions),
        )
    )


def _facts(decisions: Sequence[Decision]) -> list[DecisionFact]:
    return [DecisionFact(d.action, d.version_id, d.id, d.check_run_id) for d in decisions]


def piece_view(spec: PieceSpec, required: bool, blocking: bool, piece: Piece | None) -> PieceView:
    if piece is None:
        status = piece_status(required=required)
        return PieceView(spec, required, blocking, status)
    version = piece.current
    run = version.latest_run if version else None
    facts = _facts(piece.decisions)
    held = current_decision(facts, version.id if version else None)
    status = piece_status(
        required=required,
        override=applicability_override(facts),
        state=version.state if version else None,
        outcome=run.outcome if run else None,
        explained=bool(version and version.explanation),
        decision=held.action if held else None,
    )
    decision = next((d for d in piece.decisions if held and d.id == held.id), None)
    look = False
    if decision is not None and version is not None:
        decided = next((r for r in version.runs if r.id == decision.check_run_id), None)
        look = needs_another_look(
            held,
            report_signature(decided.outcome, decided.findings) if decided else None,
            run.id if run else None,
            report_signature(run.outcome, run.findings) if run else None,
        )
    return PieceView(
        spec=spec,
        required=required,
        blocking=blocking,
        status=status,
        piece=piece,
        version=version,
        run=run,
        decision=decision,
        decisions=list(piece.decisions),
        needs_look=look,
        back_for_review=back_for_review(status, facts, version.id if version else None),
    )


def dossier_view(pipe: Pipeline, session: Session, student: Student) -> DossierView:
    """Every piece of the dossier with its computed status, and the dossier status."""
    day = student.registration_date or pipe.clock().date()
    record = {
        "birth_date": student.birth_date,
        "first_registration": student.first_registration,
        "apprentice": student.apprentice,
        "formation_continue": student.formation_continue,
        "french_national": student.french_national,
        "requests_prrel_beneficiary": student.requests_prrel_beneficiary,
        "requests_prrel_tutor": student.requests_prrel_tutor,
        "requests_rse": student.requests_rse,
    }
    by_kind = {p.kind: p for p in student.pieces}
    views = []
    for req in pipe.catalogue.requirements(record, day):
        group = pipe.catalogue.groups[req.spec.group]
        views.append(piece_view(req.spec, req.required, group.blocking, by_kind.get(req.kind)))
    groups: dict[str, tuple[str, list[PieceView], DossierSummary]] = {}
    for code, group in pipe.catalogue.groups.items():
        members = [v for v in views if v.spec.group == code]
        if members:
            groups[code] = (group.label, members, dossier_status(v.status for v in members))
    summary = dossier_status(v.status for v in views if v.blocking)
    return DossierView(student, views, summary, groups)


def review_queue(
    pipe: Pipeline,
    session: Session,
    *,
    kind: str | None = None,
    statuses: Iterable[PieceStatus] = (PieceStatus.PENDING_REVIEW,),
    code: str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    again_only: bool = False,
    look_only: bool = False,
    limit: int = 200,
) -> list[tuple[Student, PieceView]]:
    """Pieces waiting for a person, oldest upload first (domain.md §6.3's queue and its
    « À traiter de nouveau » subset). Kind and dates filter in SQL, statuses here."""
    wanted = set(statuses)
    latest = (
        select(PieceVersion.piece_id, func.max(PieceVersion.number).label("n"))
        .group_by(PieceVersion.piece_id)
        .subquery()
    )
    q = (
        select(Piece, PieceVersion.uploaded_at)
        .join(latest, latest.c.piece_id == Piece.id)
        .join(
            PieceVersion,
            and_(PieceVersion.piece_id == Piece.id, PieceVersion.number == latest.c.n),
        )
        .join(Student, Student.id == Piece.student_id)
        .where(Student.cancelled.is_(False))
        .order_by(PieceVersion.uploaded_at, Piece.id)
        .options(
            selectinload(Piece.versions).selectinload(PieceVersion.runs),
            selectinload(Piece.decisions),
            selectinload(Piece.student),
        )
    )
    if kind:
        q = q.where(Piece.kind == kind)
    if since:
        q = q.where(PieceVersion.uploaded_at >= dt.datetime.combine(since, dt.time(), dt.UTC))
    if until:
        end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), dt.UTC)
        q = q.where(PieceVersion.uploaded_at < end)
    out: list[tuple[Student, PieceView]] = []
    specs = {p.kind: p for p in pipe.catalogue.pieces}
    for piece, _uploaded in session.execute(q):
        spec = specs.get(piece.kind)
        if spec is None:
            continue
        blocking = pipe.catalogue.groups[spec.group].blocking
        view = piece_view(spec, True, blocking, piece)
        if wanted and view.status not in wanted:
            continue
        if again_only and not view.back_for_review:
            continue
        if look_only and not view.needs_look:
            continue
        if (
            code
            and not any(
                f.get("code") == code and f.get("result") in ("fail", "inconclusive")
                for f in view.findings
            )
            and not (view.decision and code in (view.decision.reasons or []))
        ):
            continue
        out.append((piece.student, view))
        if len(out) >= limit:
            break
    return out
