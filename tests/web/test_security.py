"""Every route for every role, no access to another student's files (IDOR), CSRF on
every form, security headers, log-in limits, session cookie flags, upload rate limit."""

from __future__ import annotations

import re

import pytest

from tests.web.helpers import (
    ADMIN_PW,
    STUDENT_PW,
    Client,
    finding,
    jpeg_bytes,
    make_app,
    seed_version,
    student_id,
    text_pdf,
    upload,
)

ROLES = ("anon", "student", "other", "admin")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """One app for the read-only checks: each demo student has a checked CVEC version
    with a preview, and a logged-in client per role."""
    from web.commands.service import create_demo

    app = make_app(tmp_path_factory.mktemp("world"))
    create_demo(app, student_password=STUDENT_PW, admin_password=ADMIN_PW)
    own = seed_version(
        app,
        "P241000001",
        "cvec",
        {
            "outcome": "review",
            "findings": [finding("kind.not_checked", "warning", "inconclusive")],
            "fields": {},
        },
    )
    other = seed_version(app, "EC00AB12CD", "cvec")
    clients = {"anon": Client(app.test_client())}
    for role, login, pw in (
        ("student", "P241000001", STUDENT_PW),
        ("other", "EC00AB12CD", STUDENT_PW),
        ("admin", "admin", ADMIN_PW),
    ):
        clients[role] = Client(app.test_client())
        clients[role].login(login, pw)
    yield {
        "app": app,
        "clients": clients,
        "piece": own[0],
        "version": own[1],
        "student": student_id(app, "P241000001"),
        "other_version": other[1],
    }
    app.extensions["justif"].close()


# expected status per role: anon, student (owner), other student, admin. 302 = to the log-in page
MATRIX = [
    ("/dossier/", (302, 200, 200, 403)),
    ("/dossier/cvec", (302, 200, 200, 403)),
    ("/dossier/nope", (302, 404, 404, 403)),
    ("/admin/", (302, 403, 403, 200)),
    (
        "/admin/?status=all&kind=cvec&code=kind.not_checked&since=2020-01-01&until=2099-01-01",
        (302, 403, 403, 200),
    ),
    ("/admin/pieces/{piece}", (302, 403, 403, 200)),
    ("/admin/etudiants", (302, 403, 403, 200)),
    ("/admin/etudiants?q=mart", (302, 403, 403, 200)),
    ("/admin/etudiants/{student}", (302, 403, 403, 200)),
    ("/admin/journal", (302, 403, 403, 200)),
    ("/admin/export.csv", (302, 403, 403, 200)),
    ("/fichiers/versions/{version}/apercu/1.png", (302, 200, 404, 200)),
    ("/fichiers/versions/{version}/apercu/2.png", (302, 404, 404, 404)),
    ("/fichiers/versions/{version}/correction.png", (302, 404, 404, 404)),
    ("/fichiers/versions/{version}/original", (302, 403, 403, 200)),
    ("/fichiers/versions/999999/original", (302, 403, 403, 404)),
    ("/fichiers/reduction/cvec/AAAAAAAAAAAAAAAAAAAAAAAA.png", (302, 404, 404, 404)),
    ("/connexion", (200, 302, 302, 302)),
    ("/", (302, 302, 302, 302)),
    ("/health", (200, 200, 200, 200)),
    ("/api/v1/openapi.json", (200, 200, 200, 200)),
]


@pytest.mark.parametrize(("url", "expected"), MATRIX, ids=[m[0] for m in MATRIX])
def test_every_route_for_every_role(world, url, expected):
    url = url.format(**world)
    for role, status in zip(ROLES, expected, strict=True):
        r = world["clients"][role].get(url)
        assert r.status_code == status, (role, url, r.status_code)
        if status == 302 and role == "anon" and url not in ("/",):
            assert r.headers["Location"].startswith("/connexion")


def test_every_get_route_is_in_the_matrix(world):
    app = world["app"]
    """A new page must be added to MATRIX (and so be tested for every role)."""
    adapter = app.url_map.bind("localhost")
    covered = {adapter.match(re.sub(r"\?.*", "", url.format(**world)))[0] for url, _ in MATRIX}
    pages = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods
        and rule.endpoint != "static"
        and not rule.endpoint.startswith("api.")
    }
    assert pages - covered == set()


