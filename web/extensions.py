"""What the application binds in its factory: the database session per request, the
pipeline and its runner, a small pool of warm sandboxes for the upload gate, CSRF
protection and the per-user rate limits.

Nothing is started at import time. The runner starts on the first request that needs
it (or explicitly in ``justif serve``), so a forking server never forks running threads.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, current_app, g
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.exceptions import TooManyRequests

from intake.catalogue import Catalogue
from intake.config import Settings
from intake.db import Database, default_url
from intake.models import AuditEvent, Piece, PieceVersion
from intake.pipeline import Pipeline
from intake.sandbox import Sandbox
from intake.tasks import Runner, make_runner

csrf = CSRFProtect()
log = logging.getLogger("justif.web")

_EXT = "justif"


class SandboxPool:
    """Warm children for the upload gate, one per request thread at a time."""

    def __init__(self, pipeline: Pipeline, size: int) -> None:
        self.pipeline = pipeline
        self.size = max(1, size)
        self._free: queue.LifoQueue[Sandbox] = queue.LifoQueue()
        self._made = 0
        self._lock = threading.Lock()

    @contextmanager
    def get(self, timeout: float = 60.0) -> Iterator[Sandbox]:
        box = None
        try:
            box = self._free.get_nowait()
        except queue.Empty:
            with self._lock:
                if self._made < self.size:
                    self._made += 1
                    box = self.pipeline.new_sandbox(check=False)
            if box is None:
                try:
                    box = self._free.get(timeout=timeout)
                except queue.Empty:
                    raise TooManyRequests(
                        "Le service reçoit beaucoup de fichiers en ce moment : réessayez "
                        "dans une minute."
                    ) from None
        try:
            yield box
        finally:
            self._free.put(box)

    def close(self) -> None:
        while True:
            try:
                self._free.get_nowait().close()
            except queue.Empty:
                return


class Justif:
    """The per-application objects, stored in ``app.extensions["justif"]``."""

    def __init__(self, app: Flask) -> None:
        cfg = app.config
        values = {k.lower(): v for k, v in cfg.items()}
        values.setdefault("data_dir", cfg.get("DATA_DIR"))
        self.settings = Settings.from_mapping(values)
        url = cfg.get("DATABASE_URL") or default_url(self.settings.data_dir)
        self.db = Database(url)
        catalogue = Catalogue.load(cfg["CATALOGUE_FILE"]) if cfg.get("CATALOGUE_FILE") else None
        self.pipeline = Pipeline(self.db, self.settings)
        if catalogue is not None:
            self.pipeline.catalogue = catalogue
        self.runner: Runner = make_runner(
            self.pipeline, cfg.get("RUNNER") or None, broker_url=cfg.get("BROKER_URL") or None
        )
        self.sandboxes = SandboxPool(self.pipeline, int(cfg.get("SANDBOX_POOL", 2)))
        self._started = False
        self._lock = threading.Lock()

    def ensure_started(self) -> None:
        if self._started:
            return
        with self._lock:
            if not self._started:
                self._started = True
                self.sweep()
                self.runner.start()

    def sweep(self) -> None:
        """Remove scratch files left by dead processes (kill -9 mid-upload)."""
        try:
            removed = self.pipeline.store.sweep_stale()
        except OSError:
            log.exception("sweeping stale scratch files failed")
            return
        if removed:
            log.info("removed %d stale scratch entr(ies)", removed)

    def close(self) -> None:
        self.runner.shutdown(wait=True)
        self.sandboxes.close()
        self.db.dispose()


def init_app(app: Flask) -> Justif:
    ext = Justif(app)
    app.extensions[_EXT] = ext
    csrf.init_app(app)

    @app.before_request
    def _start_runner() -> None:
        # once per process, at the first request: picks up checks a previous process
        # left unfinished (a forking server has forked by then)
        ext.ensure_started()

    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()

    return ext


def justif() -> Justif:
    return current_app.extensions[_EXT]


def db() -> Session:
    """The request's session (closed, and rolled back if uncommitted, at teardown)."""
    if "db_session" not in g:
        g.db_session = justif().db.sessions()
    return g.db_session


def pipeline() -> Pipeline:
    return justif().pipeline


def submit(version_id: int) -> None:
    """Queue a committed version's check (the request answers at once)."""
    ext = justif()
    ext.ensure_started()
    ext.runner.submit(version_id)


# -- per-user limits (counted in the database, so they hold across processes) ---------------


def _count_since(user_id: int, action: str, seconds: float) -> int:
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds)
    return (
        db().scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.user_id == user_id, AuditEvent.action == action, AuditEvent.at >= since
            )
        )
        or 0
    )


def check_upload_limits(user_id: int, student_id: int) -> None:
    """429 in French when a user uploads too fast, or a dossier holds too much."""
    cfg: Any = current_app.config
    limit = int(cfg.get("UPLOAD_RATE_LIMIT", 10))
    window = float(cfg.get("UPLOAD_RATE_WINDOW", 60))
    if _count_since(user_id, "upload.attempt", window) >= limit:
        raise TooManyRequests(
            f"Vous avez envoyé {limit} fichiers en moins de {window:g} secondes : attendez "
            "une minute avant de réessayer."
        )
    versions, stored = (
        db()
        .execute(
            select(func.count(PieceVersion.id), func.coalesce(func.sum(PieceVersion.size), 0))
            .join(Piece, PieceVersion.piece_id == Piece.id)
            .where(Piece.student_id == student_id)
        )
        .one()
    )
    if versions >= int(cfg.get("UPLOAD_QUOTA", 60)) or stored >= int(
        cfg.get("UPLOAD_QUOTA_BYTES", 50_000_000)
    ):
        raise TooManyRequests(
            "Votre dossier a atteint le nombre maximal de fichiers déposés. Écrivez au "
            "service des inscriptions en indiquant vos nom, prénom et numéro de dossier."
        )


def login_attempts(user_id: int) -> int:
    return _count_since(
        user_id, "login.failed", float(current_app.config.get("LOGIN_RATE_WINDOW", 900))
    )
