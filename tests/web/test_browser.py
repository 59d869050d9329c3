"""End to end in Debian's Chromium (Playwright, headless), against a real server thread
with the real in-process runner, sandbox and checkers, on SQLite in tmp.

A student uploads a good born-digital CVEC attestation and an ID photo turned sideways,
sees the statuses and the proposed fix, accepts the fix; an administrator refuses
another piece with a reason; the student sees the reason. A student whose phone photo
weighs more than 5 Mo is offered a reduced copy, sees it, and sends it. Screenshots go to
``test-artifacts/web-e2e/`` (gitignored).
"""

from __future__ import annotations

import datetime as dt
import random
import shutil
import threading
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.web.helpers import ADMIN_PW, STUDENT_PW, make_app

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.opencv]

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts" / "web-e2e"
WAIT_MS = 90_000


def cvec_attestation() -> bytes:
    """A born-digital attestation (real text layer) for the demo student Camille Martin,
    built by the project's sample generator."""
    from samples.documents import Person, build_pdf, cvec_layout

    person = Person("Martin", "Camille", dt.date(2007, 3, 14), "Mme")
    layout = cvec_layout(
        random.Random(11),
        person,
        ine="0100008010J",
        number_printed="AMI6 ABCDEF 12 / MARTI",
        year="2026-2027",
        basis="paid",
        variant=0,
    )
    return build_pdf(layout)


def sideways_portrait(tmp: Path) -> Path:
    """skimage's astronaut as an ID photo on white, turned a quarter turn."""
    from samples.photos import generate

    entry = generate(tmp, only=["turned_90"], sources=["astronaut"])[0]
    return tmp / entry["file"]


@pytest.fixture
def server(tmp_path, monkeypatch):
    from werkzeug.serving import make_server

    from web.commands.service import create_demo

    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed")
    monkeypatch.setenv("JUSTIF_INSTANCE_PATH", str(tmp_path / "instance"))
    app = make_app(tmp_path, RUNNER="inprocess", TESTING=False)
    create_demo(app, student_password=STUDENT_PW, admin_password=ADMIN_PW)
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_port}", app
    http.shutdown()
    thread.join(timeout=10)
    app.extensions["justif"].close()


@pytest.fixture(scope="module", autouse=True)
def artifacts():
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def log_in(browser, base: str, login: str, password: str, *, phone: bool = False):
    viewport = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 900}
    context = browser.new_context(viewport=viewport, locale="fr-FR")
    page = context.new_page()
    page.goto(f"{base}/connexion")
    page.get_by_label("Identifiant").fill(login)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()
    return context, page


def wait_checked(page) -> str:
    """The piece page refreshes itself while the check runs; wait for the result."""
    from playwright.sync_api import expect

    status = page.locator("#piece-status")
    expect(status).not_to_contain_text("En cours de vérification", timeout=WAIT_MS)
    return status.inner_text()


