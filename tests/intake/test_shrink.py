"""Files over 5 Mo made to fit and offered (domain.md §2.2): JPEGs re-encoded, scanned
PDFs recompressed, nothing offered that would not fit or must keep its text layer; the
offer belongs to one student and one piece, expires, and leaves nothing behind."""

from __future__ import annotations

import io
import os
import time

import img2pdf
from PIL import Image

from intake import offers
from tests import badfiles
from tests.web.helpers import text_pdf


def _offer(data: bytes, settings, store, sandbox, *, student: int = 7, kind: str = "cvec"):
    return offers.make_offer(
        io.BytesIO(data),
        "scan.jpg",
        kind,
        student,
        settings=settings,
        store=store,
        sandbox=sandbox,
    )


def test_a_phone_photo_over_5_mb_is_offered_as_a_jpeg_under_5_mb(settings, store, sandbox):
    big = badfiles.noisy_jpeg(2800, 1900, quality=95, seed=3)
    assert len(big) > settings.max_bytes
    offer = _offer(big, settings, store, sandbox)
    assert offer is not None
    data = offers.offer_path(settings, offer).read_bytes()
    assert offer.original_size == len(big) and offer.size == len(data) <= settings.max_bytes
    assert offer.mime == "image/jpeg" and offer.steps
    preview = offers.preview_path(settings, offer)
    assert offer.preview and preview is not None
    with Image.open(preview) as im:
        assert im.format == "PNG" and max(im.size) <= 1600
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == "JPEG" and max(im.size) >= 1011  # still readable at card size
    assert offer.original_mb.startswith(f"{len(big) / 1e6:.1f}".replace(".", ","))
    assert list(store.iter_hashes()) == []  # nothing is stored before the student says so
    assert not any(store.tmp.iterdir())  # no scratch left


def test_an_image_only_pdf_is_offered_with_its_scans_recompressed(settings, store, sandbox):
    settings = settings.replace(max_bytes=900_000)
    scan = badfiles.noisy_jpeg(1200, 900, quality=95, seed=4)
    pdf = img2pdf.convert([scan])
    assert len(pdf) > settings.max_bytes
    offer = _offer(pdf, settings, store, sandbox)
    assert offer is not None and offer.mime == "application/pdf"
    data = offers.offer_path(settings, offer).read_bytes()
    assert data.startswith(b"%PDF-") and len(data) <= settings.max_bytes


def test_nothing_is_offered_that_must_not_or_cannot_be_shrunk(settings, store, sandbox):
    small = settings.replace(max_bytes=2_000)
    heavy = [
        # a born-digital PDF keeps its exact text layer: never rebuilt
        text_pdf("Attestation CVEC", *(f"ligne {i} " + "x" * 80 for i in range(40))),
        # a PNG is not a JPEG made heavy: the type refusal stands
        badfiles.png() + b"\0" * 3000,
        # garbage with a JPEG signature: the child refuses it, no crash
        b"\xff\xd8\xff" + os.urandom(5000),
    ]
    for data in heavy:
        assert len(data) > small.max_bytes
        assert _offer(data, small, store, sandbox) is None
    # over the raw cap: not even read past it
    capped = settings.replace(max_bytes=2_000, max_raw_bytes=4_000)
    assert _offer(badfiles.noisy_jpeg(200, 200), capped, store, sandbox) is None
    # under the limit: nothing to offer
    assert _offer(badfiles.jpeg(), settings, store, sandbox) is None
    assert list(offers.offers_dir(settings).iterdir()) == []


def test_an_offer_is_one_students_for_one_piece_and_expires(settings, store, sandbox):
    settings = settings.replace(max_bytes=900_000)
    offer = _offer(badfiles.noisy_jpeg(1200, 900, seed=5), settings, store, sandbox)
    assert offer is not None
    load = offers.load_offer
    assert load(settings, offer.token, student_id=7, kind="cvec") == offer
    assert load(settings, offer.token, student_id=8, kind="cvec") is None
    assert load(settings, offer.token, student_id=7, kind="bac") is None
    assert load(settings, "../" + offer.token[3:], student_id=7, kind="cvec") is None
    late = offer.created + offers.OFFER_TTL_S + 1
    assert load(settings, offer.token, student_id=7, kind="cvec", now=late) is None

    folder = offers.offers_dir(settings)
    assert offers.sweep_offers(settings, now=time.time()) == 0  # fresh: kept
    old = time.time() - offers.OFFER_TTL_S - 60
    for path in folder.iterdir():
        os.utime(path, (old, old))
    assert offers.sweep_offers(settings, now=time.time()) == 3  # copy, record, preview
    assert list(folder.iterdir()) == []


def test_an_offer_is_taken_once_and_dropped_whole(settings, store, sandbox):
    settings = settings.replace(max_bytes=900_000)
    offer = _offer(badfiles.noisy_jpeg(1200, 900, seed=6), settings, store, sandbox)
    assert offer is not None
    claimed = offers.claim_offer(settings, offer)
    assert claimed is not None and claimed.read_bytes().startswith(b"\xff\xd8\xff")
    assert offers.claim_offer(settings, offer) is None  # a second click takes nothing
    assert offers.load_offer(settings, offer.token, student_id=7, kind="cvec") is None
    offers.drop_offer(settings, offer.token)
    assert list(offers.offers_dir(settings).iterdir()) == []
    offers.drop_offer(settings, "not a token/..")  # ignored, never a path


def test_a_48_mp_photo_is_shrunk_within_the_upload_childs_memory(settings, store, sandbox):
    # a 48 MP phone photo decodes to 144 MB of RGB: the child (512 MB) is killed if it
    # decodes it whole twice; the JPEG decoder's own 1/2 scale keeps it well inside
    big = badfiles.photo_48mp(noise=12, quality=90, seed=2)
    assert settings.max_bytes < len(big) <= settings.max_raw_bytes
    offer = _offer(big, settings, store, sandbox)
    assert offer is not None, "the child ran out of memory or time"
    with Image.open(offers.offer_path(settings, offer)) as im:
        assert im.size == (4000, 3000)
    assert any("50 %" in step for step in offer.steps)
