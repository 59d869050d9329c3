"""Parsing untrusted uploads. **Runs only inside the limited child** (intake._child).

``inspect(path, ...)`` decides the type from the content (libmagic gate + a real parse),
looks for everything that makes a file unacceptable (truncation, pixel bombs, hidden
payloads, passwords, active content, too many pages, decompression bombs) and writes
the copy that will be stored: JPEGs rebuilt from their pixels (orientation applied, no
EXIF/GPS/XMP/ICC/comment), PDFs unchanged (official attestations are signed; their
text layer must stay exact).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from intake import sniff
from validators.base import Kind
from validators.codes import FileCode, ImageCode, PdfCode
from validators.verdict import Finding, Level, Result, finding, passed

# Signatures of another file type hidden after the end of a JPEG or PDF.
_FOREIGN = {
    b"%PDF-": "PDF",
    b"PK\x03\x04": "archive ZIP",
    b"PK\x05\x06": "archive ZIP",
    b"Rar!\x1a\x07": "archive RAR",
    b"7z\xbc\xaf\x27\x1c": "archive 7-Zip",
    b"\x7fELF": "programme",
    b"<html": "page HTML",
    b"<HTML": "page HTML",
    b"<script": "script",
    b"<SCRIPT": "script",
    b"<?php": "script PHP",
    b"<svg": "image SVG",
    b"\x89PNG\r\n\x1a\n": "image PNG",
}

_PDF_RISKY_ACTIONS = {
    "/JavaScript": "JavaScript",
    "/Launch": "lancement de programme (Launch)",
    "/SubmitForm": "envoi de formulaire (SubmitForm)",
    "/ImportData": "import de données (ImportData)",
    "/GoToR": "lien vers un autre fichier (GoToR)",
    "/GoToE": "document intégré (GoToE)",
    "/Rendition": "média (Rendition)",
    "/RichMediaExecute": "média (RichMedia)",
}
_PDF_RISKY_ANNOTS = {
    "/FileAttachment": "fichier joint",
    "/RichMedia": "média (RichMedia)",
    "/Movie": "vidéo",
    "/Sound": "son",
    "/Screen": "média (Screen)",
}
# names looked for in the raw bytes (outside streams), after decoding #xx escapes
_RAW_NAMES = {
    b"JavaScript": "JavaScript",
    b"JS": "JavaScript",
    b"Launch": "lancement de programme (Launch)",
    b"EmbeddedFile": "fichier joint",
    b"EmbeddedFiles": "fichier joint",
    b"XFA": "formulaire XFA",
    b"RichMedia": "média (RichMedia)",
    b"SubmitForm": "envoi de formulaire (SubmitForm)",
    b"ImportData": "import de données (ImportData)",
    b"GoToE": "document intégré (GoToE)",
}
_MAX_OBJECTS = 20_000
_MAX_ANNOTS = 2_000


@dataclass
class Inspection:
    mime: str
    findings: list[Finding] = field(default_factory=list)
    pages: int = 0
    width: int | None = None
    height: int | None = None
    output: str | None = None
    output_mime: str | None = None

    @property
    def rejected(self) -> bool:
        return any(f.blocks for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "mime": self.mime,
            "pages": self.pages,
            "width": self.width,
            "height": self.height,
            "output": self.output,
            "output_mime": self.output_mime,
            "findings": [f.to_dict() for f in self.findings],
        }


def inspect(
    path: str,
    *,
    kind: str,
    declared_name: str,
    out_path: str,
    max_bytes: int,
    max_pages: int,
    max_pixels: int,
) -> dict[str, Any]:
    data = Path(path).read_bytes()
    head = data[: sniff.HEAD_BYTES]
    mime = sniff.sniff(head)
    result = Inspection(mime=mime)
    ext = sniff.extension_of(declared_name)
    if ext and ext not in sniff.ALLOWED_EXTENSIONS:
        result.findings.append(finding(FileCode.EXTENSION, extension=ext, mime=mime))
        return result.to_dict()

    if mime == sniff.JPEG and data[:3] == b"\xff\xd8\xff":
        _inspect_jpeg(data, result, out_path, max_bytes=max_bytes, max_pixels=max_pixels)
    elif mime == sniff.PDF and data[:5] == b"%PDF-":
        _inspect_pdf(
            path,
            data,
            result,
            kind=kind,
            out_path=out_path,
            max_pages=max_pages,
            max_pixels=max_pixels,
            max_bytes=max_bytes,
        )
    elif mime == "application/octet-stream" and b"%PDF-" in data[:1024]:
        result.findings.append(finding(PdfCode.DAMAGED, mime=mime, reason="junk before %PDF"))
    else:
        advice = sniff.advice_for(mime)
        result.findings.append(
            finding(FileCode.UNSUPPORTED_TYPE, mime=mime, label=advice.label, hint=advice.hint)
        )
        return result.to_dict()

    if not result.rejected and ext:
        actual = "PDF" if result.mime == sniff.PDF else "JPG"
        wanted = "PDF" if ext == ".pdf" else "JPG"
        if actual != wanted:
            result.findings.append(
                finding(
                    FileCode.EXTENSION_MISMATCH,
                    Level.INFO,
                    result=Result.PASS,
                    extension=ext,
                    actual=actual,
                )
            )
    return result.to_dict()


# ---------------------------------------------------------------------------- JPEG


def jpeg_end(data: bytes) -> int:
    """Offset just after the primary image's EOI marker. Walks the marker segments up
    to the first SOS, then looks for FFD9 (entropy-coded data stuffs FF as FF00, so
    FFD9 there can only be a marker). Raises ValueError on a broken layout; returns
    len(data) + 1 when the EOI is missing (truncated)."""
    pos = 2
    n = len(data)
    while pos + 4 <= n:
        if data[pos] != 0xFF:
            raise ValueError(f"no marker at {pos}")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if length < 2:
            raise ValueError("bad segment length")
        if marker == 0xDA:  # SOS: scan data follows
            eoi = data.find(b"\xff\xd9", pos + 2 + length)
            return n + 1 if eoi < 0 else eoi + 2
        if marker == 0xD9:
            return pos + 2
        pos += 2 + length
    return n + 1


def _foreign_payload(blob: bytes) -> str | None:
    for signature, label in _FOREIGN.items():
        if signature in blob:
            return label
    return None


def _inspect_jpeg(
    data: bytes, result: Inspection, out_path: str, *, max_bytes: int, max_pixels: int
) -> None:
    from PIL import Image, ImageOps

    try:
        end = jpeg_end(data)
    except (ValueError, struct.error):
        result.findings.append(finding(FileCode.UNREADABLE, mime=result.mime, reason="layout"))
        return
    if end <= len(data):
        trailing = data[end:]
        hidden = _foreign_payload(trailing)
        if hidden:
            result.findings.append(
                finding(FileCode.POLYGLOT, hidden=hidden, trailing_bytes=len(trailing))
            )
            return

    import io

    Image.MAX_IMAGE_PIXELS = None  # our own cap below, checked before any decoding
    try:
        with Image.open(io.BytesIO(data), formats=["JPEG"]) as im:
            width, height = im.size
            result.width, result.height = width, height
            if width * height > max_pixels:
                result.findings.append(
                    finding(
                        ImageCode.TOO_MANY_PIXELS,
                        width=width,
                        height=height,
                        max_mp=max_pixels // 1_000_000,
                    )
                )
                return
            im.verify()
    except Exception as exc:  # any parser failure is a verdict, not a crash
        result.findings.append(
            finding(FileCode.UNREADABLE, mime=result.mime, reason=type(exc).__name__)
        )
        return

    try:
        with Image.open(io.BytesIO(data), formats=["JPEG"]) as im:
            im.seek(0)  # a phone's multi-picture JPEG (MPO): the first frame
            from intake.merge import work_size

            reduced = work_size(width, height)
            if reduced != (width, height):
                # a 48 MP photo decoded at 1/2 by the JPEG decoder itself: whole, it would
                # not fit in the child's memory (and 12 MP is plenty for reading)
                im.draft("RGB", reduced)
            im.load()
            info_keys = sorted(
                k for k in im.info if k in {"exif", "xmp", "icc_profile", "comment", "photoshop"}
            )
            exif = im.getexif()
            orientation = int(exif.get(0x0112, 1) or 1)
            gps = 0x8825 in exif
            # the editing program is kept (as text, for the reviewer) before stripping
            software = "".join(c for c in str(exif.get(0x0131) or "") if c.isprintable())[:80]
            upright = ImageOps.exif_transpose(im)
            rgb = upright if upright.mode == "RGB" else upright.convert("RGB")
            del upright
    except OSError as exc:
        code = (
            ImageCode.TRUNCATED
            if "truncated" in str(exc) or end > len(data)
            else FileCode.UNREADABLE
        )
        result.findings.append(finding(code, mime=result.mime, reason=str(exc)[:200]))
        return
    except Exception as exc:
        result.findings.append(
            finding(FileCode.UNREADABLE, mime=result.mime, reason=type(exc).__name__)
        )
        return
    if end > len(data):
        result.findings.append(
            finding(ImageCode.TRUNCATED, mime=result.mime, reason="no EOI marker")
        )
        return

    del im  # its decoded pixels: the upright copy is all that is needed now
    # rebuild from pixels: a new image has an empty .info, so nothing is copied over
    # (pasted, not through a bytes copy: one image of pixels less at the peak)
    clean = Image.new("RGB", rgb.size)
    clean.paste(rgb)
    del rgb
    size = write_jpeg(clean, out_path, max_bytes=max_bytes)
    result.mime = sniff.JPEG
    result.pages = 1
    result.width, result.height = clean.size
    result.output, result.output_mime = out_path, sniff.JPEG
    if info_keys or gps or len(exif):
        result.findings.append(
            passed(
                FileCode.METADATA_REMOVED,
                removed=info_keys,
                gps=gps,
                stored_bytes=size,
                software=software or None,
            )
        )
    if orientation not in (0, 1):
        result.findings.append(passed(FileCode.ORIENTATION_APPLIED, orientation=orientation))
    if (width, height) != clean.size and (height, width) != clean.size:
        stored_width, stored_height = clean.size
        result.findings.append(
            passed(
                ImageCode.REDUCED,
                width=width,
                height=height,
                stored_width=stored_width,
                stored_height=stored_height,
            )
        )


def write_jpeg(image: Any, out_path: str, *, max_bytes: int, quality: int = 90) -> int:
    """Save ``image`` as a JPEG no larger than ``max_bytes``: lower the quality step by
    step, then the size. Returns the byte count."""
    import io

    current = image
    for _ in range(12):
        for q in (quality, 85, 80, 75, 70, 65, 60):
            buf = io.BytesIO()
            current.save(buf, "JPEG", quality=q, optimize=True)
            if buf.tell() <= max_bytes:
                Path(out_path).write_bytes(buf.getvalue())
                return buf.tell()
        w, h = current.size
        current = current.resize((int(w * 0.85), int(h * 0.85)))
    raise ValueError("cannot fit the image under the size limit")


# ----------------------------------------------------------------------------- PDF


_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_NAME = re.compile(rb"/([A-Za-z0-9#_.\-]+)")
_STREAM = re.compile(rb"stream\r?\n.*?endstream", re.DOTALL)


def raw_active_names(data: bytes) -> set[str]:
    """Risky PDF names in the raw bytes outside streams, with #xx escapes decoded."""
    outside = _STREAM.sub(b" ", data)
    found: set[str] = set()
    for match in _NAME.finditer(outside):
        name = _NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), match.group(1))
        if name in _RAW_NAMES:
            found.add(_RAW_NAMES[name])
    return found


