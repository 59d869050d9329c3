"""Administrator pages: queue filters and order, decisions, bulk validation,
"Non concernée", CSV export, audit trail."""

from __future__ import annotations

import csv
import io
import re

from sqlalchemy import select

from intake.models import Decision, Student
from tests.web.helpers import finding, seed_version, student_id


def text_of(r) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r.get_data(as_text=True)))


def queue_rows(admin_client, query: str = "") -> list[str]:
    html = admin_client.get(f"/admin/{query}").get_data(as_text=True)
    return re.findall(r'href="/admin/pieces/(\d+)"', html)


def test_queue_oldest_first_with_filters(app, admin_client):
    a = seed_version(
        app,
        "P241000001",
        "cvec",
        {"outcome": "review", "findings": [finding("ine.rnie_key", "warning")], "fields": {}},
    )
    b = seed_version(
        app,
        "EC00AB12CD",
        "photo",
        {"outcome": "rejected", "findings": [finding("photo.orientation")], "fields": {}},
    )
    c = seed_version(app, "22001234", "diploma")
    assert queue_rows(admin_client) == [str(a[0]), str(c[0])]  # pending review, oldest first
    assert queue_rows(admin_client, "?kind=diploma") == [str(c[0])]
    assert queue_rows(admin_client, "?code=ine.rnie_key") == [str(a[0])]
    assert queue_rows(admin_client, "?status=to_fix") == [str(b[0])]
    assert queue_rows(admin_client, "?status=all") == [str(a[0]), str(b[0]), str(c[0])]
    assert queue_rows(admin_client, "?since=2099-01-01") == []
    assert queue_rows(admin_client, "?status=bogus") == [str(a[0]), str(c[0])]


def test_refuse_then_new_upload_is_back_for_review(app, admin_client):
    piece_id, vid = seed_version(app, "P241000001", "cvec")
    admin_client.get(f"/admin/pieces/{piece_id}")
    r = admin_client.post(
        f"/admin/pieces/{piece_id}/decision", {"action": "refused", "version": vid}
    )
    assert r.status_code == 400 and "au moins un motif" in text_of(r)
    r = admin_client.post(
        f"/admin/pieces/{piece_id}/decision",
        {"action": "refused", "reasons": ["photo.faces"], "version": vid},
    )
    assert r.status_code == 400  # a photo reason for a CVEC piece
    r = admin_client.post(
        f"/admin/pieces/{piece_id}/decision",
        {"action": "refused", "reasons": ["cvec.number"], "version": vid},
    )
    assert r.status_code == 303
    assert "Refusée" in text_of(admin_client.get(f"/admin/pieces/{piece_id}"))
    seed_version(app, "P241000001", "cvec")  # the student sends a new file
    assert queue_rows(admin_client, "?again=1") == [str(piece_id)]
    assert "À traiter de nouveau" in text_of(admin_client.get("/admin/"))
    # deciding on the old version is refused: the page was stale
    r = admin_client.post(
        f"/admin/pieces/{piece_id}/decision", {"action": "validated", "version": vid}
    )
    assert r.status_code == 409 and "nouvelle version" in text_of(r)


def test_decisions_are_rows_never_edits_and_reopen(app, admin_client):
    piece_id, vid = seed_version(app, "P241000001", "cvec")
    admin_client.get(f"/admin/pieces/{piece_id}")
    for action in ("validated", "reopened", "refused"):
        data = {"action": action, "version": vid}
        if action == "refused":
            data["reasons"] = ["gen.illegible"]
        assert admin_client.post(f"/admin/pieces/{piece_id}/decision", data).status_code == 303
    with app.extensions["justif"].db.session() as s:
        rows = list(s.scalars(select(Decision).order_by(Decision.id)))
    assert [d.action for d in rows] == ["validated", "reopened", "refused"]
    assert all(d.check_run_id is not None and d.version_id == vid for d in rows)
    r = admin_client.post(f"/admin/pieces/{piece_id}/decision", {"action": "erase", "version": vid})
    assert r.status_code == 400


