from __future__ import annotations

import pytest
from PIL import Image, ImageDraw, ImageFont

from ocr.tesseract import TesseractEngine

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def _line(text: str, size: int = 48) -> Image.Image:
    font = ImageFont.truetype(FONT, size)
    im = Image.new("RGB", (60 + size * len(text) * 2 // 3, size * 2), "white")
    ImageDraw.Draw(im).text((30, size // 2), text, fill="black", font=font)
    return im


@pytest.mark.ocr
def test_reads_a_clean_field_and_gives_word_boxes():
    result = TesseractEngine(timeout_s=20).read_field(_line("INE 0100008010J"))
    assert "0100008010" in result.text.replace(" ", "")  # the key letter is for repair
    assert not result.timed_out and result.words
    assert all(w.box[2] > 0 for w in result.words)


@pytest.mark.ocr
def test_page_in_french():
    result = TesseractEngine(timeout_s=20).read_page(_line("Année universitaire"), psm=6)
    assert "universitaire" in result.text


@pytest.mark.ocr
def test_timeout_is_a_result_not_an_exception():
    big = Image.effect_noise((3000, 3000), 80).convert("RGB")
    result = TesseractEngine(timeout_s=0.01).read_page(big)
    assert result.timed_out and result.empty