def test_a_student_never_reaches_another_students_file(world):
    other = world["clients"]["other"]
    vid = world["version"]
    for url in (
        f"/fichiers/versions/{vid}/apercu/1.png",
        f"/fichiers/versions/{vid}/correction.png",
    ):
        r = other.get(url)
        assert r.status_code == 404
        assert b"%PDF" not in r.data and b"PNG" not in r.data[:8]
    own = world["clients"]["student"].get(
        f"/fichiers/versions/{world['other_version']}/apercu/1.png"
    )
    assert own.status_code == 404


def _post_rules(app):
    out = []
    for rule in app.url_map.iter_rules():
        if "POST" in rule.methods and not rule.endpoint.startswith("api."):
            out.append(rule)
    return out


def test_every_form_without_csrf_token_is_refused(world):
    app = world["app"]
    rules = _post_rules(app)
    assert len(rules) >= 8
    for rule in rules:
        url = re.sub(
            r"<(?:int:)?(\w+)>",
            lambda m: str(
                {"kind": "cvec", "piece_id": world["piece"], "student_id": world["student"]}[
                    m.group(1)
                ]
            ),
            rule.rule,
        )
        role = "admin" if rule.endpoint.startswith("admin.") else "student"
        if rule.endpoint == "auth.login":
            role = "anon"
        client = world["clients"][role]
        r = client.post(
            url,
            {"action": "validated", "reasons": "cvec.year", "login": "admin", "password": ADMIN_PW},
            csrf=False,
        )
        assert r.status_code == 400, (rule.rule, r.status_code)
        assert "Le formulaire a expiré" in r.get_data(as_text=True)
    # nothing changed: the admin is not logged in through the token-less form
    assert world["clients"]["anon"].get("/admin/").status_code == 302


def test_a_token_from_another_session_is_refused(world):
    admin, student = world["clients"]["admin"], world["clients"]["student"]
    admin.get("/admin/")
    stolen = admin.token
    r = student.post("/dossier/cvec/explication", {"explanation": "x" * 20, "csrf_token": stolen})
    assert r.status_code == 400


def test_security_headers_on_pages_errors_and_files(world):
    c = world["clients"]["admin"]
    for url in ("/admin/", "/nope", "/connexion"):
        r = c.get(url)
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        csp = r.headers["Content-Security-Policy"]
        assert (
            "default-src 'self'" in csp
            and "frame-ancestors 'none'" in csp
            and "unsafe-inline" not in csp
        )
        assert r.headers["X-Frame-Options"] == "DENY"
    r = c.get(f"/fichiers/versions/{world['version']}/original")
    assert r.status_code == 200 and r.data.startswith(b"%PDF")
    assert r.headers["Content-Type"] == "application/pdf"
    assert r.headers["Content-Disposition"].startswith(
        f'attachment; filename="piece-{world["version"]}.pdf"'
    )
    assert r.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["Cross-Origin-Resource-Policy"] == "same-origin"
    r = world["clients"]["student"].get(f"/fichiers/versions/{world['version']}/apercu/1.png")
    assert r.headers["Content-Type"] == "image/png"
    assert r.headers["Content-Disposition"].startswith("inline")
    assert r.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"


def test_display_name_never_reaches_the_header_raw(world):
    app = world["app"]
    from intake.models import PieceVersion

    with app.extensions["justif"].db.session() as s:
        s.get(PieceVersion, world["version"]).display_name = 'é"; x.html\r\nX-Evil: 1'
    r = world["clients"]["admin"].get(f"/fichiers/versions/{world['version']}/original")
    value = r.headers["Content-Disposition"]
    assert "X-Evil" not in r.headers
    assert 'filename="piece-' in value
    assert "filename*=UTF-8''%C3%A9%22%3B%20x.pdf" in value  # our own extension, never .html


