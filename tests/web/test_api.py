"""JSON API: bearer tokens only, 202 + status URL on upload, dossier and findings, the
review queue, decisions, and an OpenAPI document that lists every route."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from intake.models import ApiToken, User
from tests.web.helpers import finding, png_bytes, seed_version, student_id, text_pdf


def token_for(app, login: str) -> str:
    from web.auth import hash_token, new_token

    token = new_token()
    with app.extensions["justif"].db.session() as s:
        user = s.scalar(select(User).where(User.login == login))
        s.add(ApiToken(user_id=user.id, token_hash=hash_token(token), label="test"))
    return token


@pytest.fixture
def api(app):
    c = app.test_client()
    tokens = {
        "student": token_for(app, "P241000001"),
        "other": token_for(app, "EC00AB12CD"),
        "admin": token_for(app, "admin"),
    }

    def call(method: str, url: str, who: str | None = None, **kw):
        headers = kw.pop("headers", {})
        if who:
            headers["Authorization"] = f"Bearer {tokens[who]}"
        r = c.open(url, method=method, headers=headers, **kw)
        r.get_data()
        r.close()
        return r

    call.tokens = tokens
    return call


def test_no_token_bad_token_revoked_token(app, api, student_client):
    r = api("GET", "/api/v1/dossiers/me")
    assert (
        r.status_code == 401 and r.json["error"] == "unauthorized" and "Bearer" in r.json["message"]
    )
    r = api("GET", "/api/v1/dossiers/me", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    # the session cookie never authenticates the API
    assert student_client.c.get("/api/v1/dossiers/me").status_code == 401
    with app.extensions["justif"].db.session() as s:
        from datetime import UTC, datetime

        for t in s.scalars(select(ApiToken)):
            t.revoked_at = datetime.now(UTC)
    assert api("GET", "/api/v1/dossiers/me", "student").status_code == 401


def test_tokens_are_stored_hashed(app, api):
    with app.extensions["justif"].db.session() as s:
        stored = set(s.scalars(select(ApiToken.token_hash)))
    assert not set(api.tokens.values()) & stored
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in stored)


def test_student_reads_own_dossier_only(app, api):
    seed_version(
        app,
        "P241000001",
        "cvec",
        {"outcome": "rejected", "findings": [finding("cvec.year")], "fields": {"x": 1}},
    )
    r = api("GET", "/api/v1/dossiers/me", "student")
    assert r.status_code == 200
    body = r.json
    assert body["reference"] == "P241000001" and body["status"] == "incomplete"
    cvec = next(p for p in body["pieces"] if p["kind"] == "cvec")
    assert cvec["status"] == "to_fix" and cvec["status_label"] == "À corriger"
    assert cvec["version"]["report"]["findings"][0]["code"] == "cvec.year"
    assert cvec["version"]["report"]["fields"] == {}  # extracted values are for administrators
    other = student_id(app, "EC00AB12CD")
    assert api("GET", f"/api/v1/dossiers/{other}", "student").status_code == 404
    assert api("GET", f"/api/v1/dossiers/{other}", "admin").status_code == 200


def test_upload_answers_202_with_a_status_url(app, api):
    sid = student_id(app, "P241000001")
    data = {"file": (io.BytesIO(text_pdf("CVEC")), "cvec.pdf")}
    r = api(
        "POST",
        f"/api/v1/dossiers/{sid}/pieces/cvec",
        "student",
        data=data,
        content_type="multipart/form-data",
    )
    assert r.status_code == 202
    assert r.headers["Location"] == r.json["status_url"]
    assert app.extensions["justif"].runner.submitted == [r.json["version_id"]]
    status = api("GET", r.json["status_url"], "student")
    assert (
        status.status_code == 200
        and status.json["state"] == "queued"
        and status.json["kind"] == "cvec"
    )
    assert api("GET", r.json["status_url"], "other").status_code == 404
    # another student's dossier: not found
    other = student_id(app, "EC00AB12CD")
    data = {"file": (io.BytesIO(text_pdf("CVEC")), "cvec.pdf")}
    r = api(
        "POST",
        f"/api/v1/dossiers/{other}/pieces/cvec",
        "student",
        data=data,
        content_type="multipart/form-data",
    )
    assert r.status_code == 404


def test_refused_upload_is_422_with_findings(app, api):
    sid = student_id(app, "P241000001")
    data = {"file": (io.BytesIO(png_bytes()), "photo.jpg")}
    r = api(
        "POST",
        f"/api/v1/dossiers/{sid}/pieces/photo",
        "student",
        data=data,
        content_type="multipart/form-data",
    )
    assert r.status_code == 422
    assert r.json["error"] == "file_refused"
    assert r.json["findings"][0]["code"] == "file.unsupported_type"
    r = api(
        "POST",
        f"/api/v1/dossiers/{sid}/pieces/parental_consent",
        "student",
        data={"file": (io.BytesIO(text_pdf("x")), "x.pdf")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 409 and r.json["error"] == "piece.not_applicable"


def test_review_queue_and_decisions_are_for_administrators(app, api):
    piece_id, vid = seed_version(app, "P241000001", "cvec")
    assert api("GET", "/api/v1/review-queue", "student").status_code == 403
    r = api("GET", "/api/v1/review-queue?kind=cvec", "admin")
    assert r.status_code == 200
    assert [(i["reference"], i["kind"], i["status"]) for i in r.json["items"]] == [
        ("P241000001", "cvec", "pending_review")
    ]
    assert api("GET", "/api/v1/review-queue?since=yesterday", "admin").status_code == 400
    url = f"/api/v1/pieces/{piece_id}/decisions"
    assert api("POST", url, "student", json={"action": "validated"}).status_code == 403
    assert api("POST", url, "admin", data="nope").status_code == 400
    assert api("POST", url, "admin", json={"action": "refused"}).status_code == 400
    assert (
        api("POST", url, "admin", json={"action": "refused", "reasons": "cvec.year"}).status_code
        == 400
    )
    r = api(
        "POST",
        url,
        "admin",
        json={"action": "refused", "reasons": ["cvec.year"], "comment": "2025", "version_id": vid},
    )
    assert r.status_code == 201 and r.json["action"] == "refused" and r.json["check_run_id"]
    r = api("GET", "/api/v1/dossiers/me", "student")
    cvec = next(p for p in r.json["pieces"] if p["kind"] == "cvec")
    assert (
        cvec["status"] == "refused"
        and cvec["decision"]["reasons"] == ["cvec.year"]
        and cvec["ecandidat"] == "RE"
    )
    assert (
        api(
            "POST", "/api/v1/pieces/99999/decisions", "admin", json={"action": "validated"}
        ).status_code
        == 404
    )


def test_openapi_document_lists_every_route(app, api):
    r = api("GET", "/api/v1/openapi.json")
    assert r.status_code == 200
    doc = r.json
    assert doc["openapi"].startswith("3.")
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    served = set()
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api.") or rule.endpoint == "api.openapi":
            continue
        path = re.sub(r"<(?:int:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            served.add((path, method))
    assert served == documented
    # every $ref points to a schema that exists
    text = r.get_data(as_text=True)
    for ref in set(re.findall(r'"\$ref": ?"#/components/schemas/(\w+)"', text)):
        assert ref in doc["components"]["schemas"]
