"""The web service: Flask application factory with one blueprint per audience.

``create_app(test_config=None)`` loads the defaults, then the instance file
(``instance/justif.cfg``, written by ``justif init-db`` with a random secret key),
then ``JUSTIF_*`` environment variables (``JUSTIF_DATABASE_URL`` → ``DATABASE_URL``),
then the test mapping. It binds the extensions and blueprints and starts nothing: the
schema comes from ``justif init-db`` (Alembic), the check runner starts with the first
request that needs it.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from flask import Flask

DEV_SECRET = "dev-only-change-me"  # noqa: S105 - replaced by the instance file


def default_config(instance_path: str) -> dict[str, Any]:
    return {
        "SECRET_KEY": DEV_SECRET,
        "DATA_DIR": str(Path(instance_path) / "data"),
        "DATABASE_URL": "",  # default: SQLite in DATA_DIR
        "BROKER_URL": "",  # set: Celery workers (issue 7); unset: in-process runner
        "RUNNER": "",  # force a runner: inprocess, inline, none
        "ACADEMIC_YEAR": "",
        # two raw files (recto + verso) up to JUSTIF_MAX_RAW_BYTES (20 MB: over 5 MB only to
        # be shrunk, never stored as they are) plus form overhead; bigger bodies get 413
        "MAX_CONTENT_LENGTH": 41_000_000,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": False,  # set True behind HTTPS
        "SESSION_COOKIE_NAME": "justif_session",
        "PERMANENT_SESSION_LIFETIME": 8 * 3600,
        "WTF_CSRF_TIME_LIMIT": 8 * 3600,
        "UPLOAD_RATE_LIMIT": 10,  # uploads per user…
        "UPLOAD_RATE_WINDOW": 60,  # …per this many seconds
        "UPLOAD_QUOTA": 60,  # versions per dossier
        "UPLOAD_QUOTA_BYTES": 50_000_000,
        "LOGIN_RATE_LIMIT": 10,  # failed log-ins per account…
        "LOGIN_RATE_WINDOW": 900,  # …per this many seconds
        "SANDBOX_POOL": 2,  # warm children for the upload gate
        "SHOW_NIGHTLY_WINDOW": False,  # domain.md §7 sentence in the footer
        "SUPPORT_EMAIL": "",
        "CATALOGUE_FILE": "",  # another pieces.toml
    }


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    # JUSTIF_INSTANCE_PATH moves the instance folder (config file, default data)
    instance = os.environ.get("JUSTIF_INSTANCE_PATH") or None
    app = Flask(__name__, instance_path=instance, instance_relative_config=True)
    app.config.from_mapping(default_config(app.instance_path))
    app.config.from_pyfile("justif.cfg", silent=True)
    app.config.from_prefixed_env("JUSTIF")
    if test_config:
        app.config.from_mapping(test_config)

    from web import admin, api, auth, errors, extensions, files, student

    extensions.init_app(app)
    errors.register(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(student.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(files.bp)
    app.register_blueprint(api.bp)
    extensions.csrf.exempt(api.bp)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {
            "current_user": auth.current_user(),
            "show_nightly": app.config["SHOW_NIGHTLY_WINDOW"],
            "support_email": app.config["SUPPORT_EMAIL"],
        }

    register_filters(app)
    return app


def _paris() -> Any:
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo("Europe/Paris")
    except (ImportError, KeyError, ValueError, OSError):
        return dt.UTC


def register_filters(app: Flask) -> None:
    zone = _paris()

    @app.template_filter("when")
    def _when(value: dt.datetime | None) -> str:
        if value is None:
            return "—"
        return value.astimezone(zone).strftime("%d/%m/%Y à %H:%M")

    @app.template_filter("day")
    def _day(value: dt.date | None) -> str:
        return value.strftime("%d/%m/%Y") if value else "—"

    @app.template_filter("size")
    def _size(value: int | None) -> str:
        if not value:
            return "—"
        if value >= 1_000_000:
            return f"{value / 1e6:.1f} Mo".replace(".", ",")
        return f"{max(1, round(value / 1000))} Ko"

    @app.template_filter("detail")
    def _detail(value: Any) -> str:
        if not value:
            return ""
        if isinstance(value, dict):
            return " ; ".join(f"{k} = {_detail(v)}" for k, v in value.items())
        if isinstance(value, list | tuple):
            return ", ".join(_detail(v) for v in value)
        return str(value)