def test_bulk_validation_skips_what_is_not_pending(app, admin_client):
    a = seed_version(app, "P241000001", "cvec")
    b = seed_version(app, "EC00AB12CD", "cvec")
    c = seed_version(
        app,
        "22001234",
        "cvec",
        {"outcome": "rejected", "findings": [finding("cvec.year")], "fields": {}},
    )
    admin_client.get("/admin/")
    r = admin_client.post(
        "/admin/validation-groupee",
        {"item": [f"{a[0]}:{a[1]}", f"{b[0]}:{b[1] + 100}", f"{c[0]}:{c[1]}", "x:y"]},
    )
    assert r.status_code == 303
    page = text_of(admin_client.get("/admin/"))
    assert "1 pièce(s) validée(s), 3 ignorée(s)." in page
    assert queue_rows(admin_client, "?status=validated") == [str(a[0])]


def test_not_applicable_and_back(app, admin_client, student_client):
    sid = student_id(app, "P241000001")
    admin_client.get(f"/admin/etudiants/{sid}")
    r = admin_client.post(
        f"/admin/etudiants/{sid}/pieces/jdc/applicabilite", {"action": "not_applicable"}
    )
    assert r.status_code == 303
    assert "Attestation JDC C’est normal" in text_of(student_client.get("/dossier/"))
    admin_client.post(f"/admin/etudiants/{sid}/pieces/jdc/applicabilite", {"action": "applicable"})
    assert "Attestation JDC Déposez votre document" in text_of(student_client.get("/dossier/"))
    r = admin_client.post(
        f"/admin/etudiants/{sid}/pieces/nope/applicabilite", {"action": "applicable"}
    )
    assert r.status_code == 404
    r = admin_client.post(
        f"/admin/etudiants/{sid}/pieces/jdc/applicabilite", {"action": "validated"}
    )
    assert r.status_code == 400


def test_piece_page_shows_findings_values_and_previews(app, admin_client):
    verdict = {
        "outcome": "review",
        "findings": [
            {
                "code": "ine.rnie_key",
                "level": "warning",
                "result": "fail",
                "message": "Clé RNIE",
                "detail": {"read": "123456789AB", "expected": "HE"},
            }
        ],
        "fields": {"ine": "123456789AB"},
    }
    piece_id, vid = seed_version(app, "P241000001", "cvec", verdict)
    page = admin_client.get(f"/admin/pieces/{piece_id}").get_data(as_text=True)
    assert "ine.rnie_key" in page and "read = 123456789AB ; expected = HE" in page
    assert f"/fichiers/versions/{vid}/apercu/1.png" in page
    assert f"/fichiers/versions/{vid}/original" in page
    assert "<iframe" not in page and "<embed" not in page and "<object" not in page
    assert (
        'value="cvec.year"' in page
        and 'value="gen.illegible"' in page
        and 'value="photo.faces"' not in page
    )


def test_export_csv_with_ecandidat_codes_and_no_formula(app, admin_client):
    with app.extensions["justif"].db.session() as s:
        s.scalar(
            select(Student).where(Student.application_id == "P241000001")
        ).last_name = "=HYPERLINK(1)"
    seed_version(app, "P241000001", "cvec")
    r = admin_client.get("/admin/export.csv")
    assert r.headers["Content-Disposition"].startswith("attachment")
    rows = list(
        csv.DictReader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff")), delimiter=";")
    )
    cvec = next(row for row in rows if row["dossier"] == "P241000001" and row["piece"] == "cvec")
    assert (cvec["statut"], cvec["code_ecandidat"], cvec["version"]) == (
        "pending_review",
        "TR",
        "1",
    )
    assert cvec["nom"] == "'=HYPERLINK(1)"
    na = next(
        row for row in rows if row["dossier"] == "P241000001" and row["piece"] == "parental_consent"
    )
    assert na["code_ecandidat"] == "NC"


def test_journal_lists_the_audit_trail(app, admin_client):
    piece_id, _ = seed_version(app, "P241000001", "cvec")
    admin_client.get(f"/admin/pieces/{piece_id}")
    page = text_of(admin_client.get("/admin/journal?action=admin.view"))
    assert "admin.view_piece" in page
    assert " login " not in page  # filtered on the action prefix


def test_bulk_validation_never_redirects_off_site(app, admin_client):
    admin_client.get("/admin/")
    r = admin_client.post("/admin/validation-groupee", {"back": "https://evil.example/"})
    assert r.headers["Location"] == "/admin/"
    r = admin_client.post("/admin/validation-groupee", {"back": "/admin/?kind=cvec"})
    assert r.headers["Location"] == "/admin/?kind=cvec"
