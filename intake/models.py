"""Database models (SQLAlchemy 2): dossiers, users, pieces, versions, check runs,
decisions, audit events.

Rules kept by the schema itself:

- every upload is a new :class:`PieceVersion`; versions, check runs and decisions are
  never updated into something else (a decision is never edited: a new row is added);
- statuses shown to people are **computed** (``intake.status``), never stored;
- a check run is unique per (version, file sha256, ruleset version): re-running the
  same rules on the same bytes is a no-op (idempotent tasks);
- a version's processing state moves queued → running → done/failed through
  conditional updates with a lease (``intake.pipeline``), which works the same on
  SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: use an aware UTC datetime")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Role(StrEnum):
    STUDENT = "student"
    ADMIN = "admin"


class ProcessingState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class DecisionAction(StrEnum):
    VALIDATED = "validated"  # the current version is accepted by a person
    REFUSED = "refused"  # the current version is refused, with reasons
    REOPENED = "reopened"  # an earlier validation/refusal of this version no longer holds
    NOT_APPLICABLE = "not_applicable"  # the piece does not concern this student
    APPLICABLE = "applicable"  # the piece is required after all


class Student(Base):
    """A student's enrolment dossier: the record documents are compared with and the
    profile flags that decide which pieces are required (domain.md §1)."""

    __tablename__ = "students"

    id: Mapped[int] = mapped_column(primary_key=True)
    student_number: Mapped[str | None] = mapped_column(String(32), unique=True)
    application_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    last_name: Mapped[str] = mapped_column(String(120))
    first_name: Mapped[str] = mapped_column(String(120))
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    email: Mapped[str | None] = mapped_column(String(200))
    ine: Mapped[str | None] = mapped_column(String(16))
    cvec_number: Mapped[str | None] = mapped_column(String(32))
    academic_year: Mapped[str] = mapped_column(String(9))
    registration_date: Mapped[dt.date | None] = mapped_column(Date)
    programme: Mapped[str | None] = mapped_column(String(200))
    # profile flags
    first_registration: Mapped[bool] = mapped_column(Boolean, default=True)
    apprentice: Mapped[bool] = mapped_column(Boolean, default=False)
    formation_continue: Mapped[bool] = mapped_column(Boolean, default=False)
    french_national: Mapped[bool | None] = mapped_column(Boolean)
    bac_after_1995: Mapped[bool | None] = mapped_column(Boolean)
    requests_prrel_beneficiary: Mapped[bool] = mapped_column(Boolean, default=False)
    requests_prrel_tutor: Mapped[bool] = mapped_column(Boolean, default=False)
    requests_rse: Mapped[bool] = mapped_column(Boolean, default=False)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    pieces: Mapped[list[Piece]] = relationship(back_populates="student", order_by="Piece.id")
    user: Mapped[User | None] = relationship(back_populates="student")

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name.upper()}"

    @property
    def reference(self) -> str:
        """The identifier a student quotes when writing in."""
        return self.student_number or self.application_id or f"D{self.id}"

    def record(self) -> dict[str, Any]:
        """The validators' Student mapping (what documents are compared with)."""
        return {
            "last_name": self.last_name,
            "first_name": self.first_name,
            "birth_date": self.birth_date,
            "ine": self.ine,
            "cvec_number": self.cvec_number,
            "academic_year": self.academic_year,
            "registration_date": self.registration_date,
            "first_registration": self.first_registration,
            "apprentice": self.apprentice,
            "bac_after_1995": self.bac_after_1995,
        }


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    student_id: Mapped[int | None] = mapped_column(ForeignKey("students.id"), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    student: Mapped[Student | None] = relationship(back_populates="user")
    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user")

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


class ApiToken(Base):
    """A bearer token for integrations; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    user: Mapped[User] = relationship(back_populates="tokens")


class Piece(Base):
    """One slot of a dossier (a kind). Its versions are the uploads."""

    __tablename__ = "pieces"
    __table_args__ = (UniqueConstraint("student_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    student: Mapped[Student] = relationship(back_populates="pieces")
    versions: Mapped[list[PieceVersion]] = relationship(
        back_populates="piece", order_by="PieceVersion.number"
    )
    decisions: Mapped[list[Decision]] = relationship(back_populates="piece", order_by="Decision.id")

    @property
    def current(self) -> PieceVersion | None:
        return self.versions[-1] if self.versions else None


class PieceVersion(Base):
    """One stored file of a piece (the sanitised bytes, content-addressed)."""

    __tablename__ = "piece_versions"
    __table_args__ = (
        UniqueConstraint("piece_id", "number"),
        Index("ix_piece_versions_state_lease", "state", "lease_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    piece_id: Mapped[int] = mapped_column(ForeignKey("pieces.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    mime: Mapped[str] = mapped_column(String(40))
    pages: Mapped[int] = mapped_column(Integer, default=1)
    size: Mapped[int] = mapped_column(Integer, default=0)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    # upload | merge | photo_fix | shrink | api
    source: Mapped[str] = mapped_column(String(20), default="upload")
    uploaded_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # findings of the upload gate that did not block storage (duplicate, metadata…)
    intake_findings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # processing (domain.md §6.1, layer 1)
    state: Mapped[str] = mapped_column(String(12), default=ProcessingState.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    queued_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    lease_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    # PNG previews rendered in the child: list of blob sha256, one per page
    previews: Mapped[list[str]] = mapped_column(JSON, default=list)
    # the student's explanation of an À corriger verdict (→ En attente de validation)
    explanation: Mapped[str | None] = mapped_column(Text)
    explained_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    # a repaired copy offered to the student (photo): sha256, preview, actions, state
    fix: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # retention (security.md §8): the bytes are deleted, the record, report and
    # decision stay
    purged_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)

    piece: Mapped[Piece] = relationship(back_populates="versions")
    runs: Mapped[list[CheckRun]] = relationship(back_populates="version", order_by="CheckRun.id")

    @property
    def latest_run(self) -> CheckRun | None:
        return self.runs[-1] if self.runs else None


class CheckRun(Base):
    """The automated report on one version under one ruleset (domain.md §6.1, layer 2)."""

    __tablename__ = "check_runs"
    __table_args__ = (UniqueConstraint("version_id", "file_sha256", "ruleset"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("piece_versions.id"), index=True)
    file_sha256: Mapped[str] = mapped_column(String(64))
    ruleset: Mapped[str] = mapped_column(String(40))
    outcome: Mapped[str] = mapped_column(String(12))
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    elapsed_ms: Mapped[float] = mapped_column(default=0.0)
    runner: Mapped[str] = mapped_column(String(20), default="inprocess")

    version: Mapped[PieceVersion] = relationship(back_populates="runs")

    @property
    def codes(self) -> list[str]:
        return [f["code"] for f in self.findings or []]


class Decision(Base):
    """A human decision (domain.md §6.1, layer 3). Never updated: a change adds a row."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    piece_id: Mapped[int] = mapped_column(ForeignKey("pieces.id"), index=True)
    version_id: Mapped[int | None] = mapped_column(ForeignKey("piece_versions.id"))
    check_run_id: Mapped[int | None] = mapped_column(ForeignKey("check_runs.id"))
    action: Mapped[str] = mapped_column(String(20))
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    comment: Mapped[str] = mapped_column(Text, default="")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)

    piece: Mapped[Piece] = relationship(back_populates="decisions")
    user: Mapped[User | None] = relationship()


