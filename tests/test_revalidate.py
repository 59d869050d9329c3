"""`justif revalidate`: dry run, apply, human decisions untouched, resumable after kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select, update

from intake import revalidate as rv
from intake.models import CheckRun, RevalidationItem, RevalidationRun, Student
from intake.pipeline import record_decision
from tests import batchdata
from tests.conftest import ROOT
from tests.dburl import fresh_database_url

JUSTIF = str(ROOT / ".venv/bin/justif")


@pytest.fixture(scope="module")
def docs():
    return batchdata.documents(6, seed=11)


@pytest.fixture
def seeded(tmp_path, docs):
    url = fresh_database_url(tmp_path)
    pipe = batchdata.pipeline(tmp_path / "data", url)
    ids = batchdata.seed(pipe, docs)
    yield pipe, ids, url
    pipe.db.dispose()


def _env(pipe, url, **extra):
    env = dict(os.environ)
    env.update(
        JUSTIF_DATA_DIR=str(pipe.settings.data_dir),
        JUSTIF_DATABASE_URL=url,
        JUSTIF_ACADEMIC_YEAR="2024-2025",
        JUSTIF_RULESET_TAG="r2",
    )
    env.pop("JUSTIF_BROKER_URL", None)
    env.update(extra)
    return env


def _runs(pipe, ruleset):
    with pipe.db.session() as s:
        return s.scalar(
            select(func.count()).select_from(CheckRun).where(CheckRun.ruleset == ruleset)
        )


def test_nothing_is_stale_under_the_same_rules(seeded):
    pipe, _ids, _ = seeded
    run_id, resumed = rv.open_run(pipe, rv.Mode.DRY_RUN, rv.Selection())
    assert not resumed
    assert rv.progress(pipe, run_id) == (0, 0)


def test_dry_run_then_apply(seeded, tmp_path):
    pipe, _ids, url = seeded
    # a record correction makes one report change: the typed CVEC number now differs
    with pipe.db.session() as s:
        st = s.scalar(select(Student).order_by(Student.id))
        st.cvec_number = "ZZZ9ABCDEF99"
    env = _env(pipe, url)
    new_ruleset = pipe.ruleset + ".r2"
    report = tmp_path / "dry.json"
    done = subprocess.run(
        [JUSTIF, "revalidate", "--no-progress-bar", "--report", str(report)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "| cvec | 6 |" in done.stdout
    assert _runs(pipe, new_ruleset) == 0  # a dry run writes no report
    data = json.loads(report.read_text())
    assert data["mode"] == "dry_run" and len(data["items"]) == 6
    changed = [i for i in data["items"] if i["before_codes"] != i["after_codes"]]
    assert len(changed) == 1 and "cvec.number" in changed[0]["after_codes"]

    done = subprocess.run(
        [JUSTIF, "revalidate", "--apply", "--no-progress-bar", "--workers", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert _runs(pipe, new_ruleset) == 6
    # run again: nothing is stale any more, nothing is written twice
    done = subprocess.run(
        [JUSTIF, "revalidate", "--apply", "--no-progress-bar"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert _runs(pipe, new_ruleset) == 6


def test_human_decisions_are_kept_and_conflicts_listed(seeded):
    pipe, ids, _ = seeded
    with pipe.db.session() as s:
        from intake.models import PieceVersion

        version = s.get(PieceVersion, ids[0])
        record_decision(
            pipe,
            s,
            piece=version.piece,
            version_id=version.id,
            action="validated",
            reasons=[],
            comment="ok",
            user_id=None,
        )
        st = version.piece.student
        st.cvec_number = "ZZZ9ABCDEF99"
    pipe.settings = pipe.settings.replace(ruleset_tag="r3")
    run_id, _ = rv.open_run(pipe, rv.Mode.APPLY, rv.Selection(kind="cvec"))
    rv.run_in_process(pipe, run_id)
    rep = rv.report(pipe, run_id)
    assert [c["version"] for c in rep.conflicts] == [ids[0]]
    with pipe.db.session() as s:
        from intake.models import Decision

        decisions = s.scalars(select(Decision)).all()
        assert [d.action for d in decisions] == ["validated"]


def test_resumes_after_kill_9_without_redoing_or_duplicating(seeded):
    pipe, ids, url = seeded
    slow = _env(
        pipe,
        url,
        JUSTIF_SANDBOX_ALLOW_CALL="1",
        JUSTIF_SANDBOX_TEST_OPS=json.dumps({"check": "tests.sandbox_targets:slow_check"}),
    )
    proc = subprocess.Popen(
        [JUSTIF, "revalidate", "--apply", "--no-progress-bar"],
        env=slow,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    done_before = 0
    while time.monotonic() < deadline:
        with pipe.db.session() as s:
            done_before = s.scalar(
                select(func.count())
                .select_from(RevalidationItem)
                .where(RevalidationItem.state == "done")
            )
        if done_before >= 2:
            break
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 2 <= done_before < 6
    with pipe.db.session() as s:
        finished = {
            i.id: i.finished_at
            for i in s.scalars(select(RevalidationItem).where(RevalidationItem.state == "done"))
        }
        assert s.scalar(select(RevalidationRun.finished_at)) is None

    done = subprocess.run(
        [JUSTIF, "revalidate", "--apply", "--no-progress-bar"],
        env=_env(pipe, url),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "reprise" in done.stderr
    new_ruleset = pipe.ruleset + ".r2"
    with pipe.db.session() as s:
        items = s.scalars(select(RevalidationItem)).all()
        assert len(items) == 6 and all(i.state == "done" for i in items)
        # finished items were not redone
        for item in items:
            if item.id in finished:
                assert item.finished_at == finished[item.id]
        per_version = s.execute(
            select(CheckRun.version_id, func.count())
            .where(CheckRun.ruleset == new_ruleset)
            .group_by(CheckRun.version_id)
        ).all()
        assert sorted(v for v, _ in per_version) == sorted(ids)
        assert all(n == 1 for _, n in per_version)
        assert s.scalar(select(func.count()).select_from(RevalidationRun)) == 1


def test_items_are_claimed_once(seeded):
    pipe, _ids, _ = seeded
    pipe.settings = pipe.settings.replace(ruleset_tag="r4")
    run_id, _ = rv.open_run(pipe, rv.Mode.DRY_RUN, rv.Selection())
    first = rv.pending_items(pipe, run_id)[0]
    # another worker holds it (a live lease): not taken without stealing
    with pipe.db.session() as s:
        s.execute(
            update(RevalidationItem)
            .where(RevalidationItem.id == first)
            .values(lease_until=pipe.clock() + rv.LEASE)
        )
    assert rv.process_item(pipe, first) is rv.ItemResult.BUSY
    assert rv.process_item(pipe, first, steal=True) is rv.ItemResult.DONE
    assert rv.process_item(pipe, first, steal=True) is rv.ItemResult.ALREADY


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
