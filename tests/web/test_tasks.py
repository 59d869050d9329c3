"""The runners: submissions return at once, unfinished versions are picked up at start,
internal errors are retried, a broker without its runner is a clear error."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

import intake.tasks as tasks
from intake.config import Settings
from intake.db import Database
from intake.pipeline import CheckResult, Pipeline
from intake.tasks import InlineRunner, InProcessRunner, NullRunner, make_runner, register_runner
from tests.dburl import fresh_database_url


@pytest.fixture
def pipe(tmp_path: Path):
    db = Database(fresh_database_url(tmp_path))
    p = Pipeline(
        db, Settings(data_dir=tmp_path / "data", academic_year="2026-2027", check_timeout_s=5)
    )
    yield p
    db.dispose()


class Recorder:
    def __init__(self, results=None, delay=0.0):
        self.calls: list[tuple[int, str]] = []
        self.results = list(results or [])
        self.delay = delay
        self.lock = threading.Lock()

    def __call__(self, version_id, pipeline, *, sandbox, runner):
        time.sleep(self.delay)
        with self.lock:
            self.calls.append((version_id, threading.current_thread().name))
            return self.results.pop(0) if self.results else CheckResult.DONE


class NoSandbox:
    def close(self):
        pass


@pytest.fixture
def fake(monkeypatch, pipe):
    monkeypatch.setattr(Pipeline, "new_sandbox", lambda self, check=True: NoSandbox())
    monkeypatch.setattr(tasks, "pending_versions", lambda p: [7, 8])
    rec = Recorder(delay=0.2)
    monkeypatch.setattr(tasks, "check_version", rec)
    return rec


def test_inprocess_runner_answers_at_once_and_recovers_at_start(pipe, fake):
    runner = InProcessRunner(pipe, threads=2, poll_s=30)
    t0 = time.perf_counter()
    runner.submit(9)  # starts the pool, which first queues the unfinished 7 and 8
    assert time.perf_counter() - t0 < 0.15  # the request thread never waits for a check
    assert runner.wait_idle(10)
    runner.shutdown()
    assert sorted(v for v, _ in fake.calls) == [7, 8, 9]
    assert {name for _, name in fake.calls} <= {"justif-check-0", "justif-check-1"}


def test_inprocess_runner_retries_internal_errors(pipe, fake, monkeypatch):
    monkeypatch.setattr(tasks, "pending_versions", lambda p: [])
    fake.delay = 0
    fake.results = [CheckResult.RETRY, CheckResult.RETRY, CheckResult.DONE]
    runner = InProcessRunner(pipe, threads=1)
    runner.submit(3)
    assert runner.wait_idle(10)
    runner.shutdown()
    assert [v for v, _ in fake.calls] == [3, 3, 3]


def test_idle_workers_reap_expired_leases(pipe, fake, monkeypatch):
    seen = []
    monkeypatch.setattr(tasks, "pending_versions", lambda p: seen.append(1) or [])
    runner = InProcessRunner(pipe, threads=1, poll_s=0.05)
    runner.start()
    time.sleep(0.4)
    runner.shutdown()
    assert len(seen) >= 3  # at start, then at every idle poll


def test_inline_runner_runs_in_the_callers_thread(pipe, fake, monkeypatch):
    monkeypatch.setattr(tasks, "pending_versions", lambda p: [])
    fake.delay = 0
    runner = InlineRunner(pipe)
    runner.submit(5)
    assert fake.calls == [(5, threading.current_thread().name)]
    runner.shutdown()


def test_make_runner_choices(pipe, monkeypatch):
    assert isinstance(make_runner(pipe), InProcessRunner)
    assert isinstance(make_runner(pipe, "none"), NullRunner)
    with pytest.raises(LookupError, match="JUSTIF_BROKER_URL"):
        make_runner(pipe, "nope")
    # a broker whose runner module is absent: a clear error, not a silent fallback
    monkeypatch.setattr(tasks, "_RUNNERS", dict(tasks._RUNNERS))  # restored afterwards
    tasks._RUNNERS.pop("celery", None)
    monkeypatch.setitem(tasks.RUNNER_MODULES, "celery", "intake.no_such_runner_module")
    with pytest.raises(LookupError, match="JUSTIF_BROKER_URL"):
        make_runner(pipe, broker_url="redis://localhost:6379/0")
    register_runner("celery", NullRunner)
    assert isinstance(make_runner(pipe, broker_url="redis://x"), NullRunner)
