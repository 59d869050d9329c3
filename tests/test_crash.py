"""Crash test (issue 8): the real service under ``kill -9``.

gunicorn (``web:create_app()``, Celery runner) and a real Celery worker on a real
``redis-server``; client threads upload continuously through the API (two of them for
the same piece) and the student form. The worker is killed in the middle of a check
(slowed by ``tests.sandbox_targets:slow_check``) and again while it works through the
backlog; the web server (master and workers: its whole process group) is killed twice while a
request is inside the upload gate. Each is restarted and the uploads go on. Then:

- every acknowledged upload (a 2xx/3xx answer received) has its version row and its
  blob (whose content matches its sha256), and exactly one check run under the ruleset;
- no upload was stored twice; every version comes from an upload that was sent, and an
  unacknowledged upload left either nothing or such a complete, checked version;
- no half-written file: no ``.tmp-*`` in ``blobs/``, every blob is whole, blobs that
  no version references are no more than the requests cut off by a kill;
- the scratch directories of the killed requests are gone (swept at restart).

The database comes from ``tests.dburl``: the PostgreSQL pass of ``make test`` runs it
again on a real PostgreSQL server.

Three fast tests pin the fixes the crash test needed: the start-up sweep of what dead
processes left, blob writes that never leave a temporary file among the blobs, and an
upload whose version number a concurrent upload took at the same moment.
"""

from __future__ import annotations

import hashlib
import http.cookiejar
import json
import os
import re
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import ROOT
from tests.services import free_port, wait_http_ok

BIN = ROOT / ".venv/bin"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


# -- the start-up sweep itself (fast, no service) -------------------------------------------


