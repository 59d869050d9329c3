"""Recto + verso (or several pages) into one PDF, no larger than the limit.

JPEGs are embedded as they are (img2pdf: no re-encoding, EXIF orientation becomes the
page's /Rotate); PDFs are joined page by page with pypdf. When the result is over the
limit, images are re-compressed step by step (quality first, then size, never below
about 300 dpi at ID-card size, i.e. 1011 px on the long side) and each step is
reported. Runs inside the limited child (``merge`` op) because it parses the inputs.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# An ID-1 card side at 300 dpi is about 1011 x 638 px (domain.md §2.3).
MIN_LONG_SIDE = 1011
_QUALITIES = (85, 75, 65, 55, 45)
# images are re-compressed at no more than this many pixels (12 MP phone photos keep their
# size; 48 MP ones are decoded at half size): what the child's memory allows
MAX_WORK_PIXELS = 16_000_000


@dataclass
class _Part:
    kind: str  # "jpeg" | "pdf"
    data: bytes
    name: str


@dataclass
class MergeReport:
    pages: int = 0
    size: int = 0
    fits: bool = True
    steps: list[str] = field(default_factory=list)


def _octets(size: int) -> str:
    return f"{size:,} octets".replace(",", "\u202f")  # French thousands: narrow space


def _load(paths: list[str]) -> list[_Part]:
    parts = []
    for p in paths:
        data = Path(p).read_bytes()
        if data[:3] == b"\xff\xd8\xff":
            parts.append(_Part("jpeg", data, Path(p).name))
        elif data[:5] == b"%PDF-":
            parts.append(_Part("pdf", data, Path(p).name))
        else:
            raise ValueError(f"{Path(p).name}: ni PDF ni JPG")
    return parts


def _build(parts: list[_Part]) -> bytes:
    import img2pdf
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for part in parts:
        if part.kind == "jpeg":
            pdf = img2pdf.convert([part.data], rotation=img2pdf.Rotation.ifvalid)
            writer.append(PdfReader(io.BytesIO(pdf)))
        else:
            writer.append(PdfReader(io.BytesIO(part.data)))
    writer.add_metadata({"/Producer": "justif"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _recompress(data: bytes, quality: int, scale: float) -> bytes:
    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(data), formats=["JPEG"]) as im:
        width, height = im.size
        target = (max(1, round(width * scale)), max(1, round(height * scale)))
        if scale < 1.0:
            # decode at 1/2, 1/4… in the JPEG decoder itself: a 48 MP photo never has to
            # fit in the child's memory at full size
            im.draft("RGB", target)
        image = ImageOps.exif_transpose(im).convert("RGB")
    if (image.width > image.height) != (width > height):
        target = (target[1], target[0])  # the EXIF orientation turned it
    if image.size != target:
        image = image.resize(target)
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality, optimize=True)
    return buf.getvalue()


def _scan_to_jpeg(data: bytes) -> list[bytes] | None:
    """The pages of an image-only PDF as JPEGs (None if a page has a text layer)."""
    from ocr import render

    doc = render.open_pdf(data)
    try:
        pages = []
        for page in doc:
            if render.page_text(page).strip():
                return None
            image = render.scan_image(page) or render.render_page(page, 200)
            buf = io.BytesIO()
            image.convert("RGB").save(buf, "JPEG", quality=90)
            pages.append(buf.getvalue())
        return pages
    finally:
        doc.close()


def merge(parts: list[_Part], max_bytes: int) -> tuple[bytes, MergeReport]:
    report = MergeReport()
    pdf = _build(parts)
    if len(pdf) <= max_bytes:
        report.size = len(pdf)
        return pdf, report
    report.steps.append(f"fusion : {_octets(len(pdf))}, au-delà de {_octets(max_bytes)}")

    # image-only PDFs become their images so they can be re-compressed too
    work: list[_Part] = []
    for part in parts:
        if part.kind == "pdf":
            images = _scan_to_jpeg(part.data)
            if images is None:
                work.append(part)
                continue
            report.steps.append(f"{part.name} : pages scannées extraites pour compression")
            work.extend(_Part("jpeg", img, part.name) for img in images)
        else:
            work.append(part)

    pdf = _squeeze(work, _build, max_bytes, report)
    return (pdf if pdf is not None else _build(work)), report


def _squeeze(
    work: list[_Part], build: Callable[[list[_Part]], bytes], max_bytes: int, report: MergeReport
) -> bytes | None:
    """Re-compress the JPEG parts step by step (quality first, then size, never below
    MIN_LONG_SIDE) until ``build(work)`` fits; None when it never does. Each step is
    reported; ``report.size`` and ``report.fits`` say where it ended."""
    if not any(p.kind == "jpeg" for p in work):
        # nothing to re-compress (PDFs with a text layer are kept as they are)
        report.size = len(build(work))
        report.fits = False
        return None
    originals = [p.data for p in work]
    scale = _start_scale(originals)
    while True:
        for quality in _QUALITIES:
            for part, original in zip(work, originals, strict=True):
                if part.kind == "jpeg":
                    part.data = _recompress(original, quality, scale)
            data = build(work)
            label = f"images recompressées en qualité {quality}"
            if scale < 1.0:
                label += f", réduites à {round(scale * 100)} %"
            report.steps.append(f"{label} : {_octets(len(data))}")
            report.size = len(data)
            if len(data) <= max_bytes:
                return data
        next_scale = scale * 0.8
        if not _long_side_ok(originals, work, next_scale):
            break
        scale = next_scale
    report.fits = False
    return None


def _start_scale(originals: list[bytes]) -> float:
    """The scale at which every JPEG has been decoded to its ``work_size``."""
    from PIL import Image

    scale = 1.0
    for original in originals:
        if original[:3] != b"\xff\xd8\xff":
            continue
        with Image.open(io.BytesIO(original), formats=["JPEG"]) as im:
            width, height = im.size
        scale = min(scale, work_size(width, height)[0] / width)
    return scale


def work_size(width: int, height: int) -> tuple[int, int]:
    """The size an image is decoded at: halved (by the JPEG decoder, for free) until it
    has at most MAX_WORK_PIXELS, never below MIN_LONG_SIDE on its long side."""
    scale = 1
    while (width // scale) * (height // scale) > MAX_WORK_PIXELS and (
        max(width, height) // (scale * 2) >= MIN_LONG_SIDE
    ):
        scale *= 2
    return max(1, width // scale), max(1, height // scale)


def _long_side_ok(originals: list[bytes], work: list[_Part], scale: float) -> bool:
    from PIL import Image

    for part, original in zip(work, originals, strict=True):
        if part.kind != "jpeg":
            continue
        with Image.open(io.BytesIO(original), formats=["JPEG"]) as im:
            if max(im.size) * scale < MIN_LONG_SIDE:
                return False
    return True


def merge_files(*, paths: list[str], out: str, max_bytes: int) -> dict[str, Any]:
    """Child op: merge ``paths`` in order into ``out``."""
    from pypdf import PdfReader

    parts = _load(paths)
    pdf, report = merge(parts, max_bytes)
    Path(out).write_bytes(pdf)
    report.pages = len(PdfReader(io.BytesIO(pdf)).pages)
    return {"pages": report.pages, "size": report.size, "fits": report.fits, "steps": report.steps}


def shrink(part: _Part, max_bytes: int) -> tuple[bytes, str, MergeReport]:
    """One file over the limit made to fit (domain.md §2.2): a JPEG re-encoded (orientation
    applied, quality, then long side reduced); an image-only PDF with its scans
    re-compressed. Returns (bytes, mime, report); ``report.fits`` is False when nothing
    fits (a PDF with a text layer is never rebuilt: it keeps its exact text)."""
    if part.kind == "jpeg":
        report = MergeReport(pages=1)
        report.steps.append(f"fichier : {_octets(len(part.data))}, au-delà de {_octets(max_bytes)}")
        data = _squeeze([part], lambda parts: parts[0].data, max_bytes, report)
        return data or b"", "image/jpeg", report
    pdf, report = merge([part], max_bytes)
    return pdf, "application/pdf", report


def shrink_file(*, path: str, out: str, max_bytes: int) -> dict[str, Any]:
    """Child op: shrink the file at ``path`` into ``out`` when it can be made to fit."""
    (part,) = _load([path])
    data, mime, report = shrink(part, max_bytes)
    if report.fits:
        Path(out).write_bytes(data)
    return {"size": report.size, "fits": report.fits, "steps": report.steps, "mime": mime}
