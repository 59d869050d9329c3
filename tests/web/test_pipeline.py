"""check_version: lease, idempotency, retries, previews, decisions never overwritten;
store_upload: refused files create nothing, recto + verso become one PDF."""

from __future__ import annotations

import datetime as dt
import io
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from intake.config import Settings
from intake.db import Database
from intake.models import AuditEvent, CheckRun, PieceVersion, ProcessingState, Student
from intake.pipeline import (
    CheckResult,
    Pipeline,
    check_version,
    dossier_view,
    ensure_piece,
    load_student,
    pending_versions,
    record_decision,
    store_upload,
)
from intake.sandbox import SandboxFailure
from intake.status import PieceStatus
from tests.dburl import fresh_database_url
from tests.web.helpers import FakeSandbox, jpeg_bytes, png_bytes, text_pdf


@pytest.fixture
def pipe(tmp_path: Path) -> Pipeline:
    db = Database(fresh_database_url(tmp_path))
    db.upgrade()
    p = Pipeline(db, Settings(data_dir=tmp_path / "data", academic_year="2026-2027"))
    yield p
    db.dispose()


def add_student(pipe: Pipeline, **kw: Any) -> int:
    values = {
        "last_name": "Martin",
        "first_name": "Camille",
        "birth_date": dt.date(2007, 3, 14),
        "academic_year": "2026-2027",
        "registration_date": dt.date(2026, 7, 10),
    }
    values.update(kw)
    with pipe.db.session() as s:
        st = Student(**values)
        s.add(st)
        s.flush()
        return st.id


def add_version(
    pipe: Pipeline, student_id: int, kind: str = "cvec", data: bytes = b"%PDF-1.4 x"
) -> int:
    sha = pipe.store.put_bytes(data)
    with pipe.db.session() as s:
        piece = ensure_piece(s, student_id, kind)
        n = s.scalar(select(func.count()).where(PieceVersion.piece_id == piece.id)) + 1
        v = PieceVersion(
            piece_id=piece.id, number=n, sha256=sha, mime="application/pdf", queued_at=pipe.clock()
        )
        s.add(v)
        s.flush()
        return v.id


def view_of(pipe: Pipeline, student_id: int, kind: str):
    with pipe.db.sessions() as s:
        return dossier_view(pipe, s, load_student(s, student_id)).piece(kind)


REJECTED = {
    "outcome": "rejected",
    "findings": [
        {
            "code": "kind.not_checked",
            "level": "error",
            "message": "x",
            "detail": {},
            "result": "fail",
        }
    ],
    "fields": {"ine": "0100008010J"},
}


def test_check_saves_report_previews_and_is_idempotent(pipe):
    sid = add_student(pipe)
    vid = add_version(pipe, sid)
    box = FakeSandbox(REJECTED)
    assert check_version(vid, pipe, sandbox=box) is CheckResult.DONE
    assert box.calls == ["check", "preview"]
    piece = view_of(pipe, sid, "cvec")
    assert piece.status is PieceStatus.TO_FIX
    assert piece.run.fields == {"ine": "0100008010J"}
    assert len(piece.version.previews) == 1 and pipe.store.exists(piece.version.previews[0])
    # finished: a second submission does nothing
    assert check_version(vid, pipe, sandbox=box) is CheckResult.SKIPPED
    # queued again with the same bytes and ruleset: the existing report is kept
    with pipe.db.session() as s:
        s.execute(update(PieceVersion).where(PieceVersion.id == vid).values(state="queued"))
    assert check_version(vid, pipe, sandbox=box) is CheckResult.ALREADY
    with pipe.db.session() as s:
        assert s.scalar(select(func.count()).select_from(CheckRun)) == 1
        assert s.get(PieceVersion, vid).state == "done"
    assert box.calls.count("check") == 1