def _action_features(action: Any, found: set[str]) -> None:
    from pypdf.generic import ArrayObject, DictionaryObject

    seen = 0
    stack = [action]
    while stack and seen < 200:
        seen += 1
        item = stack.pop()
        item = item.get_object() if hasattr(item, "get_object") else item
        if isinstance(item, DictionaryObject):
            kind = item.get("/S")
            if kind in _PDF_RISKY_ACTIONS:
                found.add(_PDF_RISKY_ACTIONS[kind])
            if "/JS" in item:
                found.add("JavaScript")
            nxt = item.get("/Next")
            if nxt is not None:
                stack.append(nxt)
        elif isinstance(item, ArrayObject):
            continue  # a destination such as [page /Fit]: harmless


def active_content(reader: Any) -> set[str]:
    """Active features found by walking the parsed catalogue and pages."""
    from pypdf.generic import DictionaryObject

    found: set[str] = set()
    root = reader.trailer["/Root"].get_object()
    if "/OpenAction" in root:
        _action_features(root["/OpenAction"], found)
    if "/AA" in root:
        for action in root["/AA"].get_object().values():
            _action_features(action, found)
    names = root.get("/Names")
    if names is not None:
        names = names.get_object()
        if "/JavaScript" in names:
            found.add("JavaScript")
        if "/EmbeddedFiles" in names:
            found.add("fichier joint")
    acro = root.get("/AcroForm")
    if acro is not None and "/XFA" in acro.get_object():
        found.add("formulaire XFA")
    annots_seen = 0
    for page in reader.pages:
        if "/AA" in page:
            for action in page["/AA"].get_object().values():
                _action_features(action, found)
        for annot in page.get("/Annots") or []:
            annots_seen += 1
            if annots_seen > _MAX_ANNOTS:
                break
            annot = annot.get_object()
            if not isinstance(annot, DictionaryObject):
                continue
            subtype = annot.get("/Subtype")
            if subtype in _PDF_RISKY_ANNOTS:
                found.add(_PDF_RISKY_ANNOTS[subtype])
            for key in ("/A", "/AA"):
                if key in annot:
                    target = annot[key].get_object()
                    if key == "/AA":
                        for action in target.values():
                            _action_features(action, found)
                    else:
                        _action_features(target, found)
    return found


