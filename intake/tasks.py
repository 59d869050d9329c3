"""Where checks run: the :class:`Runner` interface and its embedded implementations.

A web request only stores the upload and calls ``runner.submit(version_id)`` after the
commit; the runner calls :func:`intake.pipeline.check_version`, which is idempotent and
takes the version's lease, so submitting twice, or from two processes, is harmless.

- :class:`InProcessRunner` (the default when no broker is configured): a few worker
  threads, each with its own warm :class:`~intake.sandbox.Sandbox` (a sandbox is never
  shared between threads). At start, and whenever a thread is idle for ``poll_s``, it
  picks up versions left ``queued`` or ``running`` with an expired lease (a process
  that died mid-check).
- :class:`InlineRunner`: runs the check in the caller's thread (CLI, unit tests).
- :class:`NullRunner`: records submissions and runs nothing (tests of the web tier).

Issue 7 plugs a Celery runner in with :func:`register_runner` (``submit`` sends the
version id to a ``check_version`` task); :func:`make_runner` picks it when a broker URL
is configured.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Protocol

from intake.pipeline import CheckResult, Pipeline, check_version, pending_versions
from intake.sandbox import Sandbox

log = logging.getLogger("justif.tasks")


class Runner(Protocol):
    name: str

    def start(self) -> None:
        """Start workers and pick up unfinished versions (idempotent)."""

    def submit(self, version_id: int) -> None:
        """Queue the check of a committed version; returns at once."""

    def shutdown(self, wait: bool = True) -> None: ...


class NullRunner:
    name = "none"

    def __init__(self, pipeline: Pipeline | None = None) -> None:
        self.submitted: list[int] = []

    def start(self) -> None:
        pass

    def submit(self, version_id: int) -> None:
        self.submitted.append(version_id)

    def shutdown(self, wait: bool = True) -> None:
        pass


class InlineRunner:
    """Runs each check at once in the calling thread, with one warm sandbox."""

    name = "inline"

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self._sandbox: Sandbox | None = None
        self._lock = threading.Lock()
        self.results: list[tuple[int, CheckResult]] = []

    def start(self) -> None:
        for version_id in pending_versions(self.pipeline):
            self.submit(version_id)

    def submit(self, version_id: int) -> None:
        with self._lock:
            if self._sandbox is None:
                self._sandbox = self.pipeline.new_sandbox()
            for _ in range(self.pipeline.max_attempts):
                result = check_version(
                    version_id, self.pipeline, sandbox=self._sandbox, runner=self.name
                )
                if result is not CheckResult.RETRY:
                    break
            self.results.append((version_id, result))

    def shutdown(self, wait: bool = True) -> None:
        with self._lock:
            if self._sandbox is not None:
                self._sandbox.close()
                self._sandbox = None


_STOP = -1


class InProcessRunner:
    """A small thread pool inside the web process (the embedded default)."""

    name = "inprocess"

    def __init__(self, pipeline: Pipeline, threads: int = 1, poll_s: float = 30.0) -> None:
        self.pipeline = pipeline
        self.threads = max(1, threads)
        self.poll_s = poll_s
        self._queue: queue.Queue[int] = queue.Queue()
        self._workers: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._started = False
        self._stopping = threading.Event()
        self._busy = 0
        self._idle = threading.Condition()

    # -- lifecycle ------------------------------------------------------------------
    def start(self) -> None:
        with self._lock:
            if self._started:
                return
            self._started = True
            for i in range(self.threads):
                t = threading.Thread(target=self._work, name=f"justif-check-{i}", daemon=True)
                t.start()
                self._workers.append(t)
        self.recover()

    def recover(self) -> int:
        """Queue versions left unfinished (queued, or running past their lease)."""
        ids = pending_versions(self.pipeline)
        for version_id in ids:
            self._put(version_id)
        if ids:
            log.info("picked up %d unfinished version(s)", len(ids))
        return len(ids)

    def submit(self, version_id: int) -> None:
        if not self._started:
            self.start()
        self._put(version_id)

    def _put(self, version_id: int) -> None:
        with self._idle:
            self._busy += 1
        self._queue.put(version_id)

    def shutdown(self, wait: bool = True) -> None:
        self._stopping.set()
        for _ in self._workers:
            self._queue.put(_STOP)
        if wait:
            for t in self._workers:
                t.join(timeout=self.pipeline.settings.check_timeout_s * 3 + 10)
        self._workers.clear()
        self._started = False

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Block until every submitted check has finished (tests, CLI)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    # -- worker threads ---------------------------------------------------------------
    def _done_one(self) -> None:
        with self._idle:
            self._busy -= 1
            self._idle.notify_all()

    def _work(self) -> None:
        sandbox = self.pipeline.new_sandbox()
        try:
            while not self._stopping.is_set():
                try:
                    version_id = self._queue.get(timeout=self.poll_s)
                except queue.Empty:
                    self._reap()
                    continue
                if version_id == _STOP:
                    break
                try:
                    self._run(version_id, sandbox)
                finally:
                    self._done_one()
        finally:
            sandbox.close()

    def _run(self, version_id: int, sandbox: Sandbox) -> None:
        for attempt in range(1, self.pipeline.max_attempts + 1):
            try:
                result = check_version(version_id, self.pipeline, sandbox=sandbox, runner=self.name)
            except Exception:  # the database itself failed: try again later
                log.exception("check_version(%s) raised", version_id)
                result = CheckResult.RETRY
            if result is not CheckResult.RETRY or self._stopping.is_set():
                return
            time.sleep(min(0.5 * attempt, 5))

    def _reap(self) -> None:
        try:
            self.recover()
        except Exception:
            log.exception("recovery of unfinished versions failed")


RunnerFactory = Callable[[Pipeline], Runner]

_RUNNERS: dict[str, RunnerFactory] = {
    "inprocess": lambda p: InProcessRunner(p, threads=default_threads()),
    "inline": InlineRunner,
    "none": NullRunner,
}


def default_threads() -> int:
    """Concurrent checks in the embedded runner: at most the CPU count (security.md §5.6)."""
    env = os.environ.get("JUSTIF_RUNNER_THREADS")
    if env:
        return max(1, int(env))
    return max(1, min(2, os.cpu_count() or 1))


def register_runner(name: str, factory: RunnerFactory) -> None:
    """Make another runner available by name (issue 7: ``"celery"``)."""
    _RUNNERS[name] = factory


# modules that register a runner when imported (issue 7's Celery app)
RUNNER_MODULES: dict[str, str] = {"celery": "intake.celery_app"}


def make_runner(
    pipeline: Pipeline, name: str | None = None, *, broker_url: str | None = None
) -> Runner:
    """The runner named ``name``; by default Celery when a broker is configured, else
    the in-process pool. A runner living in another module is imported on demand."""
    if name is None:
        name = "celery" if broker_url else "inprocess"
    if name not in _RUNNERS and name in RUNNER_MODULES:
        import importlib

        try:
            importlib.import_module(RUNNER_MODULES[name])
        except ModuleNotFoundError as exc:
            if exc.name != RUNNER_MODULES[name]:
                raise
    factory = _RUNNERS.get(name)
    if factory is None:
        raise LookupError(
            f"runner {name!r} is not available (known: {', '.join(sorted(_RUNNERS))}); "
            "unset JUSTIF_BROKER_URL to use the in-process runner"
        )
    return factory(pipeline)
