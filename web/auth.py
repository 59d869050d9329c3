"""Log-in, log-out, roles and the access decorators.

Students log in with their application identifier (``P24…``, ``EC…``, ``M4…``) or
their student number; administrators with their user name. Passwords are hashed
(werkzeug's scrypt); API tokens are stored as SHA-256 only. Every page says which role
it needs with :func:`student_required` / :func:`admin_required`; an API request carries
``Authorization: Bearer <token>`` and never uses the session cookie (so the API needs
no CSRF token and a cookie can never drive it).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
import secrets
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    has_app_context,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy import or_, select
from werkzeug.exceptions import TooManyRequests
from werkzeug.security import check_password_hash, generate_password_hash

from intake.models import ApiToken, Role, Student, User
from intake.pipeline import audit
from web import extensions as ext

bp = Blueprint("auth", __name__)

F = TypeVar("F", bound=Callable[..., Any])

# a real hash to compare against when the login is unknown (same time either way)
_DUMMY_HASH = generate_password_hash("justif-dummy-password")


def hash_password(password: str, method: str | None = None) -> str:
    """scrypt by default; ``PASSWORD_METHOD`` in the configuration can change it (the
    tests use a cheap pbkdf2 to stay fast)."""
    if method is None and has_app_context():
        method = current_app.config.get("PASSWORD_METHOD") or None
    return generate_password_hash(password, method=method or "scrypt")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return "jt_" + secrets.token_urlsafe(32)


def normalise_login(raw: str) -> str:
    """Upper-case, no spaces; ``P24`` + 6 digits gets its leading 0 (FAQ), and after
    ``P24`` only digits follow, so O→0 and I/L→1 are safe (domain.md §3.7)."""
    value = re.sub(r"\s+", "", raw or "").upper()
    if value.startswith("P24"):
        tail = value[3:].translate(str.maketrans("OIL", "011"))
        if re.fullmatch(r"[0-9]{6}", tail):
            tail = "0" + tail
        value = "P24" + tail
    return value


def find_user(login: str) -> User | None:
    """The account for a login: a user name, or a student's application id or number."""
    s = ext.db()
    value = normalise_login(login)
    user = s.scalar(select(User).where(or_(User.login == value, User.login == login.strip())))
    if user is not None:
        return user
    student = s.scalar(
        select(Student).where(or_(Student.application_id == value, Student.student_number == value))
    )
    return student.user if student is not None else None


def current_user() -> User | None:
    if "user" not in g:
        uid = session.get("uid")
        user = ext.db().get(User, uid) if uid else None
        g.user = user if user is not None and user.active else None
    return g.user


def _is_api() -> bool:
    return request.blueprint == "api" or request.path.startswith("/api/")


def _forbidden_or_login() -> Any:
    if current_user() is None:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    abort(403)


def student_required(view: F) -> F:
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        user = current_user()
        if user is None or user.role != Role.STUDENT or user.student_id is None:
            return _forbidden_or_login()
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def admin_required(view: F) -> F:
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        user = current_user()
        if user is None or user.role != Role.ADMIN:
            return _forbidden_or_login()
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def login_required(view: F) -> F:
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_user() is None:
            return _forbidden_or_login()
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def token_user() -> User | None:
    """The user of a valid, unrevoked bearer token (API requests only)."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    s = ext.db()
    row = s.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token.strip())))
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    row.last_used_at = dt.datetime.now(dt.UTC)
    s.commit()
    return row.user


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (no open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def home_for(user: User) -> str:
    return url_for("admin.queue") if user.is_admin else url_for("student.dossier")


@bp.route("/connexion", methods=["GET", "POST"])
def login() -> Any:
    if request.method != "POST":
        user = current_user()
        if user is not None:
            return redirect(home_for(user))
        return render_template("auth/login.html", next=request.args.get("next", ""))
    login_value = request.form.get("login", "")
    password = request.form.get("password", "")
    user = find_user(login_value) if login_value.strip() else None
    s = ext.db()
    if user is not None and ext.login_attempts(user.id) >= _login_limit():
        audit(s, user.id, "login.blocked", "user", user.id)
        s.commit()
        raise TooManyRequests(
            "Trop de tentatives de connexion : patientez un quart d’heure avant de réessayer."
        )
    ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
    if user is None or not ok or not user.active:
        if user is not None:
            audit(s, user.id, "login.failed", "user", user.id)
            s.commit()
        flash("Identifiant ou mot de passe incorrect.", "error")
        return render_template("auth/login.html", next=request.form.get("next", "")), 401
    session.clear()  # no session fixation
    session["uid"] = user.id
    session.permanent = True
    user.last_login_at = dt.datetime.now(dt.UTC)
    audit(s, user.id, "login", "user", user.id)
    s.commit()
    g.pop("user", None)
    return redirect(safe_next(request.form.get("next")) or home_for(user))


def _login_limit() -> int:
    return int(current_app.config.get("LOGIN_RATE_LIMIT", 10))


@bp.post("/deconnexion")
def logout() -> Any:
    user = current_user()
    if user is not None:
        s = ext.db()
        audit(s, user.id, "logout", "user", user.id)
        s.commit()
    session.clear()
    flash("Vous êtes déconnecté.", "info")
    return redirect(url_for("auth.login"))


@bp.get("/")
def index() -> Any:
    user = current_user()
    if user is None:
        return redirect(url_for("auth.login"))
    return redirect(home_for(user))