def decode_all_streams(reader: Any) -> int:
    """Decode every stream object under pypdf's output limits (a nested-Flate bomb
    raises LimitReachedError). Returns the number of streams decoded."""
    from pypdf.generic import IndirectObject, StreamObject

    count = 0
    visited = 0
    for generation, numbers in reader.xref.items():
        for number in numbers:
            visited += 1
            if visited > _MAX_OBJECTS:
                return count
            obj = reader.get_object(IndirectObject(number, generation, reader))
            if isinstance(obj, StreamObject):
                obj.get_data()
                count += 1
    # (stream objects cannot live inside object streams: the xref lists them all)
    return count


def _inspect_pdf(
    path: str,
    data: bytes,
    result: Inspection,
    *,
    kind: str,
    out_path: str,
    max_pages: int,
    max_pixels: int,
    max_bytes: int,
) -> None:
    import pypdfium2 as pdfium

    result.mime = sniff.PDF
    eof = data.rfind(b"%%EOF")
    if eof >= 0:
        hidden = _foreign_payload(data[eof + 5 :])
        if hidden:
            result.findings.append(
                finding(FileCode.POLYGLOT, hidden=hidden, trailing_bytes=len(data) - eof - 5)
            )
            return

    try:
        doc = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            result.findings.append(finding(PdfCode.ENCRYPTED, reason="password required"))
        else:
            result.findings.append(finding(PdfCode.DAMAGED, reason=str(exc)[:200]))
        return
    try:
        problem = _pdf_problem(doc, path, data, result, max_pages=max_pages)
    finally:
        doc.close()
    if problem is not None:
        result.findings.append(problem)
        return
    if kind == Kind.PHOTO:
        _photo_from_pdf(data, result, out_path, max_bytes=max_bytes, max_pixels=max_pixels)
        return
    Path(out_path).write_bytes(data)
    result.output, result.output_mime = out_path, sniff.PDF


