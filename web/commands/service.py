"""``justif init-db``, ``justif demo``, ``justif serve``, ``justif create-admin`` and
``justif token``: set up and run the web service (``make run`` chains the first three).

They read the same configuration as the application (``instance/justif.cfg`` and
``JUSTIF_*``) by building it with :func:`web.create_app`.
"""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select

DEMO_PASSWORD_STUDENT = "etudiant-demo"  # noqa: S105 - printed demo credentials
DEMO_PASSWORD_ADMIN = "admin-demo"  # noqa: S105 - printed demo credentials


def _app(**overrides: Any) -> Any:
    from web import create_app

    return create_app(overrides or None)


def _ext(app: Any) -> Any:
    return app.extensions["justif"]


def ensure_instance_config(instance_path: str) -> Path:
    """Write ``instance/justif.cfg`` with a random SECRET_KEY once (0600)."""
    folder = Path(instance_path)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    cfg = folder / "justif.cfg"
    if not cfg.exists():
        cfg.write_text(
            "# written by `justif init-db`; keep it private\n"
            f"SECRET_KEY = {secrets.token_hex(32)!r}\n",
            encoding="utf-8",
        )
        cfg.chmod(0o600)
    return cfg


@click.command("init-db")
def init_db_cmd() -> None:
    """Crée ou met à jour la base (migrations Alembic) et la clé secrète de l’instance."""
    from web import create_app

    probe = create_app()
    cfg = ensure_instance_config(probe.instance_path)
    _ext(probe).close()
    app = create_app()  # with the instance secret
    ext = _ext(app)
    Path(ext.settings.data_dir).mkdir(parents=True, exist_ok=True, mode=0o700)
    ext.db.upgrade()
    ext.pipeline.store  # noqa: B018 - creates the private blob directories
    click.echo(f"base : {_safe_url(ext.db.url)} (révision {ext.db.current_revision()})")
    click.echo(f"fichiers : {ext.settings.data_dir}")
    click.echo(f"configuration : {cfg}")
    ext.close()


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


DEMO_STUDENTS: list[dict[str, Any]] = [
    {
        "application_id": "P241000001",
        "last_name": "Martin",
        "first_name": "Camille",
        "birth_date": dt.date(2007, 3, 14),
        "ine": "0100008010J",
        "cvec_number": "AMI6ABCDEF12",
        "first_registration": True,
        "french_national": True,
        "bac_after_1995": True,
        "programme": "Licence 1 Informatique",
    },
    {
        "application_id": "EC00AB12CD",
        "last_name": "Lefèvre",
        "first_name": "Léa",
        "birth_date": dt.date(2009, 1, 20),
        "ine": "1234567890V",
        "cvec_number": "AMI6GHJKLM34",
        "first_registration": True,
        "french_national": True,
        "bac_after_1995": True,
        "requests_prrel_beneficiary": True,
        "programme": "Licence 1 Droit",
    },
    {
        "student_number": "22001234",
        "last_name": "Nguyen",
        "first_name": "Thomas",
        "birth_date": dt.date(2003, 9, 2),
        "ine": "12345678900",
        "cvec_number": "AMI6MNPRTU56",
        "first_registration": False,
        "apprentice": True,
        "requests_prrel_tutor": True,
        "programme": "Licence 3 Génie civil (apprentissage)",
    },
]


def create_demo(
    app: Any, *, student_password: str, admin_password: str
) -> list[tuple[str, str, str]]:
    """Create (or reset the passwords of) the demo accounts; idempotent."""
    from intake.models import Role, Student, User
    from web.auth import hash_password

    ext = _ext(app)
    method = app.config.get("PASSWORD_METHOD") or None
    year = ext.settings.academic_year
    start = int(year[:4])
    accounts: list[tuple[str, str, str]] = []
    with ext.db.session() as s:
        admin = s.scalar(select(User).where(User.login == "admin"))
        if admin is None:
            admin = User(
                login="admin", role=Role.ADMIN, display_name="Gestionnaire (démo)", password_hash=""
            )
            s.add(admin)
        admin.password_hash = hash_password(admin_password, method)
        accounts.append(("administrateur", "admin", admin_password))
        for data in DEMO_STUDENTS:
            key = data.get("application_id") or data.get("student_number")
            student = s.scalar(
                select(Student).where(
                    (Student.application_id == key) | (Student.student_number == key)
                )
            )
            if student is None:
                student = Student(
                    academic_year=year, registration_date=dt.date(start, 7, 10), **data
                )
                s.add(student)
                s.flush()
            user = s.scalar(select(User).where(User.login == key))
            if user is None:
                user = User(
                    login=key,
                    role=Role.STUDENT,
                    display_name=f"{data['first_name']} {data['last_name']}",
                    student_id=student.id,
                    password_hash="",
                )
                s.add(user)
            user.password_hash = hash_password(student_password, method)
            accounts.append(
                (f"étudiant·e {data['first_name']} {data['last_name']}", key, student_password)
            )
    return accounts