def test_a_live_lease_is_respected_and_an_expired_one_taken_over(pipe):
    sid = add_student(pipe)
    vid = add_version(pipe, sid)
    now = pipe.clock()
    with pipe.db.session() as s:
        s.execute(
            update(PieceVersion)
            .where(PieceVersion.id == vid)
            .values(state="running", attempts=1, lease_until=now + dt.timedelta(minutes=5))
        )
    assert pending_versions(pipe) == []
    assert check_version(vid, pipe, sandbox=FakeSandbox()) is CheckResult.SKIPPED
    with pipe.db.session() as s:
        s.execute(
            update(PieceVersion)
            .where(PieceVersion.id == vid)
            .values(lease_until=now - dt.timedelta(seconds=1))
        )
    assert pending_versions(pipe) == [vid]
    assert check_version(vid, pipe, sandbox=FakeSandbox()) is CheckResult.DONE
    with pipe.db.session() as s:
        assert s.get(PieceVersion, vid).attempts == 2


def test_concurrent_claims_run_the_check_once(pipe):
    sid = add_student(pipe)
    vid = add_version(pipe, sid)
    results: list[CheckResult] = []
    boxes = [FakeSandbox() for _ in range(4)]
    threads = [
        threading.Thread(target=lambda b=b: results.append(check_version(vid, pipe, sandbox=b)))
        for b in boxes
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == sorted([CheckResult.DONE] + [CheckResult.SKIPPED] * 3)
    assert sum(b.calls.count("check") for b in boxes) == 1


def test_a_lost_lease_does_not_write(pipe):
    sid = add_student(pipe)
    vid = add_version(pipe, sid)

    class Stealing(FakeSandbox):
        def run(self, op, args, **kw):
            if op == "check":  # another worker takes over meanwhile
                with pipe.db.session() as s:
                    s.execute(update(PieceVersion).where(PieceVersion.id == vid).values(attempts=9))
            return super().run(op, args, **kw)

    assert check_version(vid, pipe, sandbox=Stealing()) is CheckResult.LOST
    with pipe.db.session() as s:
        assert s.scalar(select(func.count()).select_from(CheckRun)) == 0


def test_internal_errors_are_retried_then_handed_to_a_person(pipe):
    sid = add_student(pipe)
    vid = add_version(pipe, sid)
    box = FakeSandbox(fail=RuntimeError("boom"))
    assert check_version(vid, pipe, sandbox=box) is CheckResult.RETRY
    assert check_version(vid, pipe, sandbox=box) is CheckResult.RETRY
    assert check_version(vid, pipe, sandbox=box) is CheckResult.FAILED
    assert check_version(vid, pipe, sandbox=box) is CheckResult.SKIPPED
    piece = view_of(pipe, sid, "cvec")
    assert piece.version.state == "failed"
    assert "boom" in piece.version.last_error
    assert piece.status is PieceStatus.PENDING_REVIEW  # never "À corriger"
    with pipe.db.session() as s:
        assert s.scalar(select(AuditEvent.action).where(AuditEvent.action == "check.failed"))


def test_a_child_failure_is_a_finding_not_an_error(pipe):
    sid = add_student(pipe)
    vid = add_version(pipe, sid)
    box = FakeSandbox(fail=SandboxFailure("timeout", {"limit_s": 60}))
    assert check_version(vid, pipe, sandbox=box) is CheckResult.DONE
    piece = view_of(pipe, sid, "cvec")
    assert piece.run.outcome == "review"
    assert piece.run.codes == ["sandbox.timeout"]
    assert piece.status is PieceStatus.PENDING_REVIEW


def test_missing_blob_is_an_internal_failure(pipe):
    sid = add_student(pipe)
    vid = add_version(pipe, sid)
    with pipe.db.sessions() as s:
        sha = s.get(PieceVersion, vid).sha256
    pipe.store.delete(sha)
    pipe.max_attempts = 1
    assert check_version(vid, pipe, sandbox=FakeSandbox()) is CheckResult.FAILED


def test_a_new_report_never_overwrites_a_human_decision(pipe, monkeypatch):
    sid = add_student(pipe)
    vid = add_version(pipe, sid)
    check_version(
        vid, pipe, sandbox=FakeSandbox({"outcome": "accepted", "findings": [], "fields": {}})
    )
    with pipe.db.session() as s:
        piece = ensure_piece(s, sid, "cvec")
        record_decision(pipe, s, piece=piece, action="validated", user_id=None)
    assert view_of(pipe, sid, "cvec").status is PieceStatus.VALIDATED
    # a new ruleset re-runs the check on the same bytes (revalidation): new report
    import intake.pipeline as pipeline_module

    monkeypatch.setattr(pipeline_module, "ruleset_version", lambda: "2099.1+test")
    with pipe.db.session() as s:
        s.execute(update(PieceVersion).where(PieceVersion.id == vid).values(state="queued"))
    assert check_version(vid, pipe, sandbox=FakeSandbox(REJECTED)) is CheckResult.DONE
    piece = view_of(pipe, sid, "cvec")
    assert piece.run.outcome == "rejected"
    assert piece.status is PieceStatus.VALIDATED  # the decision holds
    assert piece.needs_look  # « à revoir » for administrators


def test_decisions_validate_their_inputs(pipe):
    from intake.pipeline import ActionRefused

    sid = add_student(pipe)
    vid = add_version(pipe, sid)
    with pipe.db.session() as s:
        piece = ensure_piece(s, sid, "cvec")
        with pytest.raises(ActionRefused, match="pas terminée"):
            record_decision(pipe, s, piece=piece, action="validated", user_id=None)
    check_version(vid, pipe, sandbox=FakeSandbox())
    with pipe.db.session() as s:
        piece = ensure_piece(s, sid, "cvec")
        with pytest.raises(ActionRefused, match="au moins un motif"):
            record_decision(pipe, s, piece=piece, action="refused", user_id=None)
        with pytest.raises(ActionRefused, match="Motif inconnu"):
            record_decision(
                pipe, s, piece=piece, action="refused", user_id=None, reasons=["photo.faces"]
            )
        with pytest.raises(ActionRefused, match="nouvelle version"):
            record_decision(
                pipe, s, piece=piece, action="validated", user_id=None, version_id=vid + 1
            )
        d = record_decision(
            pipe, s, piece=piece, action="refused", user_id=None, reasons=["cvec.year", "cvec.year"]
        )
        assert d.reasons == ["cvec.year"]
        assert d.check_run_id is not None and d.version_id == vid


def test_store_upload_refuses_without_creating_a_version(pipe, sandbox):
    sid = add_student(pipe)
    out = store_upload(
        pipe,
        student_id=sid,
        kind="photo",
        files=[(io.BytesIO(png_bytes()), "photo.jpg")],
        user_id=None,
        sandbox=sandbox,
    )
    assert not out.accepted
    assert [str(f.code) for f in out.problems] == ["file.unsupported_type"]
    assert "PDF ou JPG" in out.problems[0].message
    with pipe.db.session() as s:
        assert s.scalar(select(func.count()).select_from(PieceVersion)) == 0
    assert list(pipe.store.iter_hashes()) == []


def test_store_upload_accepts_and_queues(pipe, sandbox):
    sid = add_student(pipe)
    out = store_upload(
        pipe,
        student_id=sid,
        kind="cvec",
        files=[(io.BytesIO(text_pdf("Attestation CVEC")), '../../etc/passwd é"; x.pdf')],
        user_id=None,
        sandbox=sandbox,
    )
    assert out.accepted
    with pipe.db.session() as s:
        v = s.get(PieceVersion, out.version_id)
        assert v.state == ProcessingState.QUEUED and v.number == 1 and v.mime == "application/pdf"
        assert v.display_name == 'passwd é"; x.pdf'  # display only, never a path
        assert pipe.store.path_for(v.sha256).is_file()
    assert pending_versions(pipe) == [out.version_id]


def test_recto_and_verso_become_one_pdf_and_the_sides_are_not_kept(pipe, sandbox):
    sid = add_student(pipe)
    recto, verso = jpeg_bytes(1200, 760, (230, 230, 250)), jpeg_bytes(1200, 760, (250, 230, 230))
    out = store_upload(
        pipe,
        student_id=sid,
        kind="identity",
        files=[(io.BytesIO(recto), "recto.jpg"), (io.BytesIO(verso), "verso.jpg")],
        user_id=None,
        sandbox=sandbox,
        part_names=["recto", "verso"],
    )
    assert out.accepted, out.findings
    with pipe.db.session() as s:
        v = s.get(PieceVersion, out.version_id)
        assert (v.mime, v.pages, v.source, v.display_name) == (
            "application/pdf",
            2,
            "merge",
            "recto + verso",
        )
        stored = set(pipe.store.iter_hashes())
        assert stored == {v.sha256}  # the separate sides were deleted once merged


def test_one_bad_side_refuses_the_whole_upload(pipe, sandbox):
    sid = add_student(pipe)
    out = store_upload(
        pipe,
        student_id=sid,
        kind="identity",
        files=[(io.BytesIO(jpeg_bytes()), "recto.jpg"), (io.BytesIO(png_bytes()), "verso.jpg")],
        user_id=None,
        sandbox=sandbox,
        part_names=["recto", "verso"],
    )
    assert not out.accepted and out.part == "verso"
    with pipe.db.session() as s:
        assert s.scalar(select(func.count()).select_from(PieceVersion)) == 0


def test_same_file_in_another_dossier_is_flagged_for_the_reviewer(pipe, sandbox):
    a, b = add_student(pipe), add_student(pipe, last_name="Autre")
    data = text_pdf("Le meme fichier")
    for sid in (a, b):
        out = store_upload(
            pipe,
            student_id=sid,
            kind="cvec",
            files=[(io.BytesIO(data), "x.pdf")],
            user_id=None,
            sandbox=sandbox,
        )
    codes = [(str(f.code), str(f.level)) for f in out.findings]
    assert ("file.duplicate", "warning") in codes


def test_cancelled_dossier_and_validated_piece_take_no_file(pipe, sandbox):
    from intake.pipeline import ActionRefused

    sid = add_student(pipe, cancelled=True)
    with pytest.raises(ActionRefused, match="annulée"):
        store_upload(
            pipe,
            student_id=sid,
            kind="cvec",
            files=[(io.BytesIO(text_pdf("x")), "x.pdf")],
            user_id=None,
            sandbox=sandbox,
        )


PHOTO_REJECTED = {
    "outcome": "rejected",
    "findings": [
        {
            "code": "photo.orientation",
            "level": "error",
            "message": "x",
            "detail": {},
            "result": "fail",
        }
    ],
    "fields": {},
}


def test_photo_fix_is_an_offer_whose_absence_or_failure_never_fails_the_check(pipe, monkeypatch):
    import intake.pipeline as pipeline_module

    sid = add_student(pipe)
    monkeypatch.setattr(pipeline_module, "photo_fixer", lambda: None)  # not installed
    vid = add_version(pipe, sid, "photo")
    assert check_version(vid, pipe, sandbox=FakeSandbox(PHOTO_REJECTED)) is CheckResult.DONE
    assert view_of(pipe, sid, "photo").version.fix is None  # a later check may offer it

    def broken(*args, **kwargs):
        raise RuntimeError("fixer bug")

    monkeypatch.setattr(pipeline_module, "photo_fixer", lambda: broken)
    vid = add_version(pipe, sid, "photo", data=b"\xff\xd8\xff other")
    assert check_version(vid, pipe, sandbox=FakeSandbox(PHOTO_REJECTED)) is CheckResult.DONE
    piece = view_of(pipe, sid, "photo")
    assert piece.version.fix["state"] == "impossible"
    assert piece.status is PieceStatus.TO_FIX
    # an accepted photo is never "repaired"
    calls = []
    monkeypatch.setattr(pipeline_module, "photo_fixer", lambda: lambda *a, **k: calls.append(a))
    vid = add_version(pipe, sid, "photo", data=b"\xff\xd8\xff third")
    check_version(
        vid, pipe, sandbox=FakeSandbox({"outcome": "accepted", "findings": [], "fields": {}})
    )
    assert calls == []
