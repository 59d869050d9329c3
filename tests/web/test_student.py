"""Student pages: statuses, refused uploads shown at once, recto/verso, explanations,
the repaired-photo offer, locked pieces, the refusal reason."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image, ImageStat
from pypdf import PdfReader
from sqlalchemy import func, select

from intake.models import PieceVersion
from tests.web.helpers import (
    STUDENT_PW,
    Client,
    finding,
    jpeg_bytes,
    png_bytes,
    seed_version,
    text_pdf,
    upload,
)


def text_of(r) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r.get_data(as_text=True)))


def versions(app) -> int:
    with app.extensions["justif"].db.session() as s:
        return s.scalar(select(func.count()).select_from(PieceVersion))


def test_dossier_lists_required_pieces_and_the_computed_status(app, student_client):
    page = text_of(student_client.get("/dossier/"))
    assert "Dossier incomplet (6 pièce(s) à déposer, 0 à corriger, 0 refusée(s))" in page
    assert "Autorisation parentale C’est normal" in page  # Non concernée, with the FAQ sentence
    assert "Non concernée" in page
    assert "P241000001" in page  # the identifier to quote when writing in


def test_minor_student_with_a_prrel_request(app):
    c = Client(app.test_client())
    c.login("EC00AB12CD", STUDENT_PW)
    page = text_of(c.get("/dossier/"))
    assert "Autorisation parentale Déposez votre document" in page
    assert "Candidature au programme PRREL Réussite" in page
    assert "ne la bloque pas" in page


def test_refused_file_is_explained_at_once_and_not_stored(app, student_client):
    r = upload(student_client, "photo", file=(png_bytes(), "photo.jpg"))
    assert r.status_code == 422
    page = text_of(r)
    assert "Fichier refusé" in page
    assert "Vos fichiers doivent impérativement être sous format PDF ou JPG" in page
    assert versions(app) == 0


def test_accepted_upload_is_answered_at_once_and_queued(app, student_client):
    runner = app.extensions["justif"].runner
    r = upload(student_client, "cvec", file=(text_pdf("Attestation"), "cvec.pdf"))
    assert r.status_code == 303 and r.headers["Location"] == "/dossier/cvec"
    assert len(runner.submitted) == 1  # queued, not run in the request
    page = student_client.get("/dossier/cvec")
    assert '<meta http-equiv="refresh"' in page.get_data(as_text=True)
    assert "En cours de vérification" in text_of(page)
    assert "Vérification en cours" not in text_of(
        student_client.get("/dossier/")
    )  # still incomplete


def test_upload_with_no_file_or_ambiguous_sides(student_client):
    student_client.get("/dossier/cvec")
    r = student_client.post("/dossier/cvec/depot", {})
    assert r.status_code == 400 and "Choisissez un fichier" in text_of(r)
    r = upload(
        student_client,
        "identity",
        file=(jpeg_bytes(), "a.jpg"),
        recto=(jpeg_bytes(), "b.jpg"),
    )
    assert r.status_code == 400 and "pas les deux" in text_of(r)
    r = upload(student_client, "identity", verso=(jpeg_bytes(), "b.jpg"))
    assert r.status_code == 400 and "recto" in text_of(r)


def test_recto_verso_through_the_form(app, student_client):
    r = upload(
        student_client,
        "identity",
        recto=(jpeg_bytes(1100, 700), "recto.jpg"),
        verso=(jpeg_bytes(1100, 700, (200, 220, 240)), "verso.jpg"),
    )
    assert r.status_code == 303
    with app.extensions["justif"].db.session() as s:
        v = s.scalar(select(PieceVersion))
        assert (v.pages, v.mime, v.display_name) == (2, "application/pdf", "recto + verso")


def test_a_refused_verso_leaves_no_recto_behind(app, student_client):
    r = upload(
        student_client,
        "identity",
        recto=(jpeg_bytes(1100, 700), "recto.jpg"),
        verso=(b"<html>not a scan</html>", "verso.jpg"),
    )
    assert r.status_code == 422
    store = app.extensions["justif"].pipeline.store
    assert list(store.iter_hashes()) == []  # the recto is not kept on its own
    with app.extensions["justif"].db.session() as s:
        assert s.scalar(select(PieceVersion)) is None


def test_to_fix_shows_the_message_and_what_to_do_then_explanation(app, student_client):
    verdict = {
        "outcome": "rejected",
        "findings": [
            finding("cvec.year", message="Cette attestation est celle de 2025-2026."),
            finding("mrz.not_found", "warning", "inconclusive"),
            finding("ine.rnie_key", "warning", "fail", "hypothèse RNIE"),
        ],
        "fields": {},
    }
    seed_version(app, "P241000001", "cvec", verdict)
    page = text_of(student_client.get("/dossier/cvec"))
    assert "À corriger" in page
    assert "Cette attestation est celle de 2025-2026." in page
    assert (
        "Ce qu’il faut faire : Votre attestation CVEC doit être celle de l’année universitaire"
        in page
    )
    assert "1 point(s) n’ont pas pu être vérifiés automatiquement" in page
    assert "hypothèse RNIE" not in page  # a reviewer-only warning
    r = student_client.post("/dossier/cvec/explication", {"explanation": "court"})
    assert r.status_code == 400
    r = student_client.post(
        "/dossier/cvec/explication", {"explanation": "Je suis exonéré, voici mon attestation."}
    )
    assert r.status_code == 303
    page = text_of(student_client.get("/dossier/cvec"))
    assert "En attente de validation" in page
    assert "Je suis exonéré" in page
    # no explanation twice: the piece is no longer "À corriger"
    r = student_client.post("/dossier/cvec/explication", {"explanation": "encore une fois, merci"})
    assert r.status_code == 409


def _offer_fix(app, version_id: int) -> None:
    ext = app.extensions["justif"]
    fixed = ext.pipeline.store.put_bytes(jpeg_bytes(420, 540))
    preview = ext.pipeline.store.put_bytes(png_bytes())
    with ext.db.session() as s:
        v = s.get(PieceVersion, version_id)
        v.fix = {
            "state": "offered",
            "sha256": fixed,
            "mime": "image/jpeg",
            "size": 1000,
            "width": 420,
            "height": 540,
            "actions": ["photo tournée d’un quart de tour"],
            "preview": preview,
        }


@pytest.mark.parametrize("choice", ["accept", "decline"])
def test_photo_fix_offer(app, student_client, choice):
    _, vid = seed_version(
        app,
        "P241000001",
        "photo",
        {"outcome": "rejected", "findings": [finding("photo.orientation")], "fields": {}},
    )
    _offer_fix(app, vid)
    page = student_client.get("/dossier/photo")
    html = page.get_data(as_text=True)
    assert "Nous pouvons corriger votre photo" in html
    assert f"/fichiers/versions/{vid}/correction.png" in html
    assert student_client.get(f"/fichiers/versions/{vid}/correction.png").status_code == 200
    r = student_client.post("/dossier/photo/correction", {"version": vid, "choice": choice})
    assert r.status_code == 303
    with app.extensions["justif"].db.session() as s:
        rows = list(s.scalars(select(PieceVersion).order_by(PieceVersion.id)))
        assert rows[0].fix["state"] == ("accepted" if choice == "accept" else "declined")
        if choice == "accept":
            assert len(rows) == 2 and rows[1].source == "photo_fix" and rows[1].state == "queued"
            assert rows[1].sha256 == rows[0].fix["sha256"]
        else:
            assert len(rows) == 1
    assert "Nous pouvons corriger votre photo" not in student_client.get("/dossier/photo").get_data(
        as_text=True
    )
    # the offer was used: a second answer is refused
    r = student_client.post("/dossier/photo/correction", {"version": vid, "choice": "accept"})
    assert r.status_code == 409


def test_refused_piece_shows_reasons_comment_and_contact(app, student_client, admin_client):
    piece_id, vid = seed_version(app, "P241000001", "cvec")
    admin_client.get(f"/admin/pieces/{piece_id}")
    r = admin_client.post(
        f"/admin/pieces/{piece_id}/decision",
        {
            "action": "refused",
            "reasons": ["cvec.year", "gen.illegible"],
            "comment": "Année 2025-2026.",
            "version": vid,
        },
    )
    assert r.status_code == 303
    page = text_of(student_client.get("/dossier/cvec"))
    assert "Refusée" in page and "Motif du refus" in page
    assert "doit être celle de l’année universitaire en cours" in page
    assert "Document illisible ou flou" in page
    assert "Si le problème persiste, écrivez au service des inscriptions" in page  # appended
    assert "Année 2025-2026." in page
    assert "Dossier incomplet (5 pièce(s) à déposer, 0 à corriger, 1 refusée(s))" in text_of(
        student_client.get("/dossier/")
    )


def test_validated_piece_is_locked(app, student_client, admin_client):
    piece_id, vid = seed_version(app, "P241000001", "cvec")
    admin_client.get(f"/admin/pieces/{piece_id}")
    admin_client.post(f"/admin/pieces/{piece_id}/decision", {"action": "validated", "version": vid})
    page = student_client.get("/dossier/cvec")
    assert "Validée" in text_of(page)
    assert 'action="/dossier/cvec/depot"' not in page.get_data(as_text=True)
    r = upload(student_client, "cvec", file=(text_pdf("again"), "again.pdf"))
    assert r.status_code == 409
    assert "validée" in text_of(r)


def test_not_applicable_piece_takes_no_upload(student_client):
    r = upload(student_client, "parental_consent", file=(text_pdf("x"), "x.pdf"))
    assert r.status_code == 409


@pytest.mark.slow
def test_inline_runner_end_to_end_with_the_real_child(app_factory):
    """Upload → stored → checked in the child → status computed, previews served."""
    app = app_factory(RUNNER="inline")
    c = Client(app.test_client())
    c.login("P241000001", STUDENT_PW)
    assert (
        upload(
            c, "cvec", file=(text_pdf("Attestation d’acquittement de la CVEC"), "cvec.pdf")
        ).status_code
        == 303
    )
    page = c.get("/dossier/cvec")
    assert "En cours de vérification" not in text_of(page)
    with app.extensions["justif"].db.session() as s:
        v = s.scalar(select(PieceVersion))
        assert v.state == "done" and v.runs and v.previews
    png = c.get(f"/fichiers/versions/{v.id}/apercu/1.png")
    assert png.status_code == 200 and png.data.startswith(b"\x89PNG")


def _offer_token(r) -> str:
    assert r.status_code == 303, r.get_data(as_text=True)[:500]
    m = re.search(r"offre=([A-Za-z0-9_-]+)", r.headers["Location"])
    assert m, r.headers["Location"]
    return m.group(1)


def test_a_file_over_5_mb_is_offered_shrunk_and_stored_only_when_taken(app, student_client):
    from tests.badfiles import noisy_jpeg

    big = noisy_jpeg(2800, 1900, quality=95, seed=8)  # a phone photo over 5 Mo
    assert len(big) > 5_000_000
    token = _offer_token(upload(student_client, "cvec", file=(big, "IMG_2034.jpg")))
    assert versions(app) == 0  # nothing stored until the student says so
    page = text_of(student_client.get(f"/dossier/cvec?offre={token}"))
    assert "« IMG_2034.jpg » fait" in page and "au-delà de la limite de 5 Mo" in page
    assert "Déposer la version réduite" in page
    preview = student_client.get(f"/fichiers/reduction/cvec/{token}.png")
    assert preview.status_code == 200 and preview.mimetype == "image/png"
    assert preview.get_data().startswith(b"\x89PNG")

    r = student_client.post("/dossier/cvec/reduction", {"offre": token, "choice": "accept"})
    assert r.status_code == 303
    with app.extensions["justif"].db.session() as s:
        v = s.scalar(select(PieceVersion))
        assert (v.source, v.mime, v.display_name) == ("shrink", "image/jpeg", "IMG_2034.jpg")
        assert v.size <= 5_000_000
    offers_dir = app.extensions["justif"].pipeline.settings.data_dir / "offers"
    assert list(offers_dir.iterdir()) == []
    # taken once: the same offer cannot add a second version
    again = student_client.post("/dossier/cvec/reduction", {"offre": token, "choice": "accept"})
    assert again.status_code == 404 and versions(app) == 1


def test_a_declined_offer_is_deleted_and_another_student_cannot_take_it(
    app, student_client, other_student_client
):
    from tests.badfiles import noisy_jpeg

    big = noisy_jpeg(2800, 1900, quality=95, seed=9)
    token = _offer_token(upload(student_client, "cvec", file=(big, "scan.jpg")))
    other = other_student_client
    other.get("/dossier/")
    assert "Déposer la version réduite" not in text_of(other.get(f"/dossier/cvec?offre={token}"))
    r = other.post("/dossier/cvec/reduction", {"offre": token, "choice": "accept"})
    assert r.status_code == 404 and versions(app) == 0
    assert other.get(f"/fichiers/reduction/cvec/{token}.png").status_code == 404

    r = student_client.post("/dossier/cvec/reduction", {"offre": token, "choice": "decline"})
    assert r.status_code == 303 and versions(app) == 0
    offers_dir = app.extensions["justif"].pipeline.settings.data_dir / "offers"
    assert list(offers_dir.iterdir()) == []


def test_recto_and_verso_over_5_mb_each_are_merged_under_5_mb(app, student_client):
    from tests.badfiles import noisy_jpeg

    recto = noisy_jpeg(2600, 1700, quality=95, seed=10)
    verso = noisy_jpeg(2600, 1700, quality=95, seed=11)
    assert min(len(recto), len(verso)) > 5_000_000
    r = upload(student_client, "identity", recto=(recto, "recto.jpg"), verso=(verso, "verso.jpg"))
    assert r.status_code == 303, r.get_data(as_text=True)[:500]
    with app.extensions["justif"].db.session() as s:
        v = s.scalar(select(PieceVersion))
        assert (v.pages, v.mime, v.source) == (2, "application/pdf", "merge")
        assert v.size <= 5_000_000
    store = app.extensions["justif"].pipeline.store
    assert list(store.iter_hashes()) == [v.sha256]  # the heavy sides are not kept


def test_a_verso_sent_later_is_merged_with_the_recto_already_sent(app, student_client):
    recto = jpeg_bytes(1100, 700)
    r = upload(student_client, "identity", recto=(recto, "recto.jpg"))
    assert r.status_code == 303
    page = text_of(student_client.get("/dossier/identity"))
    assert "Déposez seulement le verso" in page and "« recto.jpg »" in page
    verso = jpeg_bytes(1100, 700, (200, 220, 240))
    r = upload(student_client, "identity", verso=(verso, "v.jpg"))
    assert r.status_code == 303, text_of(r)[:300]
    with app.extensions["justif"].db.session() as s:
        first, second = s.scalars(select(PieceVersion).order_by(PieceVersion.number)).all()
        assert (first.pages, second.pages) == (1, 2)
        assert (second.mime, second.display_name) == ("application/pdf", "recto + verso")
        store = app.extensions["justif"].pipeline.store
        reader = PdfReader(io.BytesIO(store.read(second.sha256)))
        colours = [ImageStat.Stat(p.images[0].image.convert("RGB")).mean for p in reader.pages]
        expected = []
        for side in (recto, verso):
            with Image.open(io.BytesIO(side)) as im:
                expected.append(ImageStat.Stat(im.convert("RGB")).mean)
        # the recto already sent is page 1, the new verso page 2
        for got, want in zip(colours, expected, strict=True):
            assert all(abs(a - b) < 3 for a, b in zip(got, want, strict=True)), (got, want)
        assert abs(expected[0][0] - expected[1][0]) > 20  # the two sides do differ
        assert store.exists(first.sha256)  # the first version keeps its file
    # once two sides are there, a verso alone is a question again
    r = upload(student_client, "identity", verso=(jpeg_bytes(), "v2.jpg"))
    assert r.status_code == 400 and "recto" in text_of(r)