def test_sweep_removes_what_dead_processes_left_and_keeps_live_ones(tmp_path):
    from intake.storage import BlobStore, owner_tag

    store = BlobStore(tmp_path / "data").ensure()
    # a process that creates a scratch directory and a temporary file, then dies
    # without cleaning up (as after kill -9)
    code = (
        "import sys; from intake.storage import BlobStore; s = BlobStore(sys.argv[1]); "
        "d = s.scratch_dir(); (d / 'upload').write_bytes(b'x' * 10); "
        "import tempfile, intake.storage as st; "
        "tempfile.mkstemp(dir=s.tmp, prefix=f'.tmp-{st.owner_tag()}-'); print(d.name)"
    )
    dead = subprocess.run(
        [str(BIN / "python"), "-c", code, str(store.root)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout.strip()
    mine = store.scratch_dir()  # a live owner: this process
    host = owner_tag().split("-")[0]
    reused = store.tmp / f"job-{host}-{os.getpid()}-1-abcdefgh"  # this pid, another start
    reused.mkdir()
    foreign_old = store.tmp / "job-0badc0de-1-1-abcdefgh"  # another host, long ago
    foreign_new = store.tmp / "job-0badc0de-2-2-abcdefgh"  # another host, just now
    legacy_old = store.tmp / "job-abcdefgh"  # no owner in the name, long ago
    for d in (foreign_old, foreign_new, legacy_old):
        d.mkdir()
    for d in (foreign_old, legacy_old):
        os.utime(d, (time.time() - 7200, time.time() - 7200))
    assert (store.tmp / dead).is_dir()
    assert len([p for p in store.tmp.iterdir() if p.name.startswith(".tmp-")]) == 1

    assert store.sweep_stale() == 5
    left = sorted(p.name for p in store.tmp.iterdir())
    assert left == sorted([mine.name, foreign_new.name])
    assert mine.name.startswith(f"job-{owner_tag()}-")


def test_blob_writes_never_leave_a_temporary_file_among_the_blobs(tmp_path):
    from intake.storage import BlobStore

    store = BlobStore(tmp_path / "data").ensure()
    sha = store.put_bytes(b"%PDF-1.4 whole")
    assert [p.name for p in store.blobs.rglob("*") if p.is_file()] == [sha]
    assert list(store.tmp.iterdir()) == []


def test_an_upload_whose_version_number_was_just_taken_gets_the_next_one(
    tmp_path, monkeypatch, sandbox
):
    """Two uploads to one piece at the same moment both read the last number: the one
    that inserts second must retry, not answer 500 (the crash test's two clients of one
    student found it)."""
    import io

    from sqlalchemy import event, insert

    from intake.models import PieceVersion
    from intake.pipeline import store_upload
    from tests.web.helpers import make_app, student_id, text_pdf

    monkeypatch.setenv("JUSTIF_INSTANCE_PATH", str(tmp_path / "instance"))
    app = make_app(tmp_path)
    from web.commands.service import create_demo

    create_demo(app, student_password="pw-etudiant-test", admin_password="pw-admin-test")
    pipe = app.extensions["justif"].pipeline
    sid = student_id(app, "P241000001")

    def upload(text: str) -> int | None:
        return store_upload(
            pipe,
            student_id=sid,
            kind="diploma",
            files=[(io.BytesIO(text_pdf(text)), f"{text}.pdf")],
            user_id=None,
            sandbox=sandbox,
        ).version_id

    assert upload("first") is not None
    raced = []

    def concurrent_insert(_mapper, _connection, target) -> None:
        # between this upload's read of the last number and its insert, another upload
        # commits a version with the same number
        if raced or target.display_name != "second.pdf":
            return
        raced.append(target.number)
        with pipe.db.engine.begin() as other:
            other.execute(
                insert(PieceVersion.__table__).values(
                    piece_id=target.piece_id,
                    number=target.number,
                    sha256=target.sha256,
                    mime=target.mime,
                    display_name="concurrent.pdf",
                )
            )

    event.listen(PieceVersion, "before_insert", concurrent_insert)
    try:
        second = upload("second")
    finally:
        event.remove(PieceVersion, "before_insert", concurrent_insert)
    assert raced == [2] and second is not None
    with pipe.db.session() as s:
        rows = s.execute(
            select(PieceVersion.display_name, PieceVersion.number).order_by(PieceVersion.number)
        ).all()
    assert [tuple(r) for r in rows] == [("first.pdf", 1), ("concurrent.pdf", 2), ("second.pdf", 3)]
    app.extensions["justif"].close()


# -- the crash test -----------------------------------------------------------------------------


def _group_pids(pgid: int) -> set[int]:
    """The processes of a process group (from /proc: field 5 of stat is the group)."""
    pids = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            pids.add(int(stat.parent.name))
    return pids


def _owner_pid(entry: Path) -> int:
    """The owner's pid in a scratch entry name (``job-<host>-<pid>-<start>-…``)."""
    return int(entry.name.split("-")[2])


def _group_gone(pgid: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise AssertionError(f"process group {pgid} still alive")


class Proc:
    """A server process started in its own process group, killed as a whole."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.argv, self.env, self.log = argv, env, log
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def kill9(self) -> None:
        """kill -9 the whole process group (gunicorn master and workers; the Celery
        worker and its pool)."""
        assert self.proc is not None
        pgid = self.proc.pid
        os.killpg(pgid, signal.SIGKILL)
        self.proc.wait()
        _group_gone(pgid)

    def stop(self) -> None:
        if self.proc is None:
            return
        pgid = self.proc.pid
        try:
            os.killpg(pgid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()


class Web(Proc):
    def __init__(self, env: dict[str, str], log: Path, port: int) -> None:
        super().__init__(
            [
                str(BIN / "gunicorn"),
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--threads",
                "2",
                "--worker-class",
                "gthread",
                "--log-level",
                "warning",
                "web:create_app()",
            ],
            env,
            log,
        )
        self.base = f"http://127.0.0.1:{port}"

    def start(self) -> None:
        super().start()
        if wait_http_ok(f"{self.base}/health", self.alive):
            return
        if not self.alive():
            raise AssertionError("gunicorn exited:\n" + self.tail())
        raise AssertionError("gunicorn did not answer:\n" + self.tail())


class Worker(Proc):
    def __init__(self, env: dict[str, str], log: Path, concurrency: int) -> None:
        super().__init__(
            [
                str(BIN / "justif"),
                "worker",
                "--concurrency",
                str(concurrency),
                "--loglevel",
                "INFO",
            ],
            env,
            log,
        )

    def start(self) -> None:
        start = self.log.stat().st_size if self.log.exists() else 0
        super().start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if b"ready." in self.log.read_bytes()[start:]:
                return
            if not self.alive():
                raise AssertionError("worker exited:\n" + self.tail())
            time.sleep(0.1)
        raise AssertionError("worker not ready:\n" + self.tail())


# -- clients -------------------------------------------------------------------------------------


def _pdf(text: str) -> bytes:
    from tests.web.helpers import text_pdf

    return text_pdf("Attestation de réussite", text)


def _multipart(fields: dict[str, str], filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
        parts.append(f"{head}{value}\r\n".encode())
    parts.append(
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{filename}"\r\nContent-Type: application/pdf\r\n\r\n'
        ).encode()
        + data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@dataclass
class Attempt:
    name: str
    student: str
    via: str
    status: int | None = None  # None: no answer (connection refused, reset, timeout)
    version_id: int | None = None
    error: str = ""

    @property
    def acknowledged(self) -> bool:
        return self.status is not None and 200 <= self.status < 400


@dataclass
class Clients:
    base: str
    accounts: dict[str, dict]
    stop: threading.Event = field(default_factory=threading.Event)
    attempts: list[Attempt] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    threads: list[threading.Thread] = field(default_factory=list)

    def acked(self) -> int:
        with self.lock:
            return sum(a.acknowledged for a in self.attempts)

    def _record(self, attempt: Attempt) -> None:
        with self.lock:
            self.attempts.append(attempt)

    def api_loop(self, login: str, tag: str) -> None:
        account = self.accounts[login]
        n = 0
        while not self.stop.is_set():
            n += 1
            name = f"crash-{tag}-{n:04d}.pdf"
            attempt = Attempt(name, login, "api")
            body, ctype = _multipart({}, name, _pdf(name))
            req = urllib.request.Request(  # noqa: S310 - http://127.0.0.1 only
                f"{self.base}/api/v1/dossiers/{account['id']}/pieces/diploma",
                data=body,
                headers={"Content-Type": ctype, "Authorization": f"Bearer {account['token']}"},
                method="POST",
            )
            try:
                with urllib.request.urlopen(req, timeout=30) as r:  # noqa: S310
                    attempt.status = r.status
                    attempt.version_id = json.loads(r.read())["version_id"]
            except urllib.error.HTTPError as e:
                attempt.status = e.code
                attempt.error = e.read()[:300].decode(errors="replace")
            except OSError as e:  # refused, reset, cut mid-answer: not acknowledged
                attempt.error = repr(e)
            self._record(attempt)
            time.sleep(0.05 if attempt.status is None else 0.15)

    def form_loop(self, login: str, tag: str) -> None:
        """A student in a browser: log in, then upload through the form (303)."""
        account = self.accounts[login]
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect())
        token = ""
        n = 0
        while not self.stop.is_set():
            try:
                if not token:
                    jar.clear()
                    with opener.open(f"{self.base}/connexion", timeout=30) as r:
                        csrf = _CSRF.search(r.read().decode())[1]
                    form = urllib.parse.urlencode(
                        {"login": login, "password": account["password"], "csrf_token": csrf}
                    ).encode()
                    try:
                        opener.open(f"{self.base}/connexion", data=form, timeout=30)
                    except urllib.error.HTTPError as e:
                        assert e.code == 302, e.code
                    with opener.open(f"{self.base}/dossier/diploma", timeout=30) as r:
                        token = _CSRF.search(r.read().decode())[1]
            except OSError:
                token = ""
                time.sleep(0.1)
                continue
            n += 1
            name = f"crash-{tag}-{n:04d}.pdf"
            attempt = Attempt(name, login, "form")
            body, ctype = _multipart({"csrf_token": token}, name, _pdf(name))
            req = urllib.request.Request(  # noqa: S310 - http://127.0.0.1 only
                f"{self.base}/dossier/diploma/depot",
                data=body,
                headers={"Content-Type": ctype},
                method="POST",
            )
            try:
                with opener.open(req, timeout=30) as r:
                    attempt.status = r.status
            except urllib.error.HTTPError as e:  # 303 arrives here (no redirect followed)
                attempt.status = e.code
                if e.code != 303:
                    attempt.error = e.read()[:300].decode(errors="replace")
            except OSError as e:
                attempt.error = repr(e)
            self._record(attempt)
            time.sleep(0.05 if attempt.status is None else 0.15)

    def start(self, loops: list[tuple]) -> None:
        for target, login, tag in loops:
            t = threading.Thread(target=target, args=(login, tag), daemon=True)
            t.start()
            self.threads.append(t)

    def join(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=60)
            assert not t.is_alive(), "a client thread hangs"


def _wait(predicate, timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.integration
@pytest.mark.slow
def test_kill_9_of_web_server_and_worker_loses_no_upload_and_checks_each_once(
    tmp_path, redis, monkeypatch
):
    from intake.config import Settings
    from intake.db import Database
    from intake.models import ApiToken, CheckRun, PieceVersion, User
    from intake.pipeline import Pipeline
    from tests.web.helpers import STUDENT_PW, make_app, student_id
    from web.auth import hash_token, new_token
    from web.commands.service import create_demo

    # -- one instance: schema, demo students, API tokens -----------------------------------
    instance = tmp_path / "instance"
    monkeypatch.setenv("JUSTIF_INSTANCE_PATH", str(instance))
    app = make_app(tmp_path, RUNNER="none")
    create_demo(app, student_password=STUDENT_PW, admin_password="pw-admin-test")
    url = app.extensions["justif"].db.url
    data_dir = Path(app.extensions["justif"].settings.data_dir)
    logins = ["P241000001", "22001234"]
    accounts: dict[str, dict] = {}
    with app.extensions["justif"].db.session() as s:
        for login in logins:
            token = new_token()
            user = s.scalar(select(User).where(User.login == login))
            s.add(ApiToken(user_id=user.id, token_hash=hash_token(token), label="crash"))
            accounts[login] = {"id": student_id(app, login), "token": token, "password": STUDENT_PW}
    app.extensions["justif"].close()

    env = {
        **os.environ,
        "JUSTIF_INSTANCE_PATH": str(instance),
        "JUSTIF_SECRET_KEY": "crash-test-secret",
        "JUSTIF_DATABASE_URL": url,
        "JUSTIF_DATA_DIR": str(data_dir),
        "JUSTIF_BROKER_URL": redis.url,
        "JUSTIF_ACADEMIC_YEAR": "2026-2027",
        # a dead worker's version is taken over after its lease (6 s), found by the
        # reaper that runs every second
        "JUSTIF_LEASE_S": "6",
        "JUSTIF_REAP_S": "1",
        "JUSTIF_UPLOAD_RATE_LIMIT": "100000",
        "JUSTIF_UPLOAD_QUOTA": "100000",
    }
    env.pop("JUSTIF_RUNNER", None)
    slow_env = {
        **env,
        "JUSTIF_SANDBOX_ALLOW_CALL": "1",
        "JUSTIF_SANDBOX_TEST_OPS": json.dumps({"check": "tests.sandbox_targets:slow_check"}),
    }
    web = Web(env, tmp_path / "gunicorn.log", free_port())
    workers = [Worker(slow_env, tmp_path / "worker.log", concurrency=1)]
    clients = Clients(web.base, accounts)
    db = Database(url)

    def version_state(version_id: int) -> str:
        with db.session() as s:
            return s.scalar(select(PieceVersion.state).where(PieceVersion.id == version_id))

    def running() -> list[int]:
        with db.session() as s:
            return list(s.scalars(select(PieceVersion.id).where(PieceVersion.state == "running")))

    def runs_of(version_id: int) -> int:
        with db.session() as s:
            return len(
                s.scalars(select(CheckRun.id).where(CheckRun.version_id == version_id)).all()
            )

    scratch = data_dir / "tmp"
    left_by_kills: set[str] = set()
    t0 = time.monotonic()

    def note(what: str) -> None:  # shown with -s
        print(f"[{time.monotonic() - t0:5.1f} s] {what}; acknowledged {clients.acked()}")

    def kill_web_mid_upload() -> None:
        """kill -9 gunicorn while a request is inside the upload gate (a scratch directory
        of one of its processes exists)."""
        web_pids = _group_pids(web.proc.pid)

        def uploading() -> bool:
            return any(
                p.name.startswith("job-") and _owner_pid(p) in web_pids for p in scratch.iterdir()
            )

        try:
            _wait(uploading, 20, "an upload in progress", interval=0.002)
        except AssertionError:
            pass  # kill anyway: between requests proves less, but still something
        web.kill9()
        left_by_kills.update(
            p.name
            for p in scratch.iterdir()
            if p.name.startswith((".tmp-", "job-")) and _owner_pid(p) in web_pids
        )

    try:
        web.start()
        workers[0].start()
        clients.start(
            [
                # two clients of one student: concurrent uploads to one piece
                (clients.api_loop, "P241000001", "api1"),
                (clients.api_loop, "P241000001", "api2"),
                (clients.form_loop, "22001234", "form"),
            ]
        )

        # 1. the worker killed in the middle of a (2 s) check
        _wait(lambda: bool(running()), 60, "a check in progress")
        victim = running()[0]
        workers[0].kill9()
        note(f"worker killed while checking version {victim}")
        assert runs_of(victim) == 0, "the check finished before the kill: nothing proved"
        assert version_state(victim) == "running"
        workers.append(Worker(env, tmp_path / "worker2.log", concurrency=2))
        workers[-1].start()

        # 2. the web server killed during uploads, restarted, uploads go on
        for _round in range(2):
            floor = clients.acked() + 3
            _wait(lambda f=floor: clients.acked() >= f, 60, "acknowledged uploads")
            kill_web_mid_upload()
            note(f"web server killed, left {sorted(left_by_kills)}")
            time.sleep(0.3)
            web.start()
            note("web server restarted")
            # swept when the new server started (its first request)
            assert not left_by_kills & {p.name for p in scratch.iterdir()}

        # 3. the worker killed again while it works through the backlog
        _wait(lambda: bool(running()), 60, "a check in progress")
        workers[-1].kill9()
        note(f"worker killed again while checking {running()}")
        workers.append(Worker(env, tmp_path / "worker3.log", concurrency=2))
        workers[-1].start()

        floor = clients.acked() + 3
        _wait(lambda f=floor: clients.acked() >= f, 60, "uploads after the restarts")
        clients.join()
        note("uploads stopped")

        # 4. every version checked (the reaper takes over the dead worker's versions)
        def settled() -> bool:
            with db.session() as s:
                return not s.scalars(
                    select(PieceVersion.id).where(PieceVersion.state.in_(("queued", "running")))
                ).first()

        _wait(settled, 120, "the checks to finish", interval=0.5)
        note("every version checked")
        time.sleep(2)  # a late duplicate message, if any, must change nothing
    finally:
        clients.stop.set()
        web.stop()
        for w in workers:
            w.stop()

    # -- the proof -------------------------------------------------------------------------------
    pipe = Pipeline(db, Settings(data_dir=data_dir, academic_year="2026-2027"))
    ruleset = pipe.ruleset
    attempts = clients.attempts
    by_name = {a.name: a for a in attempts}
    assert len(by_name) == len(attempts)
    acked = [a for a in attempts if a.acknowledged]
    unanswered = [a for a in attempts if a.status is None]
    refused = [a for a in attempts if a.status is not None and not a.acknowledged]
    assert not refused, [(a.name, a.status, a.error) for a in refused[:5]]
    assert len(acked) >= 12 and unanswered, (len(acked), len(unanswered))
    print(f"{len(attempts)} uploads sent, {len(acked)} acknowledged, {len(unanswered)} unanswered")

    with db.session() as s:
        versions = s.scalars(select(PieceVersion)).all()
        runs: dict[int, list[str]] = {}
        for run in s.scalars(select(CheckRun)):
            runs.setdefault(run.version_id, []).append(run.ruleset)
        kinds = {v.id: (v.piece.kind, v.piece.student_id) for v in versions}
    names = [v.display_name for v in versions]
    assert len(names) == len(set(names)), "an upload was stored twice"
    version_of = {v.display_name: v for v in versions}
    assert set(version_of) <= set(by_name), "a version from no upload"

    referenced: set[str] = set()
    for v in versions:  # acknowledged or not: complete, checked exactly once
        path = pipe.store.path_for(v.sha256)
        assert path.is_file(), f"version {v.id}: blob missing"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == v.sha256
        assert v.state == "done", (v.id, v.state, v.last_error)
        assert runs.get(v.id) == [ruleset], (v.id, runs.get(v.id))
        assert kinds[v.id] == ("diploma", accounts[by_name[v.display_name].student]["id"])
        referenced |= {v.sha256, *(v.previews or [])}
    for a in acked:
        v = version_of.get(a.name)
        assert v is not None, f"acknowledged upload {a.name} lost"
        if a.version_id is not None:
            assert v.id == a.version_id
    victim_row = next(v for v in versions if v.id == victim)
    assert victim_row.attempts >= 2  # taken over after the kill, checked once

    # no half-written file: blobs are whole, nothing temporary among them
    blobs = [p for p in pipe.store.blobs.rglob("*") if p.is_file()]
    assert not [p for p in blobs if p.name.startswith(".tmp-")]
    for p in blobs:
        assert hashlib.sha256(p.read_bytes()).hexdigest() == p.name
    orphans = [p.name for p in blobs if p.name not in referenced]
    stored_unacked = [n for n in version_of if not by_name[n].acknowledged]
    print(
        f"{len(versions)} versions ({len(stored_unacked)} of unanswered uploads), "
        f"{len(blobs)} blobs, {len(orphans)} unreferenced"
    )
    # a request cut after storing its file and before its row: a whole, unreferenced blob
    assert len(orphans) <= len(unanswered), orphans

    # the scratch directories of the killed requests were swept at restart
    assert left_by_kills, "no kill landed inside an upload"
    assert list(scratch.iterdir()) == [], list(scratch.iterdir())
    db.dispose()
