"""Identity documents are deleted N days after the decision (frozen clock), records kept."""

from __future__ import annotations

import datetime as dt
import io

from sqlalchemy import select

from intake.models import CheckRun, PieceVersion, Student
from intake.pipeline import check_version, record_decision, store_upload
from intake.retention import purge
from tests import badfiles, batchdata
from tests.dburl import fresh_database_url


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def _upload(pipe, sid, kind, data, name):
    with pipe.new_sandbox() as box:
        out = store_upload(
            pipe,
            student_id=sid,
            kind=kind,
            files=[(io.BytesIO(data), name)],
            user_id=None,
            sandbox=box,
        )
        check_version(out.version_id, pipe, sandbox=box)
    return out.version_id


def test_identity_bytes_go_after_the_window_records_stay(tmp_path):
    pipe = batchdata.pipeline(
        tmp_path / "data", fresh_database_url(tmp_path), retention_identity_days=30
    )
    clock = Clock(dt.datetime(2026, 9, 1, 10, tzinfo=dt.UTC))
    pipe.clock = clock
    with pipe.db.session() as s:
        a = Student(last_name="Martin", first_name="Léa", academic_year="2026-2027")
        b = Student(last_name="Durand", first_name="Hugo", academic_year="2026-2027")
        s.add_all([a, b])
        s.flush()
        sa, sb = a.id, b.id
    card = badfiles.jpeg(1011, 638, text="CARTE")
    identity = _upload(pipe, sa, "identity", card, "cni.jpg")
    # the same bytes elsewhere, undecided: that blob must survive the purge
    other = _upload(pipe, sb, "identity", card, "cni.jpg")
    diploma = _upload(pipe, sa, "diploma", badfiles.pdf(), "diplome.pdf")
    with pipe.db.session() as s:
        v = s.get(PieceVersion, identity)
        record_decision(pipe, s, piece=v.piece, version_id=v.id, action="validated", user_id=None)
        sha, previews = v.sha256, list(v.previews)
    assert previews and all(pipe.store.exists(h) for h in previews)

    clock.now += dt.timedelta(days=29)
    assert purge(pipe).versions == []
    clock.now += dt.timedelta(days=2)
    assert purge(pipe, dry_run=True).versions == [identity]
    rep = purge(pipe)
    assert rep.versions == [identity]
    assert pipe.store.exists(sha)  # still the other student's file
    with pipe.db.session() as s:
        v = s.get(PieceVersion, identity)
        assert v.purged_at == clock.now
        # the record, report and decision are kept
        assert s.scalar(select(CheckRun).where(CheckRun.version_id == identity)) is not None
        assert v.piece.decisions
        assert s.get(PieceVersion, other).purged_at is None
        assert s.get(PieceVersion, diploma).purged_at is None

    # once the other student's card is decided too and its window has passed, the bytes go
    with pipe.db.session() as s:
        v = s.get(PieceVersion, other)
        record_decision(pipe, s, piece=v.piece, version_id=v.id, action="validated", user_id=None)
    clock.now += dt.timedelta(days=31)
    rep = purge(pipe)
    assert rep.versions == [other]
    assert not pipe.store.exists(sha)
    assert not any(pipe.store.exists(h) for h in previews)
    assert purge(pipe).versions == []  # idempotent
    pipe.db.dispose()


def test_orphan_blobs_and_stale_offers_go_referenced_and_fresh_ones_stay(tmp_path):
    import os
    import time

    from intake import offers
    from intake.retention import ORPHAN_AFTER_S

    pipe = batchdata.pipeline(tmp_path / "data", fresh_database_url(tmp_path))
    with pipe.db.session() as s:
        student = Student(last_name="Martin", first_name="Léa", academic_year="2026-2027")
        s.add(student)
        s.flush()
        sid = student.id
    kept = _upload(pipe, sid, "diploma", badfiles.pdf(), "diplome.pdf")
    # a process killed between storing the blob and committing its version left these
    old_orphan = pipe.store.put_bytes(b"%PDF-1.4 orphan of a killed upload")
    fresh_orphan = pipe.store.put_bytes(b"%PDF-1.4 an upload committing right now")
    long_ago = time.time() - ORPHAN_AFTER_S - 60
    with pipe.db.session() as s:
        v = s.get(PieceVersion, kept)
        referenced = [v.sha256, *v.previews]
    for sha in (old_orphan, *referenced):
        os.utime(pipe.store.path_for(sha), (long_ago, long_ago))
    offer_files = offers.offers_dir(pipe.settings)
    for suffix in (".bin", ".json"):
        stale = offer_files / f"{'A' * 24}{suffix}"
        stale.write_bytes(b"{}")
        os.utime(stale, (long_ago, long_ago))

    assert purge(pipe, dry_run=True).orphans == 1
    assert pipe.store.exists(old_orphan)  # a dry run deletes nothing
    rep = purge(pipe)
    assert (rep.orphans, rep.offers_deleted) == (1, 2)
    assert not pipe.store.exists(old_orphan)
    assert pipe.store.exists(fresh_orphan)  # in flight: never touched
    assert all(pipe.store.exists(h) for h in referenced)  # old but referenced
    assert list(offer_files.iterdir()) == []

    # stored again after being found stale: it is fresh, so the sweep puts it back
    again = pipe.store.put_bytes(b"%PDF-1.4 stored again")
    os.utime(pipe.store.path_for(again), (long_ago, long_ago))
    pipe.store.put_bytes(b"%PDF-1.4 stored again")  # an upload of the same bytes
    assert pipe.store.delete_if_stale(again, ORPHAN_AFTER_S) is False
    assert pipe.store.exists(again)
    assert not any(p.name.startswith(".tmp-") for p in pipe.store.blobs.rglob("*"))
    pipe.db.dispose()