def _pdf_problem(
    doc: Any, path: str, data: bytes, result: Inspection, *, max_pages: int
) -> Finding | None:
    """The first reason to refuse an opened PDF, or None. Cheap checks first; the
    page is rendered last, once the structure is known to be sane."""
    import pypdfium2 as pdfium
    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError

    try:
        pages = len(doc)
        result.pages = pages
        if pages == 0:
            return finding(PdfCode.NO_PAGES)
        if pages > max_pages:
            return finding(PdfCode.TOO_MANY_PAGES, pages=pages, max_pages=max_pages)
        # by index: loading the page would already parse (and inflate) its content
        width_pt, height_pt = doc.get_page_size(0)
        result.width, result.height = round(width_pt), round(height_pt)
    except pdfium.PdfiumError as exc:
        return finding(PdfCode.DAMAGED, reason=str(exc)[:200])

    features = raw_active_names(data)
    try:
        reader = PdfReader(path, strict=False)
        if reader.is_encrypted:
            # pdfium opened it without a password: owner restrictions only
            reader.decrypt("")
            result.findings.append(passed(PdfCode.RESTRICTED, permissions=_permissions(reader)))
        if len(reader.pages) > max_pages:
            return finding(PdfCode.TOO_MANY_PAGES, pages=len(reader.pages), max_pages=max_pages)
        features |= active_content(reader)
        decode_all_streams(reader)
    except LimitReachedError as exc:
        return finding(PdfCode.BOMB, reason=str(exc)[:200])
    except MemoryError:
        return finding(PdfCode.BOMB, reason="memory limit")
    except Exception as exc:  # pypdf raises many types on damaged files
        return finding(PdfCode.DAMAGED, reason=f"{type(exc).__name__}: {str(exc)[:200]}")
    if features:
        return finding(PdfCode.ACTIVE_CONTENT, features=", ".join(sorted(features)))
    try:
        # every page must load (the checks read them all), the first must render
        for index in range(len(doc)):
            page = doc[index]
            if index == 0:
                page.render(scale=36 / 72).to_pil()
            page.close()
    except pdfium.PdfiumError as exc:
        return finding(PdfCode.DAMAGED, reason=str(exc)[:200])
    return None


