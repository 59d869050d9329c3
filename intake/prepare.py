"""Prepared documents and the check itself. **Runs inside the limited child.**

``check(...)`` is the child op behind every automated check: it opens the *stored*
file (a JPEG justif rebuilt, or a PDF that passed intake), wraps it as a
:class:`validators.base.Document`, builds the frozen :class:`validators.base.Context`
and calls the kind's checker. OCR and face detection are created lazily, so a
born-digital CVEC attestation never loads Tesseract or OpenCV.
"""

from __future__ import annotations

import datetime as dt
import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ocr import render
from validators.base import Context, Kind, Student
from validators.registry import get_checker, ruleset_version
from validators.verdict import Verdict


class ImagePage:
    def __init__(self, path: str, index: int = 0) -> None:
        self.index = index
        self._path = path
        self._image: Any = None

    @property
    def text(self) -> str:
        return ""

    def image(self, dpi: int = 300) -> Any:
        if self._image is None:
            from PIL import Image

            with Image.open(self._path, formats=["JPEG"]) as im:
                self._image = im.convert("RGB")
        return self._image


class PdfPage:
    def __init__(self, doc: Any, index: int) -> None:
        self.index = index
        self._doc = doc
        self._text: str | None = None
        self._images: dict[int, Any] = {}

    @property
    def _page(self) -> Any:
        return self._doc[self.index]

    @property
    def text(self) -> str:
        """The born-digital text layer ('' for a scan, and for a scan carrying another
        program's invisible OCR text, which is not exact)."""
        if self._text is None:
            page = self._page
            self._text = "" if render.text_is_ocr_overlay(page) else render.page_text(page)
        return self._text

    def image(self, dpi: int = 300) -> Any:
        if dpi not in self._images:
            page = self._page
            scan = render.scan_image(page)
            width_pt, _ = render.page_size_pt(page)
            if scan is not None and scan.width >= 0.6 * width_pt * dpi / 72:
                self._images[dpi] = scan
            else:
                self._images[dpi] = render.render_page(page, dpi)
        return self._images[dpi]


@dataclass
class PreparedDocument:
    kind: Kind
    mime: str
    path: str
    pages: list[Any] = field(default_factory=list)
    _pdf: Any = None

    @property
    def has_text_layer(self) -> bool:
        return any(p.text.strip() for p in self.pages)

    def close(self) -> None:
        if self._pdf is not None:
            self._pdf.close()
            self._pdf = None


def open_document(path: str, mime: str, kind: str) -> PreparedDocument:
    if mime == "image/jpeg":
        return PreparedDocument(Kind(kind), mime, path, [ImagePage(path)])
    pdf = render.open_pdf(path)
    pages = [PdfPage(pdf, i) for i in range(len(pdf))]
    return PreparedDocument(Kind(kind), mime, path, pages, pdf)


class _Lazy:
    """Builds ``factory(**kwargs)`` on first use (OCR engine, face detector)."""

    def __init__(self, target: str, **kwargs: Any) -> None:
        self._target = target
        self._kwargs = kwargs
        self._obj: Any = None

    def _get(self) -> Any:
        if self._obj is None:
            module, _, name = self._target.partition(":")
            self._obj = getattr(importlib.import_module(module), name)(**self._kwargs)
        return self._obj

    def __getattr__(self, name: str) -> Any:
        return getattr(self._get(), name)


def build_context(context: dict[str, Any]) -> Context:
    student = context.get("student")
    return Context(
        registration_date=dt.date.fromisoformat(context["registration_date"]),
        academic_year=context["academic_year"],
        student=Student.from_mapping(student) if student else None,
        photo_profile=context.get("photo_profile", "university"),
        ocr=_Lazy("ocr.engine:default_engine", timeout_s=float(context.get("ocr_timeout_s", 15))),
        vision=_Lazy("ocr.vision:default_detector"),
        options=context.get("options") or {},
    )


def check(*, path: str, mime: str, kind: str, context: dict[str, Any]) -> dict[str, Any]:
    """Child op: the kind's checker on a stored file → verdict as a dict."""
    doc = open_document(path, mime, kind)
    try:
        verdict: Verdict = get_checker(kind)(doc, build_context(context))
    finally:
        doc.close()
    out = verdict.to_dict()
    out["ruleset"] = ruleset_version()
    return out


def preview(
    *, path: str, mime: str, out_dir: str, dpi: int = 100, max_pages: int = 10
) -> dict[str, Any]:
    """Child op: PNG previews of every page for administrators (originals are never
    rendered in a browser). Returns the written paths."""
    doc = open_document(path, mime, "diploma")
    written = []
    try:
        for page in doc.pages[:max_pages]:
            image = page.image(dpi) if mime == "application/pdf" else page.image()
            image = image.copy()
            image.thumbnail((1600, 1600))
            target = Path(out_dir) / f"page-{page.index + 1}.png"
            image.save(target, "PNG")
            written.append(str(target))
    finally:
        doc.close()
    return {"pages": written}
