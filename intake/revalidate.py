"""Batch revalidation: re-run the current rules on stored files, show what changes.

A *run* (``RevalidationRun``) selects the current version of every matching piece
whose latest report was made under another ruleset, and records one *item* per
version. Items are processed one by one (threads, or Celery workers when a broker is
configured); each result is written in one transaction together with the item's
``done`` mark, so:

- an interrupted run (even ``kill -9``) started again with the same options resumes
  the same run: finished items are not redone, none is written twice;
- in ``apply`` mode the new report is a new ``CheckRun`` (unique per version, sha256
  and ruleset: never duplicated); human decisions are never changed — a decided piece
  whose new report differs from the one its decision relied on is a *conflict* for an
  administrator (« à revoir »);
- in ``dry-run`` mode nothing but the run's own rows is written.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from intake.models import (
    CheckRun,
    Piece,
    PieceVersion,
    ProcessingState,
    RevalidationItem,
    RevalidationRun,
    Student,
)
from intake.pipeline import Pipeline, piece_view
from intake.receive import analyse, check_context, upload_options
from intake.sandbox import Sandbox
from intake.status import report_signature

log = logging.getLogger("justif.revalidate")


class Mode(StrEnum):
    DRY_RUN = "dry_run"
    APPLY = "apply"


class ItemState(StrEnum):
    PENDING = "pending"
    DONE = "done"
    ERROR = "error"


class ItemResult(StrEnum):
    DONE = "done"
    ALREADY = "already"  # finished by someone else
    BUSY = "busy"  # another worker holds it
    ERROR = "error"


@dataclass(frozen=True)
class Selection:
    kind: str | None = None
    status: str | None = None  # a computed status code (to_fix, pending_review, validated…)
    since: dt.date | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "status": self.status,
            "since": self.since.isoformat() if self.since else None,
        }


def run_key(mode: Mode, selection: Selection, ruleset: str) -> str:
    blob = json.dumps([str(mode), selection.to_dict(), ruleset], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def _failed_codes(findings: Iterable[dict[str, Any]]) -> list[str]:
    return sorted(
        {
            str(f.get("code"))
            for f in findings
            if f.get("result") in ("fail", "inconclusive") and f.get("level") != "info"
        }
    )


# -- selection ------------------------------------------------------------------------


def select_versions(pipe: Pipeline, selection: Selection, ruleset: str) -> list[dict[str, Any]]:
    """The current version of each matching piece whose latest report is stale
    (made under another ruleset), with its 'before' report and decision state."""
    latest = (
        select(PieceVersion.piece_id, func.max(PieceVersion.number).label("n"))
        .group_by(PieceVersion.piece_id)
        .subquery()
    )
    q = (
        select(Piece)
        .join(latest, latest.c.piece_id == Piece.id)
        .join(
            PieceVersion,
            and_(PieceVersion.piece_id == Piece.id, PieceVersion.number == latest.c.n),
        )
        .join(Student, Student.id == Piece.student_id)
        .where(
            Student.cancelled.is_(False),  # a cancelled enrolment is frozen (domain.md §7)
            PieceVersion.state.in_([ProcessingState.DONE, ProcessingState.FAILED]),
            PieceVersion.purged_at.is_(None),  # bytes deleted after retention
        )
        .order_by(Piece.id)
        .options(
            selectinload(Piece.versions).selectinload(PieceVersion.runs),
            selectinload(Piece.decisions),
        )
    )
    if selection.kind:
        q = q.where(Piece.kind == selection.kind)
    if selection.since:
        start = dt.datetime.combine(selection.since, dt.time(), dt.UTC)
        q = q.where(PieceVersion.uploaded_at >= start)
    specs = {p.kind: p for p in pipe.catalogue.pieces}
    out = []
    with pipe.db.session() as s:
        for piece in s.scalars(q):
            version = piece.current
            run = version.latest_run if version else None
            if version is None or (run is not None and run.ruleset == ruleset):
                continue
            spec = specs.get(piece.kind)
            view = piece_view(spec, True, True, piece) if spec is not None else None
            if selection.status and (view is None or str(view.status) != selection.status):
                continue
            decision = view.decision if view is not None else None
            decided_run = None
            if decision is not None:
                decided_run = next((r for r in version.runs if r.id == decision.check_run_id), None)
            out.append(
                {
                    "version_id": version.id,
                    "kind": piece.kind,
                    "before_run_id": run.id if run else None,
                    "before_outcome": run.outcome if run else None,
                    "before_codes": _failed_codes(run.findings) if run else [],
                    "decision": decision.action if decision is not None else None,
                    "decided_signature": list(
                        report_signature(decided_run.outcome, decided_run.findings)
                    )
                    if decided_run is not None
                    else None,
                }
            )
    return out


def open_run(
    pipe: Pipeline, mode: Mode, selection: Selection, *, started_by: str = "cli"
) -> tuple[int, bool]:
    """The unfinished run with these options (resumed: True), or a new one."""
    ruleset = pipe.ruleset
    key = run_key(mode, selection, ruleset)
    with pipe.db.session() as s:
        existing = s.scalar(
            select(RevalidationRun.id)
            .where(RevalidationRun.key == key, RevalidationRun.finished_at.is_(None))
            .order_by(RevalidationRun.id.desc())
        )
        if existing is not None:
            return existing, True
    rows = select_versions(pipe, selection, ruleset)
    with pipe.db.session() as s:
        run = RevalidationRun(
            key=key,
            mode=str(mode),
            ruleset=ruleset,
            filters=selection.to_dict(),
            total=len(rows),
            started_by=started_by,
        )
        s.add(run)
        s.flush()
        for row in rows:
            decided = row.pop("decided_signature")
            s.add(RevalidationItem(run_id=run.id, decided_signature=decided, **row))
        return run.id, False


def pending_items(pipe: Pipeline, run_id: int) -> list[int]:
    with pipe.db.session() as s:
        return list(
            s.scalars(
                select(RevalidationItem.id)
                .where(
                    RevalidationItem.run_id == run_id,
                    RevalidationItem.state == ItemState.PENDING,
                )
                .order_by(RevalidationItem.id)
            )
        )


def progress(pipe: Pipeline, run_id: int) -> tuple[int, int]:
    """(finished items, total items) of a run."""
    with pipe.db.session() as s:
        total = s.scalar(
            select(func.count())
            .select_from(RevalidationItem)
            .where(RevalidationItem.run_id == run_id)
        )
        done = s.scalar(
            select(func.count())
            .select_from(RevalidationItem)
            .where(
                RevalidationItem.run_id == run_id,
                RevalidationItem.state != ItemState.PENDING,
            )
        )
    return int(done or 0), int(total or 0)


# -- one item -------------------------------------------------------------------------


LEASE = dt.timedelta(minutes=10)


def _claim(pipe: Pipeline, item_id: int, steal: bool) -> bool:
    now = pipe.clock()
    cond = [RevalidationItem.id == item_id, RevalidationItem.state == ItemState.PENDING]
    if not steal:
        cond.append(or_(RevalidationItem.lease_until.is_(None), RevalidationItem.lease_until < now))
    with pipe.db.session() as s:
        res = s.execute(
            update(RevalidationItem)
            .where(*cond)
            .values(lease_until=now + LEASE, attempts=RevalidationItem.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        return res.rowcount == 1


def process_item(
    pipe: Pipeline, item_id: int, *, sandbox: Sandbox | None = None, steal: bool = False
) -> ItemResult:
    """Re-check one item's version and record the result (idempotent)."""
    if not _claim(pipe, item_id, steal):
        with pipe.db.session() as s:
            item = s.get(RevalidationItem, item_id)
            done = item is None or item.state != ItemState.PENDING
        return ItemResult.ALREADY if done else ItemResult.BUSY
    with pipe.db.session() as s:
        item = s.get(RevalidationItem, item_id)
        run = s.get(RevalidationRun, item.run_id)
        version = s.get(PieceVersion, item.version_id)
        student = version.piece.student
        job = {
            "mode": run.mode,
            "ruleset": run.ruleset,
            "sha256": version.sha256,
            "mime": version.mime,
            "kind": version.piece.kind,
            "record": student.record(),
            "registration_date": student.registration_date,
            "intake_findings": list(version.intake_findings or []),
        }
    own = sandbox is None
    box = sandbox or pipe.new_sandbox()
    started = pipe.clock()
    t0 = time.perf_counter()
    try:
        path = pipe.store.path_for(job["sha256"])
        if not path.is_file():
            raise FileNotFoundError(f"blob {job['sha256'][:12]} absent du stockage")
        context = check_context(
            pipe.settings,
            student=job["record"],
            registration_date=job["registration_date"],
            options=upload_options(job["intake_findings"]),
        )
        verdict = analyse(
            path, job["mime"], job["kind"], context, settings=pipe.settings, sandbox=box
        )
    except Exception as exc:  # a missing blob, a database hiccup: recorded, not raised
        log.exception("revalidation item %s failed", item_id)
        with pipe.db.session() as s:
            s.execute(
                update(RevalidationItem)
                .where(RevalidationItem.id == item_id, RevalidationItem.state == ItemState.PENDING)
                .values(
                    state=ItemState.ERROR,
                    error=f"{type(exc).__name__}: {exc}"[:500],
                    finished_at=pipe.clock(),
                )
                .execution_options(synchronize_session=False)
            )
        return ItemResult.ERROR
    finally:
        if own:
            box.close()
    elapsed = round((time.perf_counter() - t0) * 1000, 1)
    findings = [f.to_dict() for f in verdict.findings]
    if job["intake_findings"]:
        findings = list(job["intake_findings"]) + findings
    outcome = str(verdict.outcome)
    codes = _failed_codes(findings)
    fields = verdict.to_dict()["fields"]
    return _record(pipe, item_id, job, outcome, codes, findings, fields, started, elapsed)


