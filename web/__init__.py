"""The web service: Flask application factory (student, admin and API blueprints come
with the web issue). ``create_app(test_config=None)`` loads defaults, the instance
file, ``JUSTIF_*`` environment variables, then the test mapping; nothing is created at
import time."""

from __future__ import annotations

from typing import Any

from flask import Flask


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        SECRET_KEY="dev-only-change-me",  # noqa: S106 - the instance file replaces it
        MAX_CONTENT_LENGTH=21_000_000,
    )
    app.config.from_pyfile("justif.cfg", silent=True)
    app.config.from_prefixed_env("JUSTIF")
    if test_config:
        app.config.from_mapping(test_config)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/")
    def index() -> str:
        return (
            "<!doctype html><html lang='fr'><meta charset='utf-8'><title>justif</title>"
            "<h1>justif</h1><p>Dépôt des pièces justificatives : service en préparation.</p>"
        )

    return app
