"""Checks on Celery workers (Redis broker) when ``JUSTIF_BROKER_URL`` is set.

The database stays the source of truth: a task only carries a version id (or a
revalidation item id) and calls the same idempotent functions as the in-process
runner (:func:`intake.pipeline.check_version`, :func:`intake.revalidate.process_item`).
Task state lives in justif's tables, never in a result backend (results are ignored).

- ``acks_late`` + ``reject_on_worker_lost``: a message is acknowledged only after the
  check, so a worker killed mid-task does not lose it; a redelivered message finds
  the report already written and does nothing (idempotent on version, sha256, ruleset).
- soft time limit below the hard one: the soft limit raises inside the task, which
  gives the version back (retry, then « failed » with a finding after the last attempt);
  the hard limit kills the pool process as a last resort.
- at start, and every ``JUSTIF_REAP_S`` seconds, each worker re-queues versions left
  queued or running past their lease (their worker died): the reaper of stale rows.
  At start it also removes scratch files left by dead processes
  (:meth:`intake.storage.BlobStore.sweep_stale`).

Start a worker with ``justif worker`` (``celery -A intake.celery_app worker``).
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from celery import Celery, signals

from intake.pipeline import CheckResult, Pipeline, check_version, default_pipeline, pending_versions
from intake.sandbox import Sandbox
from intake.tasks import register_runner

log = logging.getLogger("justif.celery")

CHECK_TASK = "justif.check_version"
REVALIDATE_TASK = "justif.revalidate_item"


def _limits() -> tuple[float, float]:
    """(soft, hard) task time limits: above the child's own wall-clock kill of a check
    (plus previews and the photo fix), the soft one first."""
    check = float(os.environ.get("JUSTIF_CHECK_TIMEOUT_S", "60"))
    soft = 3 * check + 30
    return soft, soft + 30


def make_celery(broker_url: str | None = None) -> Celery:
    broker = broker_url or os.environ.get("JUSTIF_BROKER_URL") or "redis://127.0.0.1:6379/0"
    soft, hard = _limits()
    app = Celery("justif", broker=broker, set_as_current=False)
    app.conf.update(
        task_ignore_result=True,
        result_backend=None,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_soft_time_limit=soft,
        task_time_limit=hard,
        task_default_queue="justif",
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        # a message of a worker killed mid-task comes back after this (the database
        # reaper is faster; a late redelivery is harmless)
        broker_transport_options={"visibility_timeout": int(hard) + 60},
    )
    return app


app = make_celery()

# one warm sandbox per worker process (a pool process runs one task at a time)
_local = threading.local()


def _sandbox(pipe: Pipeline) -> Sandbox:
    box = getattr(_local, "sandbox", None)
    if box is None:
        box = pipe.new_sandbox()
        _local.sandbox = box
    return box


@app.task(name=CHECK_TASK, bind=True, max_retries=3, acks_late=True)
def check_version_task(self: Any, version_id: int) -> str:
    pipe = default_pipeline()
    result = check_version(version_id, pipe, sandbox=_sandbox(pipe), runner="celery")
    if result is CheckResult.RETRY:
        raise self.retry(countdown=2 * (self.request.retries + 1))
    return str(result)


@app.task(name=REVALIDATE_TASK, acks_late=True)
def revalidate_item_task(item_id: int) -> str:
    from intake.revalidate import process_item

    pipe = default_pipeline()
    return str(process_item(pipe, item_id, sandbox=_sandbox(pipe)))


def requeue_pending(pipe: Pipeline | None = None, celery: Celery | None = None) -> int:
    """Send the versions left queued or running past their lease to the workers."""
    pipe = pipe or default_pipeline()
    ids = pending_versions(pipe)
    for version_id in ids:
        (celery or app).send_task(CHECK_TASK, args=[version_id])
    if ids:
        log.info("re-queued %d unfinished version(s)", len(ids))
    return len(ids)


_reaper_started = threading.Event()


@signals.worker_ready.connect
def _on_worker_ready(**_: Any) -> None:
    """At start: pick up what a dead worker left; then reap stale rows periodically."""
    if _reaper_started.is_set():
        return
    _reaper_started.set()
    interval = float(os.environ.get("JUSTIF_REAP_S", "30"))
    try:  # scratch files of a worker killed mid-check
        removed = default_pipeline().store.sweep_stale()
        if removed:
            log.info("removed %d stale scratch entr(ies)", removed)
    except OSError:
        log.exception("sweeping stale scratch files failed")

    def loop() -> None:
        stop = threading.Event()
        while True:
            try:
                requeue_pending()
            except Exception:  # the database may be restarting: try again later
                log.exception("re-queueing unfinished versions failed")
            if stop.wait(interval):
                return

    threading.Thread(target=loop, name="justif-reaper", daemon=True).start()


@signals.worker_process_shutdown.connect
def _close_sandbox(**_: Any) -> None:
    box = getattr(_local, "sandbox", None)
    if box is not None:
        box.close()


class CeleryRunner:
    """``submit`` sends the version id to the workers; nothing runs in this process."""

    name = "celery"

    def __init__(self, pipeline: Pipeline, celery: Celery | None = None) -> None:
        self.pipeline = pipeline
        broker = pipeline.settings.broker_url
        self.celery = celery or (make_celery(broker) if broker else app)

    def start(self) -> None:
        pass  # the workers recover unfinished versions themselves

    def submit(self, version_id: int) -> None:
        self.celery.send_task(CHECK_TASK, args=[version_id])

    def shutdown(self, wait: bool = True) -> None:
        pass


register_runner("celery", CeleryRunner)
