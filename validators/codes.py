"""Reason codes: stable dotted identifiers, each with its French message.

Every area keeps its codes in one ``StrEnum`` derived from :class:`ReasonCode`
(this module holds the file, PDF, image, sandbox and kind codes; identifiers, MRZ,
photo and document checks define theirs next to their rules). A member is declared as

    NAME = "area.what", "Message to the student {with_detail_value}.", "ok text", "unsure text"

The message is a ``str.format`` template filled from the finding's ``detail``; the
optional second and third texts are used when the criterion passed or could not be
judged. Codes never change once published: they are stored in the database, exported
and matched by administrators' filters.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

# The FAQ's own sentence for the file rule, quoted wherever a file is refused.
FAQ_FORMAT = (
    "Vos fichiers doivent impérativement être sous format PDF ou JPG. "
    "La taille maximale autorisée est de 5 Mo."
)


# information findings: the same text whether shown as a note or as a passed criterion
_METADATA = (
    "Les métadonnées de la photo (position GPS, appareil, commentaires) ont été retirées "
    "du fichier conservé."
)
_ORIENTED = "L’image a été remise à l’endroit selon les informations de l’appareil photo."
_REDUCED = (
    "Votre photo de {width} × {height} pixels a été enregistrée en {stored_width} × "
    "{stored_height} pixels : largement assez pour la lire."
)
_RESTRICTED = (
    "Ce PDF porte des restrictions (impression ou copie) mais s’ouvre sans mot de passe : "
    "c’est normal pour une attestation officielle."
)


class _Missing(dict):
    def __missing__(self, key: str) -> str:
        return "?"


class ReasonCode(StrEnum):
    """Base of every reason-code enum (declares no member itself)."""

    message: str
    ok_message: str
    inconclusive_message: str

    def __new__(
        cls,
        value: str,
        message: str = "",
        ok_message: str = "",
        inconclusive_message: str = "",
    ) -> ReasonCode:
        obj = str.__new__(cls, value)
        obj._value_ = value
        obj.message = message
        obj.ok_message = ok_message or "Critère vérifié."
        obj.inconclusive_message = inconclusive_message or (
            "Ce point n’a pas pu être vérifié automatiquement : un gestionnaire va le contrôler."
        )
        return obj

    def render(self, detail: Mapping[str, Any] | None = None, template: str | None = None) -> str:
        """The message (or ``template``) with ``{placeholders}`` filled from ``detail``
        ("?" if absent)."""
        text = self.message if template is None else template
        return string.Formatter().vformat(text, (), _Missing(detail or {}))


class FileCode(ReasonCode):
    """The file rule (FAQ: PDF or JPG, 5 Mo) and what intake finds while parsing."""

    EMPTY = (
        "file.empty",
        "Le fichier envoyé est vide (0 octet). Enregistrez à nouveau votre document "
        "puis déposez-le. " + FAQ_FORMAT,
    )
    TOO_LARGE = (
        "file.too_large",
        "Votre fichier dépasse 5 Mo ({size_mb} Mo). " + FAQ_FORMAT + " "
        "Réduisez la résolution du scan ou enregistrez la photo en qualité moyenne ; "
        "pour une carte d’identité, déposez le recto et le verso séparément et nous "
        "les réunirons pour vous.",
    )
    UNSUPPORTED_TYPE = (
        "file.unsupported_type",
        "Ce fichier est de type « {label} », qui n’est pas accepté. " + FAQ_FORMAT + " {hint}",
    )
    EXTENSION = (
        "file.extension",
        "Le nom du fichier se termine par « {extension} » : seuls les fichiers .pdf, "
        ".jpg et .jpeg sont acceptés. " + FAQ_FORMAT,
    )
    EXTENSION_MISMATCH = (
        "file.extension_mismatch",
        "Le fichier porte l’extension « {extension} » mais contient un {actual} ; "
        "il a été traité comme un {actual}.",
    )
    UNREADABLE = (
        "file.unreadable",
        "Votre fichier semble endommagé : il ne peut pas être ouvert. Enregistrez "
        "ou scannez à nouveau le document, puis déposez le nouveau fichier. " + FAQ_FORMAT,
    )
    POLYGLOT = (
        "file.polyglot",
        "Votre fichier contient, en plus du document, des données d’un autre type "
        "({hidden}). Pour votre sécurité il n’est pas accepté : enregistrez à nouveau "
        "le document (par exemple « imprimer vers un fichier PDF ») puis déposez-le.",
    )
    DUPLICATE = (
        "file.duplicate",
        "Ce fichier est identique à un fichier déjà déposé{where}.",
    )
    METADATA_REMOVED = (
        "file.metadata_removed",
        _METADATA,
        _METADATA,
    )
    ORIENTATION_APPLIED = (
        "file.orientation_applied",
        _ORIENTED,
        _ORIENTED,
    )


class ImageCode(ReasonCode):
    TRUNCATED = (
        "jpeg.truncated",
        "Votre image JPG est incomplète (le fichier a été coupé pendant "
        "l’enregistrement ou l’envoi). Déposez-la à nouveau. " + FAQ_FORMAT,
    )
    REDUCED = (
        "image.reduced",
        _REDUCED,
        _REDUCED,
    )
    TOO_MANY_PIXELS = (
        "image.too_large",
        "L’image annonce {width} × {height} pixels, bien au-delà de ce qu’un appareil "
        "photo produit ({max_mp} millions de pixels au plus). Reprenez la photo ou "
        "le scan en résolution normale.",
    )


class PdfCode(ReasonCode):
    ENCRYPTED = (
        "pdf.encrypted",
        "Ce PDF est protégé par un mot de passe et ne peut pas être ouvert. "
        "Déposez une copie sans mot de passe (ouvrez-le puis « imprimer vers un "
        "fichier PDF »).",
    )
    RESTRICTED = (
        "pdf.restricted",
        _RESTRICTED,
        _RESTRICTED,
    )
    ACTIVE_CONTENT = (
        "pdf.active_content",
        "Ce PDF contient des éléments actifs ({features}) qui ne sont pas acceptés "
        "pour des raisons de sécurité. Ouvrez-le puis utilisez « imprimer vers un "
        "fichier PDF » et déposez le nouveau fichier.",
    )
    TOO_MANY_PAGES = (
        "pdf.too_many_pages",
        "Ce PDF compte {pages} pages ; {max_pages} au plus sont acceptées pour une "
        "pièce. Déposez uniquement les pages du document demandé.",
    )
    NO_PAGES = (
        "pdf.no_pages",
        "Ce PDF ne contient aucune page. Enregistrez à nouveau votre document.",
    )
    BOMB = (
        "pdf.bomb",
        "Ce PDF contient des données compressées démesurées qui ne peuvent pas être "
        "ouvertes. Enregistrez à nouveau le document (« imprimer vers un fichier "
        "PDF ») puis déposez-le.",
    )
    DAMAGED = (
        "pdf.damaged",
        "Ce fichier ressemble à un PDF mais il est endommagé (en-tête ou structure "
        "invalide). Enregistrez ou exportez à nouveau le document en PDF.",
    )


class SandboxCode(ReasonCode):
    TIMEOUT = (
        "sandbox.timeout",
        "L’analyse du fichier a pris trop de temps ({limit_s} s) et a été arrêtée. "
        "Un gestionnaire va examiner votre document ; vous pouvez aussi déposer un "
        "scan plus simple (PDF ou JPG).",
    )
    MEMORY = (
        "sandbox.memory",
        "L’analyse du fichier a dépassé la mémoire autorisée et a été arrêtée. "
        "Déposez un scan plus léger (PDF ou JPG de moins de 5 Mo).",
    )
    CRASHED = (
        "sandbox.crashed",
        "L’analyse du fichier s’est interrompue ({reason}). Un gestionnaire va "
        "examiner votre document.",
    )


class KindCode(ReasonCode):
    NOT_CHECKED = (
        "kind.not_checked",
        "Cette pièce n’est pas encore vérifiée automatiquement : un gestionnaire va la contrôler.",
    )
    NO_STUDENT = (
        "student.missing",
        "Aucun dossier étudiant fourni : les comparaisons avec le dossier (nom, date "
        "de naissance, INE) n’ont pas été faites.",
    )


def all_code_enums() -> list[type[ReasonCode]]:
    """Every ReasonCode enum that has been imported (the registry imports them all)."""
    found: list[type[ReasonCode]] = []
    stack = list(ReasonCode.__subclasses__())
    while stack:
        cls = stack.pop()
        found.append(cls)
        stack.extend(cls.__subclasses__())
    return found


def code_from_str(value: str) -> ReasonCode:
    """The enum member for a stored code string (importing every checker first)."""
    from validators.registry import import_code_modules

    import_code_modules()
    for cls in all_code_enums():
        try:
            return cls(value)
        except ValueError:
            continue
    raise ValueError(f"unknown reason code {value!r}")