def test_admin_reads_are_audited(world):
    app = world["app"]
    from sqlalchemy import select

    from intake.models import AuditEvent

    c = world["clients"]["admin"]
    c.get(f"/admin/pieces/{world['piece']}")
    c.get(f"/fichiers/versions/{world['version']}/original")
    c.get(f"/fichiers/versions/{world['version']}/apercu/1.png")
    with app.extensions["justif"].db.session() as s:
        actions = set(s.scalars(select(AuditEvent.action)))
    assert {"admin.view_piece", "admin.download", "admin.view_preview"} <= actions


def test_login_variants_wrong_password_and_lockout(app_factory):
    app = app_factory(LOGIN_RATE_LIMIT=3)
    c = Client(app.test_client())
    r = c.post("/connexion", {"login": "p24 1000001", "password": STUDENT_PW})
    assert r.status_code == 302 and r.headers["Location"] == "/dossier/"
    c = Client(app.test_client())
    assert c.post("/connexion", {"login": "P24IOOOOO1", "password": STUDENT_PW}).status_code == 302
    c = Client(app.test_client())
    for _ in range(3):
        r = c.post("/connexion", {"login": "admin", "password": "wrong"})
        assert r.status_code == 401
        assert "Identifiant ou mot de passe incorrect" in r.get_data(as_text=True)
    r = c.post("/connexion", {"login": "admin", "password": ADMIN_PW})
    assert r.status_code == 429
    assert "Trop de tentatives" in r.get_data(as_text=True)
    # unknown logins answer like wrong passwords
    r = c.post("/connexion", {"login": "nobody", "password": "x"})
    assert r.status_code == 401


def test_next_parameter_is_never_an_open_redirect(client):
    for target, expected in (
        ("//evil.example/x", "/dossier/"),
        ("https://evil.example", "/dossier/"),
        ("/dossier/cvec", "/dossier/cvec"),
    ):
        c = Client(client.c.application.test_client())
        r = c.post("/connexion", {"login": "P241000001", "password": STUDENT_PW, "next": target})
        assert r.headers["Location"] == expected


def test_session_cookie_flags(app_factory):
    app = app_factory(SESSION_COOKIE_SECURE=True)
    c = Client(app.test_client())
    r = c.post("/connexion", {"login": "admin", "password": ADMIN_PW})
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_logout_requires_post_and_ends_the_session(student_client):
    assert student_client.get("/deconnexion").status_code == 405
    student_client.get("/dossier/")
    assert student_client.post("/deconnexion").status_code == 302
    assert student_client.get("/dossier/").status_code == 302


def test_upload_rate_limit_is_429_in_french(app_factory):
    app = app_factory(UPLOAD_RATE_LIMIT=2)
    c = Client(app.test_client())
    c.login("P241000001", STUDENT_PW)
    for _ in range(2):
        assert upload(c, "cvec", file=(text_pdf("x"), "a.pdf")).status_code == 303
    r = upload(c, "cvec", file=(text_pdf("y"), "b.pdf"))
    assert r.status_code == 429
    assert "attendez une minute" in r.get_data(as_text=True)


def test_dossier_quota(app_factory):
    app = app_factory(UPLOAD_QUOTA=1)
    c = Client(app.test_client())
    c.login("P241000001", STUDENT_PW)
    assert upload(c, "photo", file=(jpeg_bytes(), "a.jpg")).status_code == 303
    assert upload(c, "photo", file=(jpeg_bytes(), "b.jpg")).status_code == 429


def test_oversized_body_is_413_before_reading(app_factory):
    app = app_factory(MAX_CONTENT_LENGTH=50_000)
    c = Client(app.test_client())
    c.login("P241000001", STUDENT_PW)
    r = upload(c, "cvec", file=(b"%PDF-1.4" + b"0" * 60_000, "big.pdf"))
    assert r.status_code == 413
    assert "5 Mo" in r.get_data(as_text=True)


@pytest.mark.parametrize(
    "path", ["/.git/config", "/instance/justif.cfg", "/web/__init__.py", "/static/../__init__.py"]
)
def test_only_expected_files_are_served(client, path):
    assert client.get(path).status_code == 404
