"""What a checker receives: a prepared document and a frozen context.

Checkers are pure: they never open files, touch the database, read settings or the
clock. ``intake`` prepares the :class:`Document` (text layer, page images) inside the
limited child process and builds the :class:`Context` (student record, registration
date, academic year, photo profile, OCR engine, face detector).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from PIL import Image

    from ocr.engine import OcrEngine
    from validators.verdict import Verdict


class Kind(StrEnum):
    """The pieces of domain.md §1."""

    IDENTITY = "identity"
    PHOTO = "photo"
    CVEC = "cvec"
    BAC = "bac"
    JDC = "jdc"
    DIPLOMA = "diploma"
    PARENTAL_CONSENT = "parental_consent"
    APPRENTICESHIP_CONTRACT = "apprenticeship_contract"
    PRREL_BENEFICIARY = "prrel_beneficiary"
    PRREL_TUTOR = "prrel_tutor"
    RSE_PROOF = "rse_proof"


def _date(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


@dataclass(frozen=True, slots=True)
class Student:
    """The enrolment record a document is compared with (issue 3's student.json)."""

    last_name: str = ""
    first_name: str = ""
    birth_date: dt.date | None = None
    ine: str | None = None
    cvec_number: str | None = None
    academic_year: str | None = None
    registration_date: dt.date | None = None
    first_registration: bool = True
    apprentice: bool = False
    bac_after_1995: bool | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Student:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known and v is not None}
        for key in ("birth_date", "registration_date"):
            if key in values:
                values[key] = _date(values[key])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = value.isoformat() if isinstance(value, dt.date) else value
        return out

    def age_on(self, day: dt.date) -> int | None:
        if self.birth_date is None:
            return None
        return age_on(self.birth_date, day)


def age_on(birth: dt.date, day: dt.date) -> int:
    """Completed years on ``day`` (a birthday on 29 February counts on 1 March)."""
    years = day.year - birth.year
    if (day.month, day.day) < (birth.month, birth.day):
        years -= 1
    return years


class Page(Protocol):
    index: int

    @property
    def text(self) -> str:
        """The PDF text layer ('' for a scan or an image)."""

    def image(self, dpi: int = 300) -> Image.Image:
        """The page as an RGB image (a JPEG's own pixels, or a PDF page rendered)."""


class Document(Protocol):
    kind: Kind
    mime: str
    pages: Sequence[Page]

    @property
    def has_text_layer(self) -> bool: ...


@dataclass
class StaticPage:
    """An in-memory page: for fakes in unit tests and for derived images."""

    index: int
    text_layer: str = ""
    picture: Image.Image | None = None

    @property
    def text(self) -> str:
        return self.text_layer

    def image(self, dpi: int = 300) -> Image.Image:
        if self.picture is None:
            raise ValueError("this page has no image")
        return self.picture


@dataclass
class StaticDocument:
    kind: Kind
    mime: str = "application/pdf"
    pages: Sequence[Page] = ()

    @property
    def has_text_layer(self) -> bool:
        return any(p.text.strip() for p in self.pages)

    @classmethod
    def of_images(cls, kind: Kind, *images: Image.Image) -> StaticDocument:
        return cls(
            kind=kind,
            mime="image/jpeg" if len(images) == 1 else "application/pdf",
            pages=[StaticPage(i, picture=im) for i, im in enumerate(images)],
        )

    @classmethod
    def of_text(cls, kind: Kind, *texts: str) -> StaticDocument:
        return cls(kind=kind, pages=[StaticPage(i, text_layer=t) for i, t in enumerate(texts)])


@dataclass(frozen=True, slots=True)
class Context:
    """Everything a checker may know besides the document. Frozen; no clock inside:
    ``registration_date`` is the day the rules are evaluated for."""

    registration_date: dt.date
    academic_year: str
    student: Student | None = None
    photo_profile: str = "university"
    ocr: OcrEngine | None = None
    vision: Any = None
    options: Mapping[str, Any] = field(default_factory=dict)

    def with_student(self, student: Student | None) -> Context:
        return replace(self, student=student)


Checker = Callable[[Document, Context], "Verdict"]


def academic_year_of(day: dt.date) -> str:
    """The campaign year a registration date belongs to (September starts a year).
    Used only as the CLI's default; the service takes it from configuration."""
    start = day.year if day.month >= 9 else day.year - 1
    return f"{start}-{start + 1}"
