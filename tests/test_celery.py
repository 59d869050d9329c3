"""Real parts (issue 7): a real redis-server and a real Celery worker process.

- upload through the API → the worker checks → the status is visible through the API;
- the worker killed (``kill -9``) in the middle of a check → after a restart the piece
  is checked, exactly once;
- `justif revalidate` with a broker fans out to the workers and follows them.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from intake.models import CheckRun, PieceVersion, RevalidationItem
from tests.conftest import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.slow]

JUSTIF = str(ROOT / ".venv/bin/justif")


class Worker:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [JUSTIF, "worker", "--concurrency", "1", "--loglevel", "INFO"],
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        out.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if b"ready." in self.log.read_bytes():
                return
            if self.proc.poll() is not None:
                raise AssertionError(self.log.read_text(errors="replace")[-3000:])
            time.sleep(0.2)
        raise AssertionError("worker not ready: " + self.log.read_text(errors="replace")[-3000:])

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def service(tmp_path, redis, monkeypatch):
    """The web app (Celery runner) and the environment of its workers, one database."""
    from tests.web.helpers import make_app
    from web.commands.service import create_demo

    monkeypatch.setenv("JUSTIF_INSTANCE_PATH", str(tmp_path / "instance"))
    app = make_app(tmp_path, RUNNER=None, BROKER_URL=redis.url, LEASE_S=4)
    create_demo(app, student_password="pw-etudiant-test", admin_password="pw-admin-test")
    ext = app.extensions["justif"]
    assert ext.runner.name == "celery"
    env = dict(os.environ)
    env.update(
        JUSTIF_DATABASE_URL=ext.db.url,
        JUSTIF_DATA_DIR=str(ext.settings.data_dir),
        JUSTIF_BROKER_URL=redis.url,
        JUSTIF_ACADEMIC_YEAR="2026-2027",
        JUSTIF_LEASE_S="4",
        JUSTIF_REAP_S="1",
    )
    # one queue per test: nothing left by another test reaches this worker
    yield app, env
    ext.close()


def _token(app, login: str) -> str:
    from intake.models import ApiToken, User
    from web.auth import hash_token, new_token

    token = new_token()
    with app.extensions["justif"].db.session() as s:
        user = s.scalar(select(User).where(User.login == login))
        s.add(ApiToken(user_id=user.id, token_hash=hash_token(token), label="test"))
    return token


def _upload(app, token: str) -> int:
    from tests.web.helpers import student_id, text_pdf

    sid = student_id(app, "P241000001")
    client = app.test_client()
    r = client.post(
        f"/api/v1/dossiers/{sid}/pieces/diploma",
        data={"file": (io.BytesIO(text_pdf("Attestation de réussite")), "diplome.pdf")},
        headers={"Authorization": f"Bearer {token}"},
        content_type="multipart/form-data",
    )
    assert r.status_code == 202, r.get_data(as_text=True)
    return r.json["version_id"]


def _state(app, token: str, version_id: int) -> dict:
    r = app.test_client().get(
        f"/api/v1/versions/{version_id}", headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 200
    return r.json


def _wait(predicate, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError("timed out")


def _runs(app, version_id: int) -> int:
    with app.extensions["justif"].db.session() as s:
        return s.scalar(
            select(func.count()).select_from(CheckRun).where(CheckRun.version_id == version_id)
        )


def test_upload_through_the_api_is_checked_by_the_worker(service, tmp_path):
    app, env = service
    worker = Worker(env, tmp_path / "worker.log")
    worker.start()
    try:
        token = _token(app, "P241000001")
        version_id = _upload(app, token)
        _wait(lambda: _state(app, token, version_id)["state"] == "done")
        body = _state(app, token, version_id)
        assert body["report"]["outcome"] in ("accepted", "review", "rejected")
        assert _runs(app, version_id) == 1
        with app.extensions["justif"].db.session() as s:
            assert s.scalar(select(CheckRun.runner).where(CheckRun.version_id == version_id)) == (
                "celery"
            )
    finally:
        worker.stop()


def test_worker_killed_mid_check_is_checked_once_after_restart(service, tmp_path):
    app, env = service
    slow = {
        **env,
        "JUSTIF_SANDBOX_ALLOW_CALL": "1",
        "JUSTIF_SANDBOX_TEST_OPS": json.dumps({"check": "tests.sandbox_targets:slow_check"}),
    }
    worker = Worker(slow, tmp_path / "worker.log")
    worker.start()
    token = _token(app, "P241000001")
    version_id = _upload(app, token)

    def running() -> bool:
        with app.extensions["justif"].db.session() as s:
            return s.get(PieceVersion, version_id).state == "running"

    _wait(running, 60)
    worker.kill()  # in the middle of the (2 s) check
    assert _runs(app, version_id) == 0
    restarted = Worker(env, tmp_path / "worker2.log")
    restarted.start()
    try:
        _wait(lambda: _state(app, token, version_id)["state"] == "done")
        time.sleep(3)  # a late duplicate message, if any, must change nothing
        assert _runs(app, version_id) == 1
        with app.extensions["justif"].db.session() as s:
            assert s.get(PieceVersion, version_id).attempts == 2
    finally:
        restarted.stop()


def test_revalidate_fans_out_to_the_workers(service, tmp_path):
    app, env = service
    worker = Worker(env, tmp_path / "worker.log")
    worker.start()
    try:
        token = _token(app, "P241000001")
        version_id = _upload(app, token)
        _wait(lambda: _state(app, token, version_id)["state"] == "done")
        done = subprocess.run(
            [JUSTIF, "revalidate", "--apply", "--no-progress-bar"],
            env={**env, "JUSTIF_RULESET_TAG": "celery2"},
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        with app.extensions["justif"].db.session() as s:
            items = s.scalars(select(RevalidationItem)).all()
            assert [i.state for i in items] == ["done"]
        assert _runs(app, version_id) == 2  # the original report and the new ruleset's
    finally:
        worker.stop()
