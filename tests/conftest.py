"""Shared fixtures and the skip-or-fail policy for tests that need real programs.

Tests marked ``ocr`` need the tesseract binary; ``integration`` tests need PostgreSQL,
Redis or a Celery worker; ``browser`` tests need Chromium. When one is missing the test
is skipped — except when ``REQUIRE_TESSERACT=1`` / ``REQUIRE_SERVICES=1`` (set by
``.ci/run``), where the skip becomes a failure: a green CI run must not hide a missing
apt package.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _require(env: str) -> bool:
    return os.environ.get(env) == "1"


def skip_or_fail(reason: str, env: str) -> None:
    if _require(env):
        pytest.fail(f"{reason} (required because {env}=1)")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _needs_programs(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("ocr") and shutil.which("tesseract") is None:
        skip_or_fail("tesseract is not installed", "REQUIRE_TESSERACT")
    if request.node.get_closest_marker("browser") and shutil.which("chromium") is None:
        skip_or_fail("chromium is not installed", "REQUIRE_SERVICES")


@pytest.fixture(scope="session", autouse=True)
def _postgres_pass():
    """``JUSTIF_TEST_DB=postgresql``: one real PostgreSQL server for the session; every
    test that asks tests.dburl for a database gets a fresh one on it."""
    from tests.dburl import ADMIN_URL_ENV, using_postgres

    if not using_postgres():
        yield None
        return
    from tests.services import postgres_bin, postgres_server

    if postgres_bin() is None:
        skip_or_fail("PostgreSQL is not installed", "REQUIRE_SERVICES")
    with postgres_server() as server:
        os.environ[ADMIN_URL_ENV] = server.url
        try:
            yield server
        finally:
            os.environ.pop(ADMIN_URL_ENV, None)


@pytest.fixture
def settings(tmp_path: Path):
    from intake import Settings

    return Settings(data_dir=tmp_path / "data", academic_year="2026-2027")


@pytest.fixture
def store(settings):
    from intake import BlobStore

    return BlobStore(settings.data_dir).ensure()


@pytest.fixture(scope="session")
def sandbox():
    """One warm child shared by a test session (replaced after any failure)."""
    from intake import Limits, Sandbox

    with Sandbox(Limits(memory_mb=512, cpu_s=60, timeout_s=60), max_jobs=200) as box:
        yield box


@pytest.fixture(scope="module")
def redis(tmp_path_factory):
    """A real redis-server for the module (Celery broker of the integration tests)."""
    from tests.services import redis_bin, redis_server

    if redis_bin() is None:
        skip_or_fail("redis-server is not installed", "REQUIRE_SERVICES")
    with redis_server(tmp_path_factory.mktemp("redis")) as server:
        yield server
