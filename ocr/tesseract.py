"""Tesseract through pytesseract: the only module that knows its options and messages.

- French (``fra``) with page segmentation 3 for page text; English (``eng``) with
  psm 7 and the dictionaries off for codes on a located field (stack.md §2.2: ``eng``
  beats ``fra`` on codes, a character whitelist hurts the LSTM models).
- A timeout on every call; a timeout gives ``OcrText(timed_out=True)``, never an
  exception (pytesseract kills the process and raises a plain RuntimeError).
- ``OMP_THREAD_LIMIT=1`` comes from the environment of the sandbox child in which
  checks run (intake.sandbox), never from ``os.environ`` set here.
"""

from __future__ import annotations

import html
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ocr.engine import OcrText, OcrWord

if TYPE_CHECKING:
    from PIL import Image

CODE_CONFIG = "-c load_system_dawg=0 -c load_freq_dawg=0"
# Tesseract refuses or crawls on huge images: downscale to <= 4000 px (security.md §5.5)
MAX_SIDE = 4000


@dataclass(frozen=True, slots=True)
class OcrSymbol:
    """One character as Tesseract placed it: its box, confidence and the LSTM's other
    choices for it (``lstm_choice_mode=2``; confidences 0-100, often 0 for a choice
    that was only a distant second)."""

    char: str
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in the image's pixels
    confidence: float
    choices: tuple[tuple[str, float], ...] = ()
    line: int = 0


_HOCR_TOKEN = re.compile(
    r"class='ocr_line'"
    r"|x_bboxes (\d+) (\d+) (\d+) (\d+); x_conf ([\d.]+)'>([^<]*)</span>"
    r"|id='choice_[\d_]+' title='x_confs ([\d.]+)'>([^<]*)</span>"
)


def parse_hocr_symbols(hocr: str) -> list[OcrSymbol]:
    """The symbols of an hOCR page written with ``hocr_char_boxes=1`` and
    ``lstm_choice_mode=2``, in reading order."""
    out: list[OcrSymbol] = []
    line = -1
    current: dict | None = None

    def flush() -> None:
        if current is not None:
            out.append(OcrSymbol(**current))

    for match in _HOCR_TOKEN.finditer(hocr):
        if match.group(0) == "class='ocr_line'":
            line += 1
            continue
        if match.group(1) is not None:
            flush()
            x0, y0, x1, y1 = (int(v) for v in match.group(1, 2, 3, 4))
            current = {
                "char": html.unescape(match.group(6)),
                "box": (x0, y0, x1, y1),
                "confidence": float(match.group(5)),
                "choices": (),
                "line": max(0, line),
            }
        elif current is not None:
            choice = (html.unescape(match.group(8)), float(match.group(7)))
            current["choices"] = (*current["choices"], choice)
    flush()
    return out


def _bounded(image: Image.Image) -> Image.Image:
    if max(image.size) <= MAX_SIDE:
        return image
    copy = image.copy()
    copy.thumbnail((MAX_SIDE, MAX_SIDE))
    return copy


@dataclass
class TesseractEngine:
    timeout_s: float = 15.0
    name: str = "tesseract"

    def _data(self, image: Image.Image, lang: str, config: str) -> OcrText:
        import pytesseract

        started = time.perf_counter()
        try:
            data = pytesseract.image_to_data(
                _bounded(image),
                lang=lang,
                config=config,
                output_type=pytesseract.Output.DICT,
                timeout=self.timeout_s,
            )
        except RuntimeError as exc:
            if "timeout" in str(exc).lower():
                return OcrText(
                    "",
                    None,
                    timed_out=True,
                    engine=self.name,
                    elapsed_ms=(time.perf_counter() - started) * 1000,
                )
            raise
        words: list[OcrWord] = []
        lines: dict[tuple[int, int, int], list[str]] = {}
        confidences: list[float] = []
        for i, text in enumerate(data["text"]):
            text = (text or "").strip()
            if not text:
                continue
            conf = float(data["conf"][i])
            key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
            line_id = key[0] * 1_000_000 + key[1] * 1_000 + key[2]
            words.append(
                OcrWord(
                    text=text,
                    confidence=conf,
                    box=(data["left"][i], data["top"][i], data["width"][i], data["height"][i]),
                    line=line_id,
                )
            )
            lines.setdefault(key, []).append(text)
            if conf >= 0:
                confidences.append(conf)
        text = "\n".join(" ".join(ws) for _, ws in sorted(lines.items()))
        mean = sum(confidences) / len(confidences) if confidences else None
        return OcrText(
            text=text,
            confidence=mean,
            words=tuple(words),
            engine=self.name,
            elapsed_ms=(time.perf_counter() - started) * 1000,
        )

    def read_page(self, image: Image.Image, *, lang: str = "fra", psm: int = 3) -> OcrText:
        return self._data(image, lang, f"--psm {psm}")

    def read_field(self, image: Image.Image, *, lang: str = "eng", psm: int = 7) -> OcrText:
        return self._data(image, lang, f"--psm {psm} {CODE_CONFIG}")

    def read_block(self, image: Image.Image, *, lang: str = "eng", psm: int = 6) -> OcrText:
        """A block of code lines (an MRZ band): dictionaries off like read_field, and
        no second pass looking for white-on-black text."""
        return self._data(image, lang, f"--psm {psm} {CODE_CONFIG} -c tessedit_do_invert=0")

    def read_symbols(
        self, image: Image.Image, *, lang: str = "eng", psm: int = 6
    ) -> tuple[list[OcrSymbol], bool]:
        """Characters one by one with their boxes and the LSTM's alternatives (hOCR),
        dictionaries off as for codes; (symbols, timed_out). The image must not need
        downscaling (the boxes are in its pixels)."""
        import pytesseract

        config = (
            f"--psm {psm} {CODE_CONFIG} -c tessedit_do_invert=0 "
            "-c lstm_choice_mode=2 -c hocr_char_boxes=1"
        )
        try:
            hocr = pytesseract.image_to_pdf_or_hocr(
                image, lang=lang, config=config, extension="hocr", timeout=self.timeout_s
            )
        except RuntimeError as exc:
            if "timeout" in str(exc).lower():
                return [], True
            raise
        return parse_hocr_symbols(hocr.decode("utf-8", "replace")), False

    def orientation(self, image: Image.Image) -> int | None:
        """Degrees to rotate the image clockwise to make it upright (Tesseract OSD),
        None when OSD cannot tell (too little text) or times out."""
        import pytesseract

        try:
            osd = pytesseract.image_to_osd(
                _bounded(image),
                config="--psm 0",
                output_type=pytesseract.Output.DICT,
                timeout=self.timeout_s,
            )
        except (RuntimeError, pytesseract.TesseractError):
            return None
        return int(osd.get("rotate", 0))
