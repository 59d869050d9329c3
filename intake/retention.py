"""Retention of identity documents (security.md §8, to confirm with the DPO).

An identity piece is kept until an administrator has decided on it, plus an appeal
window (``Settings.retention_identity_days``). Then the bytes of every version of that
piece — the stored file, its PNG previews, a repaired copy — are deleted; the version
rows, their reports (document type, number, validity, age flags) and the decisions
stay. A blob still referenced by another, unpurged version is kept (content-addressed
storage). Run nightly: ``justif purge`` (cron or a Celery beat in the service's
unavailability window, domain.md §7).

The same run deletes what no version references: a blob stored by an upload whose
process died before its version was committed (older than ``ORPHAN_AFTER_S``, so an
upload in flight is never touched), and the shrunk copies offered to students and not
taken (``intake.offers``).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from intake import offers
from intake.models import Decision, DecisionAction, Piece, PieceVersion
from intake.pipeline import Pipeline, audit
from intake.status import DecisionFact, current_decision

PURGED_KINDS = ("identity",)
# a blob no version references is an orphan once it is this old (uploads commit their
# version seconds after storing the blob; storing it again makes it fresh)
ORPHAN_AFTER_S = 24 * 3600


@dataclass
class PurgeReport:
    versions: list[int] = field(default_factory=list)
    blobs_deleted: int = 0
    blobs_kept: int = 0  # still referenced elsewhere
    orphans: int = 0  # blobs no version references, older than ORPHAN_AFTER_S
    offers_deleted: int = 0


def _hashes(v: PieceVersion) -> set[str]:
    out = {v.sha256, *(v.previews or [])}
    if v.fix:
        out.update(h for h in (v.fix.get("sha256"), v.fix.get("preview")) if h)
    return {h for h in out if h}


def due_versions(pipe: Pipeline, now: dt.datetime | None = None) -> list[int]:
    """Versions of decided identity pieces whose decision is older than the window."""
    now = now or pipe.clock()
    limit = now - dt.timedelta(days=pipe.settings.retention_identity_days)
    due: list[int] = []
    with pipe.db.session() as s:
        pieces = s.scalars(
            select(Piece)
            .where(Piece.kind.in_(PURGED_KINDS))
            .options(selectinload(Piece.versions), selectinload(Piece.decisions))
        )
        for piece in pieces:
            current = piece.current
            if current is None:
                continue
            facts = [
                DecisionFact(d.action, d.version_id, d.id, d.check_run_id) for d in piece.decisions
            ]
            held = current_decision(facts, current.id)
            if held is None or held.action not in (
                DecisionAction.VALIDATED,
                DecisionAction.REFUSED,
            ):
                continue
            decision = s.get(Decision, held.id)
            if decision is None or decision.created_at > limit:
                continue
            due.extend(v.id for v in piece.versions if v.purged_at is None)
    return due


def _references(pipe: Pipeline) -> tuple[set[str], set[str]]:
    """Blobs of the versions still kept, and of the purged ones (one scan of the table)."""
    keep: set[str] = set()
    purged: set[str] = set()
    with pipe.db.session() as s:
        for v in s.scalars(select(PieceVersion)):
            (purged if v.purged_at is not None else keep).update(_hashes(v))
    return keep, purged


def orphan_blobs(
    pipe: Pipeline, referenced: set[str] | None = None, *, now_s: float | None = None
) -> list[str]:
    """Blobs no version references (file, previews, repaired photo), old enough."""
    now_s = now_s if now_s is not None else time.time()
    if referenced is None:
        referenced = set().union(*_references(pipe))
    out = []
    for sha in pipe.store.iter_hashes():
        if sha in referenced:
            continue
        try:
            if pipe.store.age_s(sha, now_s) >= ORPHAN_AFTER_S:
                out.append(sha)
        except FileNotFoundError:
            continue
    return sorted(out)


def purge(pipe: Pipeline, *, now: dt.datetime | None = None, dry_run: bool = False) -> PurgeReport:
    now = now or pipe.clock()
    report = PurgeReport(versions=due_versions(pipe, now))
    if dry_run:
        report.orphans = len(orphan_blobs(pipe))
        return report
    purging = set(report.versions)
    with pipe.db.session() as s:
        if purging:
            for v in s.scalars(select(PieceVersion).where(PieceVersion.id.in_(purging))):
                v.purged_at = now
            audit(
                s,
                None,
                "retention.purge",
                "version",
                None,
                versions=sorted(purging),
                days=pipe.settings.retention_identity_days,
            )
    # rows are marked first, bytes deleted after: a crash in between leaves bytes that
    # the next run deletes (every purged version's hashes are swept, every run)
    keep, candidates = _references(pipe)
    for sha in sorted(candidates):
        if sha in keep:
            report.blobs_kept += 1
        elif pipe.store.exists(sha) and pipe.store.delete(sha):
            report.blobs_deleted += 1
    orphans = orphan_blobs(pipe, keep | candidates)
    report.orphans = sum(pipe.store.delete_if_stale(sha, ORPHAN_AFTER_S) for sha in orphans)
    report.offers_deleted = offers.sweep_offers(pipe.settings, now=time.time())
    return report