def _permissions(reader: Any) -> list[str]:
    try:
        flags = reader.user_access_permissions
        return [p.name for p in type(flags) if p in flags and p.name]
    except Exception:
        return []


def _photo_from_pdf(
    data: bytes, result: Inspection, out_path: str, *, max_bytes: int, max_pixels: int
) -> None:
    """domain.md §2.6: a PDF sent as a photo must hold one image; the stored card photo
    is a JPEG (the largest embedded image, else the page rendered at 300 dpi)."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c
    from PIL import Image

    doc = pdfium.PdfDocument(data)
    try:
        page = doc[0]
        best = None
        for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2):
            w, h = obj.get_px_size()
            if w * h > max_pixels:
                continue
            if best is None or w * h > best[0]:
                best = (w * h, obj)
        if best is not None:
            image = best[1].get_bitmap(render=False).to_pil()
        else:
            image = page.render(scale=300 / 72).to_pil()
    finally:
        doc.close()
    rgb = image.convert("RGB")
    clean = Image.frombytes("RGB", rgb.size, rgb.tobytes())
    write_jpeg(clean, out_path, max_bytes=max_bytes)
    result.output, result.output_mime = out_path, sniff.JPEG
    result.width, result.height = clean.size
    result.findings.append(
        finding(
            FileCode.EXTENSION_MISMATCH,
            Level.INFO,
            result=Result.PASS,
            message="La photo a été extraite du PDF et sera conservée en JPG.",
            extension=".pdf",
            actual="JPG",
        )
    )
