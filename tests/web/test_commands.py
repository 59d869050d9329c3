"""`justif init-db`, `demo`, `token`, `create-admin`; migrations match the models."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from intake.db import Database
from intake.models import Base
from tests.dburl import fresh_database_url


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.setenv("JUSTIF_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("JUSTIF_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("JUSTIF_PASSWORD_METHOD", "pbkdf2:sha256:1000")
    from web.cli import _register
    from web.cli import cli as group

    _register()
    runner = CliRunner()

    def run(*args: str, code: int = 0):
        result = runner.invoke(group, list(args), catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    return run


def test_init_db_demo_and_token_are_idempotent(cli, tmp_path):
    out = cli("demo", code=1)
    assert "justif init-db" in out
    out = cli("init-db")
    assert f"révision {Database('sqlite://').head_revision()}" in out
    cfg = tmp_path / "instance" / "justif.cfg"
    assert cfg.stat().st_mode & 0o777 == 0o600
    secret = cfg.read_text()
    assert "SECRET_KEY" in secret and "dev-only" not in secret
    cli("init-db")
    assert cfg.read_text() == secret  # kept
    first = cli("demo")
    assert "P241000001" in first and "admin" in first and "etudiant-demo" in first
    assert cli("demo") == first
    token = cli("token", "admin").strip()
    assert token.startswith("jt_") and len(token) > 30
    assert "révoqués" in cli("token", "admin", "--revoke")
    assert "compte inconnu" in cli("token", "nobody", code=1)


def test_create_admin(cli):
    cli("init-db")
    assert "trop court" in cli("create-admin", "gestion", "--password", "court", code=1)
    assert "prêt" in cli("create-admin", "gestion", "--password", "un-mot-de-passe-long")
    cli("demo")
    assert "n’est pas administrateur" in cli(
        "create-admin", "P241000001", "--password", "un-mot-de-passe-long", code=1
    )


def test_passwords_are_hashed_with_scrypt_by_default():
    from web.auth import hash_password

    h = hash_password("secret-password")
    assert h.startswith("scrypt:") and "secret-password" not in h


def test_migrations_match_the_models_and_go_down_and_up(tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    db = Database(fresh_database_url(tmp_path))
    db.upgrade()
    db.upgrade()  # idempotent
    with db.engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )
    assert diff == []
    db.downgrade("base")
    assert not db.has_schema()
    db.upgrade()
    assert db.has_schema() and db.current_revision() == db.head_revision()
    db.dispose()


def test_naive_datetimes_are_refused(tmp_path):
    import datetime as dt

    from intake.models import AuditEvent

    db = Database(fresh_database_url(tmp_path))
    db.upgrade()
    with pytest.raises(Exception, match="naive"), db.session() as s:
        s.add(AuditEvent(action="x", at=dt.datetime(2026, 1, 1)))
        s.flush()
    with db.session() as s:
        s.add(AuditEvent(action="y", at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)))
    with db.session() as s:
        assert s.query(AuditEvent).one().at.tzinfo is not None
    db.dispose()


def test_purge_command_reports_and_deletes_orphans(cli, tmp_path):
    import os
    import time

    from intake.retention import ORPHAN_AFTER_S
    from intake.storage import BlobStore

    assert "justif init-db" in cli("purge", code=1)
    cli("init-db")
    store = BlobStore(tmp_path / "data").ensure()
    orphan = store.put_bytes(b"%PDF-1.4 left by a killed upload")
    long_ago = time.time() - ORPHAN_AFTER_S - 60
    os.utime(store.path_for(orphan), (long_ago, long_ago))
    out = cli("purge", "--dry-run")
    assert "0 version(s) de pièce d’identité à supprimer" in out
    assert "1 fichier(s) orphelin(s) à supprimer" in out and store.exists(orphan)
    assert "1 fichier(s) orphelin(s) supprimé(s)" in cli("purge")
    assert not store.exists(orphan)
    assert "0 fichier(s) orphelin(s)" in cli("purge")


def test_serve_is_gunicorn_that_picks_up_unfinished_checks_and_stops_on_sigterm(tmp_path):
    """`make run`'s server: a check left queued by the last run is done at start; SIGTERM
    stops it cleanly."""
    import io
    import os
    import signal
    import subprocess
    import time
    import urllib.request

    from intake.models import PieceVersion, ProcessingState, Student
    from intake.pipeline import store_upload
    from tests import badfiles, batchdata
    from tests.conftest import ROOT
    from tests.services import free_port

    justif = str(ROOT / ".venv" / "bin" / "justif")
    env = {
        **os.environ,
        "JUSTIF_INSTANCE_PATH": str(tmp_path / "instance"),
        "JUSTIF_DATA_DIR": str(tmp_path / "data"),
        "JUSTIF_PASSWORD_METHOD": "pbkdf2:sha256:1000",
    }
    for command in ("init-db", "demo"):
        subprocess.run([justif, command], env=env, check=True, capture_output=True, timeout=120)
    # an upload whose check never ran (the service was stopped before it could)
    pipe = batchdata.pipeline(tmp_path / "data")
    with pipe.db.session() as s:
        sid = s.query(Student.id).order_by(Student.id).first()[0]
    with pipe.new_sandbox() as box:
        out = store_upload(
            pipe,
            student_id=sid,
            kind="diploma",
            files=[(io.BytesIO(badfiles.pdf()), "diplome.pdf")],
            user_id=None,
            sandbox=box,
        )
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [justif, "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        state = None
        while time.monotonic() < deadline:
            with pipe.db.session() as s:
                state = s.get(PieceVersion, out.version_id).state
            if state == ProcessingState.DONE:
                break
            time.sleep(0.5)
        assert state == ProcessingState.DONE, (tmp_path / "serve.log").read_text()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/connexion", timeout=10) as r:
            assert r.status == 200 and "Identifiant" in r.read().decode()
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=60)
        log.close()
    text = (tmp_path / "serve.log").read_text()
    assert code == 0, text
    assert "Booting worker" in text and "Shutting down: Master" in text
    pipe.db.dispose()
