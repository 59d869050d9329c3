"""Fixtures for the web service (helpers in tests/web/helpers.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.helpers import ADMIN_PW, STUDENT_PW, Client, make_app


@pytest.fixture
def app_factory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("JUSTIF_INSTANCE_PATH", str(tmp_path / "instance"))
    made: list[Any] = []

    def build(**overrides: Any) -> Any:
        from web.commands.service import create_demo

        app = make_app(tmp_path, **overrides)
        create_demo(app, student_password=STUDENT_PW, admin_password=ADMIN_PW)
        made.append(app)
        return app

    yield build
    for app in made:
        app.extensions["justif"].close()


@pytest.fixture
def app(app_factory: Any) -> Any:
    return app_factory()


@pytest.fixture
def client(app: Any) -> Client:
    return Client(app.test_client())


@pytest.fixture
def student_client(app: Any) -> Client:
    c = Client(app.test_client())
    c.login("P241000001", STUDENT_PW)
    return c


@pytest.fixture
def other_student_client(app: Any) -> Client:
    c = Client(app.test_client())
    c.login("EC00AB12CD", STUDENT_PW)
    return c


@pytest.fixture
def admin_client(app: Any) -> Client:
    c = Client(app.test_client())
    c.login("admin", ADMIN_PW)
    return c
