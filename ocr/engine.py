"""What an OCR engine gives back, and the protocol checkers read through.

Engines never raise on a bad image or a timeout: they return an :class:`OcrText`
with ``timed_out`` or an empty text, which checkers turn into an *inconclusive*
finding (never "field missing → rejected").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from PIL import Image


@dataclass(frozen=True, slots=True)
class OcrWord:
    text: str
    confidence: float  # 0-100, -1 when the engine gives none
    box: tuple[int, int, int, int]  # x, y, width, height in the image's pixels
    line: int = 0  # a line key: words with the same key are on one line


@dataclass(frozen=True, slots=True)
class OcrText:
    text: str
    confidence: float | None = None
    words: tuple[OcrWord, ...] = ()
    timed_out: bool = False
    engine: str = ""
    elapsed_ms: float = 0.0

    @property
    def empty(self) -> bool:
        return not self.text.strip()


class OcrEngine(Protocol):
    name: str

    def read_page(self, image: Image.Image, *, lang: str = "fra", psm: int = 3) -> OcrText:
        """Whole-page text, with word boxes."""

    def read_field(self, image: Image.Image, *, lang: str = "eng", psm: int = 7) -> OcrText:
        """One line of a located field (codes: eng, psm 7, no whitelist)."""


def default_engine(timeout_s: float = 15.0) -> OcrEngine:
    """The engine the service uses: Tesseract through pytesseract."""
    from ocr.tesseract import TesseractEngine

    return TesseractEngine(timeout_s=timeout_s)