@click.command("demo")
@click.option("--student-password", default=DEMO_PASSWORD_STUDENT, show_default=True)
@click.option("--admin-password", default=DEMO_PASSWORD_ADMIN, show_default=True)
def demo_cmd(student_password: str, admin_password: str) -> None:
    """Crée les comptes de démonstration (idempotent) et les affiche."""
    app = _app()
    ext = _ext(app)
    if not ext.db.has_schema():
        raise click.ClickException("base absente : lancez d’abord `justif init-db`")
    accounts = create_demo(app, student_password=student_password, admin_password=admin_password)
    click.echo("Comptes de démonstration :")
    for role, login, password in accounts:
        click.echo(f"  {role:<32} identifiant {login:<12} mot de passe {password}")
    ext.close()


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option(
    "--threads",
    default=8,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Requêtes servies en même temps.",
)
def serve_cmd(host: str, port: int, threads: int) -> None:
    """Lance le service : gunicorn, un processus à plusieurs fils, vérifications dans le
    processus (sans courtier) ou sur les workers Celery (JUSTIF_BROKER_URL)."""
    app = _app()
    ext = _ext(app)
    try:
        if not ext.db.has_schema():
            raise click.ClickException("base absente : lancez d’abord `justif init-db`")
        from web import DEV_SECRET

        if app.config["SECRET_KEY"] == DEV_SECRET:
            click.echo("attention : clé secrète de développement : `justif init-db`", err=True)
    finally:
        ext.close()  # the worker process builds its own application
    click.echo(f"justif : http://{host}:{port}/  (Ctrl-C pour arrêter)")
    _gunicorn(
        {
            "bind": f"{host}:{port}",
            "workers": 1,  # one process: the in-process runner and its sandboxes live there
            "worker_class": "gthread",
            "threads": threads,
            "timeout": 120,  # uploads over 5 Mo are re-compressed in the request
            "graceful_timeout": 30,
            "keepalive": 5,
            "accesslog": "-",
            "errorlog": "-",
            "loglevel": "info",
            "control_socket_disable": True,  # no gunicornc socket in the user's home
            "post_worker_init": _started,
            "worker_exit": _stopped,
        }
    ).run()


def _started(worker: Any) -> None:
    _ext(worker.wsgi).ensure_started()  # picks up checks left unfinished by the last run


def _stopped(server: Any, worker: Any) -> None:
    app = getattr(worker, "wsgi", None)
    if app is not None:
        _ext(app).close()


def _gunicorn(options: dict[str, Any]) -> Any:
    """gunicorn configured from the command line's own options (no configuration file);
    each worker process builds the application itself (nothing shared across a fork)."""
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return _app()

    return Server()


@click.command("create-admin")
@click.argument("login")
@click.option("--name", default="", help="Nom affiché.")
@click.password_option("--password", help="Mot de passe (demandé s’il manque).")
def create_admin_cmd(login: str, name: str, password: str) -> None:
    """Crée un compte administrateur (ou change son mot de passe)."""
    from intake.models import Role, User
    from web.auth import hash_password

    if len(password) < 12:
        raise click.ClickException("mot de passe trop court (12 caractères au moins)")
    app = _app()
    ext = _ext(app)
    with ext.db.session() as s:
        user = s.scalar(select(User).where(User.login == login))
        if user is None:
            user = User(login=login, role=Role.ADMIN, display_name=name or login, password_hash="")
            s.add(user)
        elif user.role != Role.ADMIN:
            raise click.ClickException(f"{login} existe déjà et n’est pas administrateur")
        user.password_hash = hash_password(password)
    click.echo(f"administrateur {login} prêt")
    ext.close()


@click.command("token")
@click.argument("login")
@click.option("--label", default="", help="À quoi sert ce jeton.")
@click.option("--revoke", "revoke", is_flag=True, help="Révoque tous les jetons de ce compte.")
def token_cmd(login: str, label: str, revoke: bool) -> None:
    """Crée un jeton d’API pour un compte (affiché une seule fois) ou les révoque."""
    from intake.models import ApiToken, User
    from web.auth import hash_token, new_token

    app = _app()
    ext = _ext(app)
    with ext.db.session() as s:
        user = s.scalar(select(User).where(User.login == login))
        if user is None:
            raise click.ClickException(f"compte inconnu : {login}")
        if revoke:
            now = dt.datetime.now(dt.UTC)
            for t in s.scalars(select(ApiToken).where(ApiToken.user_id == user.id)):
                t.revoked_at = t.revoked_at or now
            click.echo(f"jetons de {login} révoqués")
        else:
            token = new_token()
            s.add(ApiToken(user_id=user.id, token_hash=hash_token(token), label=label))
            click.echo(token)
    ext.close()


COMMANDS = [init_db_cmd, demo_cmd, serve_cmd, create_admin_cmd, token_cmd]