def _record(
    pipe: Pipeline,
    item_id: int,
    job: dict[str, Any],
    outcome: str,
    codes: list[str],
    findings: list[dict[str, Any]],
    fields: dict[str, Any],
    started: dt.datetime,
    elapsed: float,
) -> ItemResult:
    now = pipe.clock()
    for _attempt in range(2):
        try:
            with pipe.db.session() as s:
                item = s.get(RevalidationItem, item_id)
                if item.state != ItemState.PENDING:
                    return ItemResult.ALREADY
                after_run_id = None
                if job["mode"] == Mode.APPLY:
                    existing = s.scalar(
                        select(CheckRun).where(
                            CheckRun.version_id == item.version_id,
                            CheckRun.file_sha256 == job["sha256"],
                            CheckRun.ruleset == job["ruleset"],
                        )
                    )
                    if existing is None:
                        existing = CheckRun(
                            version_id=item.version_id,
                            file_sha256=job["sha256"],
                            ruleset=job["ruleset"],
                            outcome=outcome,
                            findings=findings,
                            fields=fields,
                            started_at=started,
                            finished_at=now,
                            elapsed_ms=elapsed,
                            runner="revalidate",
                        )
                        s.add(existing)
                        s.flush()
                    after_run_id = existing.id
                conflict = bool(
                    item.decision
                    and item.decided_signature is not None
                    and list(report_signature(outcome, findings)) != list(item.decided_signature)
                )
                res = s.execute(
                    update(RevalidationItem)
                    .where(
                        RevalidationItem.id == item_id, RevalidationItem.state == ItemState.PENDING
                    )
                    .values(
                        state=ItemState.DONE,
                        after_outcome=outcome,
                        after_codes=codes,
                        after_run_id=after_run_id,
                        conflict=conflict,
                        finished_at=now,
                        elapsed_ms=elapsed,
                        lease_until=None,
                    )
                    .execution_options(synchronize_session=False)
                )
                if res.rowcount != 1:
                    s.rollback()
                    return ItemResult.ALREADY
            return ItemResult.DONE
        except IntegrityError:
            # a concurrent check wrote the same (version, sha256, ruleset) report: use it
            continue
    return ItemResult.ALREADY


