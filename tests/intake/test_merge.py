"""Recto/verso merge: JPEG bytes embedded unchanged, any mix of JPG and PDF, shrink to fit."""

from __future__ import annotations

import io
import time

from pypdf import PdfReader

from intake import merge
from tests import badfiles


def _pdf_images(data: bytes) -> list[bytes]:
    reader = PdfReader(io.BytesIO(data))
    out = []
    for page in reader.pages:
        xobjects = page["/Resources"].get("/XObject", {})
        for ref in xobjects.values():
            out.append(ref.get_object()._data)
    return out


def test_two_jpegs_are_embedded_unchanged(tmp_path, settings, sandbox):
    recto, verso = tmp_path / "recto.jpg", tmp_path / "verso.jpg"
    recto.write_bytes(badfiles.jpeg(1600, 1010, text="RECTO"))
    verso.write_bytes(badfiles.jpeg(1600, 1010, text="VERSO", color="lightgray"))
    out = tmp_path / "cni.pdf"
    result = merge([recto, verso], out, settings=settings, sandbox=sandbox)
    assert result.ok and result.pages == 2 and result.fits and not result.steps
    images = _pdf_images(out.read_bytes())
    # recto first, bytes identical (no re-encoding)
    assert images == [recto.read_bytes(), verso.read_bytes()]


def test_pdf_and_jpeg_mix(tmp_path, settings, sandbox):
    recto, verso = tmp_path / "recto.pdf", tmp_path / "verso.jpg"
    recto.write_bytes(badfiles.pdf(1, text="Recto"))
    verso.write_bytes(badfiles.jpeg())
    out = tmp_path / "cni.pdf"
    result = merge([recto, verso], out, settings=settings, sandbox=sandbox)
    assert result.ok and result.pages == 2
    reader = PdfReader(out)
    assert "Recto" in reader.pages[0].extract_text()
    assert _pdf_images(out.read_bytes())[-1] == verso.read_bytes()


def test_two_large_jpegs_are_shrunk_under_the_limit(tmp_path, settings, sandbox):
    recto, verso = tmp_path / "recto.jpg", tmp_path / "verso.jpg"
    # two phone photos of 2.5 MB each (noise compresses badly)
    recto.write_bytes(badfiles.noisy_jpeg(1800, 1200, quality=95, seed=1))
    verso.write_bytes(badfiles.noisy_jpeg(1800, 1200, quality=95, seed=2))
    assert recto.stat().st_size > 2_500_000 and verso.stat().st_size > 2_500_000
    assert recto.stat().st_size + verso.stat().st_size > settings.max_bytes
    out = tmp_path / "cni.pdf"
    result = merge([recto, verso], out, settings=settings, sandbox=sandbox)
    assert result.ok and result.fits and result.pages == 2
    assert out.stat().st_size <= settings.max_bytes
    assert result.steps and "qualité" in result.steps[-1]


def test_pdfs_with_text_over_the_limit_are_reported_not_rebuilt(tmp_path, settings, sandbox):
    # nothing to re-compress: the merge says it does not fit (it used to loop until killed)
    from tests.web.helpers import text_pdf

    paths = []
    for side in ("recto", "verso"):
        path = tmp_path / f"{side}.pdf"
        path.write_bytes(text_pdf(side, *(f"ligne {i} " + "x" * 80 for i in range(40))))
        paths.append(path)
    small = settings.replace(max_bytes=3_000)
    assert sum(p.stat().st_size for p in paths) > small.max_bytes
    started = time.perf_counter()
    result = merge(paths, tmp_path / "out.pdf", settings=small, sandbox=sandbox)
    assert result.ok and not result.fits and result.size > small.max_bytes
    assert time.perf_counter() - started < 10