class AuditEvent(Base):
    """Who did or saw what, and when (ASVS 16.3: every administrator view is logged)."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_user_action_at", "user_id", "action", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(40))
    target_type: Mapped[str] = mapped_column(String(20), default="")
    target_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    user: Mapped[User | None] = relationship()


class RevalidationRun(Base):
    """One `justif revalidate` run: its options, ruleset and progress. An unfinished
    run with the same key (mode, filters, ruleset) is resumed, never started twice."""

    __tablename__ = "revalidation_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(32), index=True)
    mode: Mapped[str] = mapped_column(String(12))
    ruleset: Mapped[str] = mapped_column(String(40))
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    total: Mapped[int] = mapped_column(Integer, default=0)
    started_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class RevalidationItem(Base):
    """One version of a run: the report before, the report after, written once."""

    __tablename__ = "revalidation_items"
    __table_args__ = (
        UniqueConstraint("run_id", "version_id"),
        Index("ix_revalidation_items_run_state", "run_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("revalidation_runs.id"))
    version_id: Mapped[int] = mapped_column(ForeignKey("piece_versions.id"))
    kind: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    before_run_id: Mapped[int | None] = mapped_column(ForeignKey("check_runs.id"))
    before_outcome: Mapped[str | None] = mapped_column(String(12))
    before_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    decision: Mapped[str | None] = mapped_column(String(20))
    decided_signature: Mapped[list[Any] | None] = mapped_column(JSON)
    after_outcome: Mapped[str | None] = mapped_column(String(12))
    after_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    after_run_id: Mapped[int | None] = mapped_column(ForeignKey("check_runs.id"))
    conflict: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text)
    elapsed_ms: Mapped[float] = mapped_column(default=0.0)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