def finish(pipe: Pipeline, run_id: int) -> None:
    with pipe.db.session() as s:
        left = s.scalar(
            select(func.count())
            .select_from(RevalidationItem)
            .where(RevalidationItem.run_id == run_id, RevalidationItem.state == ItemState.PENDING)
        )
        if not left:
            s.execute(
                update(RevalidationRun)
                .where(RevalidationRun.id == run_id, RevalidationRun.finished_at.is_(None))
                .values(finished_at=pipe.clock())
                .execution_options(synchronize_session=False)
            )


# -- the diff ---------------------------------------------------------------------------


@dataclass
class KindDiff:
    checked: int = 0
    newly_rejected: int = 0
    newly_accepted: int = 0
    codes_changed: int = 0
    unchanged: int = 0
    conflicts: int = 0
    errors: int = 0


@dataclass
class RunReport:
    run_id: int
    mode: str
    ruleset: str
    total: int
    by_kind: dict[str, KindDiff] = field(default_factory=dict)
    items: list[dict[str, Any]] = field(default_factory=list)
    code_changes: Counter[str] = field(default_factory=Counter)

    @property
    def conflicts(self) -> list[dict[str, Any]]:
        return [i for i in self.items if i["conflict"]]


def report(pipe: Pipeline, run_id: int) -> RunReport:
    with pipe.db.session() as s:
        run = s.get(RevalidationRun, run_id)
        rows = s.execute(
            select(RevalidationItem, Piece.id, Student)
            .join(PieceVersion, PieceVersion.id == RevalidationItem.version_id)
            .join(Piece, Piece.id == PieceVersion.piece_id)
            .join(Student, Student.id == Piece.student_id)
            .where(RevalidationItem.run_id == run_id)
            .order_by(RevalidationItem.id)
        ).all()
        out = RunReport(run.id, run.mode, run.ruleset, run.total)
        by_kind: dict[str, KindDiff] = defaultdict(KindDiff)
        for item, piece_id, student in rows:
            diff = by_kind[item.kind]
            entry = {
                "item": item.id,
                "piece": piece_id,
                "version": item.version_id,
                "student": student.reference,
                "kind": item.kind,
                "state": item.state,
                "decision": item.decision,
                "before_outcome": item.before_outcome,
                "after_outcome": item.after_outcome,
                "before_codes": list(item.before_codes or []),
                "after_codes": list(item.after_codes or []),
                "conflict": bool(item.conflict),
                "error": item.error,
            }
            out.items.append(entry)
            if item.state == ItemState.ERROR:
                diff.errors += 1
                continue
            if item.state != ItemState.DONE:
                continue
            diff.checked += 1
            before, after = item.before_outcome, item.after_outcome
            if after == "rejected" and before != "rejected":
                diff.newly_rejected += 1
            elif after == "accepted" and before != "accepted":
                diff.newly_accepted += 1
            elif set(entry["before_codes"]) != set(entry["after_codes"]):
                diff.codes_changed += 1
            else:
                diff.unchanged += 1
            for code in set(entry["after_codes"]) - set(entry["before_codes"]):
                out.code_changes[f"+{code}"] += 1
            for code in set(entry["before_codes"]) - set(entry["after_codes"]):
                out.code_changes[f"-{code}"] += 1
            if item.conflict:
                diff.conflicts += 1
        out.by_kind = dict(sorted(by_kind.items()))
    return out