def test_student_and_administrator_in_a_real_browser(server, browser, tmp_path):
    from playwright.sync_api import expect

    base, _app = server
    errors: list[str] = []

    # -- the student, on a phone-sized screen -------------------------------------------
    student_ctx, page = log_in(browser, base, "P241000001", STUDENT_PW, phone=True)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    expect(page.locator("h1")).to_have_text("Mes pièces justificatives")
    expect(page.locator("#dossier-status")).to_have_text("Dossier incomplet")
    expect(page.locator("#piece-parental_consent")).to_contain_text("Non concernée")
    shot(page, "01-student-dossier")

    # a good CVEC attestation
    cvec = tmp_path / "attestation-cvec.pdf"
    cvec.write_bytes(cvec_attestation())
    page.locator("#piece-cvec a").click()
    page.locator("input#file").set_input_files(str(cvec))
    page.get_by_role("button", name="Déposer").click()
    expect(page.locator(".flash")).to_contain_text("Fichier reçu")
    assert wait_checked(page) == "En attente de validation"
    expect(page.locator("#findings")).to_contain_text("Aucun problème détecté")
    shot(page, "02-cvec-checked")

    # a photo turned sideways: "À corriger", the reason, and the repaired copy
    photo = sideways_portrait(tmp_path / "photos")
    page.goto(f"{base}/dossier/photo")
    page.locator("input#file").set_input_files(str(photo))
    page.get_by_role("button", name="Déposer").click()
    assert wait_checked(page) == "À corriger"
    expect(page.locator("#findings")).to_contain_text("dans le bon sens")
    offer = page.locator("#photo-fix")
    expect(offer).to_contain_text("Nous pouvons corriger votre photo")
    expect(offer).to_contain_text("quart de tour")
    for img in offer.locator("img").all():  # before/after previews really load
        assert img.evaluate("i => i.complete && i.naturalWidth > 0")
    shot(page, "03-photo-fix-offered")
    page.get_by_role("button", name="Utiliser la photo corrigée").click()
    expect(page.locator(".flash")).to_contain_text("photo corrigée est déposée")
    assert wait_checked(page) == "En attente de validation"
    expect(page.locator("#photo-fix")).to_have_count(0)
    shot(page, "04-photo-fixed")

    # -- the administrator refuses the CVEC attestation with a reason --------------------
    admin_ctx, admin = log_in(browser, base, "admin", ADMIN_PW)
    expect(admin.locator("h1")).to_have_text("File de revue")
    admin.get_by_label("Pièce").select_option("cvec")
    admin.get_by_role("button", name="Filtrer").click()
    admin.get_by_role("link", name="Attestation CVEC").first.click()
    expect(admin.locator("#piece-status")).to_contain_text("En attente de validation")
    preview = admin.locator(".previews img").first
    expect(preview).to_be_visible()
    assert preview.evaluate("i => i.complete && i.naturalWidth > 0")
    assert admin.locator("iframe, embed, object").count() == 0
    admin.get_by_label("gen.illegible", exact=False).check()
    admin.get_by_label("Commentaire pour l’étudiant").fill(
        "Le QR code est coupé : scannez la page entière."
    )
    shot(admin, "05-admin-before-refusal")
    admin.get_by_role("button", name="Refuser").click()
    expect(admin.locator(".flash")).to_contain_text("Pièce refusée")
    expect(admin.locator("#piece-status")).to_contain_text("Refusée")
    shot(admin, "06-admin-refused")

    # -- the student sees the refusal and its reason --------------------------------------
    page.goto(f"{base}/dossier/")
    expect(page.locator("#dossier-status")).to_have_text("Dossier incomplet")
    expect(page.locator("#piece-cvec")).to_contain_text("Refusée")
    page.locator("#piece-cvec a").click()
    refusal = page.locator("#refusal")
    expect(refusal).to_contain_text("Document illisible ou flou")
    expect(refusal).to_contain_text("Le QR code est coupé")
    expect(refusal).to_contain_text("Si le problème persiste")
    shot(page, "07-student-sees-refusal")

    admin_ctx.close()
    student_ctx.close()
    assert errors == []


def test_a_phone_photo_over_5_mb_is_offered_reduced_in_a_real_browser(server, browser, tmp_path):
    from playwright.sync_api import expect

    from tests.badfiles import noisy_jpeg

    base, app = server
    heavy = tmp_path / "IMG_20260901_101500.jpg"
    heavy.write_bytes(noisy_jpeg(2800, 1900, quality=95, seed=12))
    assert heavy.stat().st_size > 5_000_000
    ctx, page = log_in(browser, base, "P241000001", STUDENT_PW, phone=True)
    page.goto(f"{base}/dossier/cvec")
    page.locator("input#file").set_input_files(str(heavy))
    page.get_by_role("button", name="Déposer").click()
    offer = page.locator("#reduction")
    expect(offer).to_contain_text("au-delà de la limite de 5 Mo")
    preview = offer.locator("img")
    expect(preview).to_be_visible()
    assert preview.evaluate("i => i.complete && i.naturalWidth > 0")
    expect(page.locator("#piece-status")).to_contain_text("À déposer")  # nothing stored yet
    shot(page, "08-offer-reduced-copy")
    page.get_by_role("button", name="Déposer la version réduite").click()
    expect(page.locator(".flash")).to_contain_text("La version réduite est déposée")
    expect(page.locator("#reduction")).to_have_count(0)
    wait_checked(page)
    with app.extensions["justif"].db.session() as s:
        from sqlalchemy import select

        from intake.models import PieceVersion

        (version,) = s.scalars(select(PieceVersion)).all()
        assert version.source == "shrink" and version.size <= 5_000_000
    shot(page, "09-reduced-copy-sent")
    ctx.close()
