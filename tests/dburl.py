"""Which database a test gets: a fresh SQLite file by default; with
``JUSTIF_TEST_DB=postgresql`` (the second pass of ``make test``), a fresh database on the
real PostgreSQL server the test session started (tests/conftest.py)."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

_counter = itertools.count(1)

# set by the session fixture in conftest when the PostgreSQL pass runs
ADMIN_URL_ENV = "JUSTIF_TEST_PG_ADMIN_URL"


def using_postgres() -> bool:
    return os.environ.get("JUSTIF_TEST_DB") == "postgresql"


def fresh_database_url(tmp_path: Path) -> str:
    admin = os.environ.get(ADMIN_URL_ENV)
    if not using_postgres() or not admin:
        return f"sqlite:///{tmp_path / 'justif.sqlite3'}"
    import sqlalchemy as sa

    name = f"t{os.getpid()}_{next(_counter)}"
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return admin.rsplit("/", 1)[0] + f"/{name}"