def write_report(rep: RunReport, path: Path) -> None:
    from intake.storage import atomic_write

    if path.suffix.lower() == ".json":
        data = {
            "run": rep.run_id,
            "mode": rep.mode,
            "ruleset": rep.ruleset,
            "by_kind": {k: vars(v) for k, v in rep.by_kind.items()},
            "code_changes": dict(rep.code_changes),
            "items": rep.items,
        }
        atomic_write(path, json.dumps(data, ensure_ascii=False, indent=2).encode(), mode=0o640)
        return
    import io

    buf = io.StringIO()
    columns = [
        "item",
        "piece",
        "version",
        "student",
        "kind",
        "state",
        "decision",
        "before_outcome",
        "after_outcome",
        "before_codes",
        "after_codes",
        "conflict",
        "error",
    ]
    writer = csv.DictWriter(buf, fieldnames=columns)
    writer.writeheader()
    for row in rep.items:
        writer.writerow(
            {
                **row,
                "before_codes": " ".join(row["before_codes"]),
                "after_codes": " ".join(row["after_codes"]),
            }
        )
    atomic_write(path, buf.getvalue().encode(), mode=0o640)


# -- driving a run ----------------------------------------------------------------------


def run_in_process(
    pipe: Pipeline,
    run_id: int,
    *,
    workers: int = 1,
    on_item: Callable[[ItemResult], None] | None = None,
) -> Counter[str]:
    """Process the run's pending items here: in this thread with one worker, else in a
    pool of threads, each with its own warm sandbox."""
    results: Counter[str] = Counter()
    ids = pending_items(pipe, run_id)
    if workers <= 1:
        with pipe.new_sandbox() as box:
            for item_id in ids:
                result = process_item(pipe, item_id, sandbox=box, steal=True)
                results[str(result)] += 1
                if on_item:
                    on_item(result)
    else:
        import queue
        import threading

        todo: queue.Queue[int] = queue.Queue()
        for item_id in ids:
            todo.put(item_id)
        lock = threading.Lock()

        def work() -> None:
            with pipe.new_sandbox() as box:
                while True:
                    try:
                        item_id = todo.get_nowait()
                    except queue.Empty:
                        return
                    result = process_item(pipe, item_id, sandbox=box, steal=True)
                    with lock:
                        results[str(result)] += 1
                        if on_item:
                            on_item(result)

        threads = [threading.Thread(target=work, daemon=True) for _ in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finish(pipe, run_id)
    return results


def run_on_celery(
    pipe: Pipeline,
    run_id: int,
    *,
    poll_s: float = 0.5,
    on_progress: Callable[[int, int], None] | None = None,
    timeout_s: float | None = None,
) -> tuple[int, int]:
    """Fan the pending items out to the Celery workers and follow them in the database."""
    from intake.celery_app import REVALIDATE_TASK, make_celery

    celery = make_celery(pipe.settings.broker_url or None)
    for item_id in pending_items(pipe, run_id):
        celery.send_task(REVALIDATE_TASK, args=[item_id])
    deadline = time.monotonic() + timeout_s if timeout_s else None
    while True:
        done, total = progress(pipe, run_id)
        if on_progress:
            on_progress(done, total)
        if done >= total:
            break
        if deadline and time.monotonic() > deadline:
            break
        time.sleep(poll_s)
    finish(pipe, run_id)
    return progress(pipe, run_id)
