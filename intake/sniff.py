"""The cheap gate: libmagic on the first bytes, and what to tell the student for each
family of refused types. Never the decision on its own: a real parse follows."""

from __future__ import annotations

from dataclasses import dataclass

HEAD_BYTES = 8192

PDF = "application/pdf"
JPEG = "image/jpeg"
ACCEPTED = frozenset({PDF, JPEG})
ALLOWED_EXTENSIONS = frozenset({".pdf", ".jpg", ".jpeg"})

_IMAGE_HINT = (
    "Enregistrez ou exportez l’image au format JPG (sur iPhone : Réglages › Appareil "
    "photo › Formats › « Le plus compatible »), ou scannez le document en PDF."
)
_DOC_HINT = (
    "Dans votre traitement de texte, utilisez « Enregistrer sous › PDF » ou "
    "« imprimer vers un fichier PDF »."
)
_WEB_HINT = "Ouvrez le document et utilisez « imprimer vers un fichier PDF »."
_ARCHIVE_HINT = (
    "Les archives (ZIP, RAR…) ne sont pas acceptées : déposez le document lui-même, "
    "en PDF ou en JPG."
)
_PROGRAM_HINT = "Ce fichier est un programme, pas un document : déposez un scan en PDF ou JPG."
_DEFAULT_HINT = "Scannez ou photographiez le document et déposez-le en PDF ou en JPG."


@dataclass(frozen=True, slots=True)
class TypeAdvice:
    label: str
    hint: str


_ADVICE: dict[str, TypeAdvice] = {
    "image/png": TypeAdvice("image PNG", _IMAGE_HINT),
    "image/heic": TypeAdvice("photo HEIC (iPhone)", _IMAGE_HINT),
    "image/heif": TypeAdvice("photo HEIF (iPhone)", _IMAGE_HINT),
    "image/avif": TypeAdvice("image AVIF", _IMAGE_HINT),
    "image/webp": TypeAdvice("image WebP", _IMAGE_HINT),
    "image/gif": TypeAdvice("image GIF", _IMAGE_HINT),
    "image/bmp": TypeAdvice("image BMP", _IMAGE_HINT),
    "image/x-ms-bmp": TypeAdvice("image BMP", _IMAGE_HINT),
    "image/tiff": TypeAdvice("image TIFF", _IMAGE_HINT),
    "image/svg+xml": TypeAdvice("image SVG", _WEB_HINT),
    "text/html": TypeAdvice("page web (HTML)", _WEB_HINT),
    "text/xml": TypeAdvice("fichier XML", _WEB_HINT),
    "text/plain": TypeAdvice("texte brut", _DOC_HINT),
    "application/msword": TypeAdvice("document Word", _DOC_HINT),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": TypeAdvice(
        "document Word", _DOC_HINT
    ),
    "application/vnd.oasis.opendocument.text": TypeAdvice("document OpenDocument", _DOC_HINT),
    "application/vnd.ms-excel": TypeAdvice("classeur Excel", _DOC_HINT),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": TypeAdvice(
        "classeur Excel", _DOC_HINT
    ),
    "application/zip": TypeAdvice("archive ZIP", _ARCHIVE_HINT),
    "application/x-rar": TypeAdvice("archive RAR", _ARCHIVE_HINT),
    "application/vnd.rar": TypeAdvice("archive RAR", _ARCHIVE_HINT),
    "application/x-7z-compressed": TypeAdvice("archive 7-Zip", _ARCHIVE_HINT),
    "application/x-tar": TypeAdvice("archive TAR", _ARCHIVE_HINT),
    "application/gzip": TypeAdvice("archive GZIP", _ARCHIVE_HINT),
    "application/x-executable": TypeAdvice("programme", _PROGRAM_HINT),
    "application/x-pie-executable": TypeAdvice("programme", _PROGRAM_HINT),
    "application/x-sharedlib": TypeAdvice("programme", _PROGRAM_HINT),
    "application/x-dosexec": TypeAdvice("programme Windows", _PROGRAM_HINT),
    "application/x-mach-binary": TypeAdvice("programme", _PROGRAM_HINT),
}


def advice_for(mime: str) -> TypeAdvice:
    if mime in _ADVICE:
        return _ADVICE[mime]
    if mime.startswith("image/"):
        return TypeAdvice(f"image ({mime})", _IMAGE_HINT)
    if mime.startswith("text/"):
        return TypeAdvice(f"texte ({mime})", _WEB_HINT)
    return TypeAdvice(mime, _DEFAULT_HINT)


def sniff(head: bytes) -> str:
    """MIME type of the first bytes (libmagic, never decompressing)."""
    import magic

    if not head:
        return "application/x-empty"
    return magic.from_buffer(head[:HEAD_BYTES], mime=True)


def extension_of(name: str) -> str:
    """The last extension of a client file name, lower-cased ('' if none). Trailing
    dots and spaces count as part of it (``cni.PDF `` is not ``.pdf``)."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    if "." not in base.lstrip("."):
        return ""
    return "." + base.rsplit(".", 1)[-1].lower()


def display_name(name: str, limit: int = 80) -> str:
    """A client file name made safe to show: no path, no control characters, bounded."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in base if ch.isprintable()).strip()
    return cleaned[:limit] or "fichier"
