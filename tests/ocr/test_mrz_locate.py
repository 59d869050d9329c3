"""Locating and reading the MRZ band: pure pieces with fake engines, and a few runs of
the real Tesseract on generated cards."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from ocr import mrz as reader
from ocr.engine import OcrText

OCRB = Path("/usr/share/fonts/opentype/ocr-b/OCRB.otf")
MONO = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf")
FONTS = [p for p in (OCRB, MONO) if p.exists()]
TD3 = [
    "P<FRAULYSSE<<CHRISTOPHE<<<<<<<<<<<<<<<<<<<<<",
    "08CD503380FRA6004103M1806058<<<<<<<<<<<<<<06",
]
TD1 = [
    "IDFRAX4RTBPFW46<<<<<<<<<<<<<<<",
    "9007138F3002119FRA<<<<<<<<<<<6",
    "MARTIN<<MAELYS<GAELLE<MARIE<<<",
]


def card(
    lines: list[str],
    font: Path = FONTS[0],
    pitch: int = 30,
    angle: float = 0.0,
    size: tuple[int, int] | None = None,
) -> Image.Image:
    """A card-like page with some text and an MRZ at the bottom, one cell per char."""
    width = size[0] if size else pitch * (len(lines[0]) + 4)
    height = size[1] if size else int(width * 0.63)
    im = Image.new("RGB", (width, height), (232, 236, 242))
    d = ImageDraw.Draw(im)
    text = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", pitch // 2)
    for i, words in enumerate(["RÉPUBLIQUE FRANÇAISE", "NOM / Surname", "Prénoms", "Sexe F"]):
        d.text((pitch * 2, pitch + i * pitch * 1.3), words, font=text, fill=(30, 30, 60))
    probe = ImageFont.truetype(str(font), 100).getlength("M") / 100
    mono = ImageFont.truetype(str(font), round(pitch / probe))
    top = height - pitch * 1.5 * len(lines) - pitch
    for i, line in enumerate(lines):
        for j, char in enumerate(line):
            d.text(
                (pitch * 2 + j * pitch, top + i * pitch * 1.5), char, font=mono, fill=(10, 10, 10)
            )
    if angle:
        im = im.rotate(angle, expand=True, fillcolor=(250, 250, 250))
    return im


# ------------------------------------------------------------------------ locating


@pytest.mark.parametrize("lines", [TD1, TD3], ids=["td1", "td3"])
@pytest.mark.parametrize("angle", [0.0, 4.0])
def test_the_band_is_found_with_its_lines(lines, angle):
    gray = np.asarray(card(lines, angle=angle).convert("L"))
    bands = reader.find_bands(reader.find_lines(gray))
    assert bands, "no band"
    band = bands[0]
    assert len(band.lines) == len(lines)
    assert abs(band.angle - angle) < 1.5 or abs(band.angle + angle) < 1.5
    cut = reader.cut_lines(gray, band)
    assert [c.shape[0] for c in cut] == [reader.CHAR_HEIGHT] * len(lines)
    assert all(reader.char_count(c) == len(lines[0]) for c in cut)


def test_a_page_without_mrz_has_no_mrz_like_band():
    im = Image.new("RGB", (1000, 640), "white")
    d = ImageDraw.Draw(im)
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 22)
    for i in range(8):
        d.text((40, 40 + i * 60), "Adresse : 12 rue des Lilas, 80000 Amiens", font=font, fill=0)
    gray = np.asarray(im.convert("L"))
    for band in reader.find_bands(reader.find_lines(gray)):
        assert not reader.mrz_like(reader.prepare(reader.cut_lines(gray, band)))


@pytest.mark.parametrize("font", FONTS, ids=[f.stem for f in FONTS])
def test_fillers_are_told_from_letters_by_shape(font):
    lines = [("P<UTOERIKSSON<<ANNA<MARIA<KK" + "<" * 44)[:44]]
    gray = np.asarray(card(lines, font=font).convert("L"))
    band = reader.Band(tuple(reader.find_lines(gray)[:1]), 1.0)
    (line,) = reader.cut_lines(gray, band)
    mask = reader.filler_mask(line, 44)
    assert mask is not None
    truth = [c == "<" for c in lines[0]]
    # no letter is ever taken for a filler; fillers are found (OCR-B's chevron)
    assert not any(m and not t for m, t in zip(mask, truth, strict=True))
    if font == OCRB:
        assert mask == truth


def test_align_puts_fillers_and_drops_chevron_garbage():
    mask = [c == "<" for c in "ANDRE<<MANON<<<<<<<<<<<<<<<<<<"]
    assert reader.align("ANDREXK<MANONK<K<<<<<SSSSSSSESS", mask) == (
        "ANDRE<<MANON<<<<<<<<<<<<<<<<<<"
    )
    assert reader.expand("ANDREMANON", mask) == "ANDRE<<MANON<<<<<<<<<<<<<<<<<<"
    options, guessed = reader.expand_options("ANDREEMANON", mask)
    assert guessed and "ANDRE<<MANON<<<<<<<<<<<<<<<<<<" in options
    assert reader.expand_options("ANDREMANON", mask) == (["ANDRE<<MANON<<<<<<<<<<<<<<<<<<"], False)


# --------------------------------------------------------------- reading, scripted


@dataclass
class ScriptedEngine:
    """Returns the given texts in turn from read_block (a fake Tesseract)."""

    texts: list[str]
    name: str = "scripted"
    seen: list[tuple[int, int]] = field(default_factory=list)

    def read_block(self, image):
        self.seen.append(image.size)
        text = self.texts.pop(0) if self.texts else ""
        return OcrText(text, 90.0)

    def read_page(self, image, *, lang="fra", psm=3):
        return self.read_block(image)

    def read_field(self, image, *, lang="eng", psm=7):
        return OcrText("")


def _judge(lines):
    from validators import mrz

    return mrz.judge(lines, dt.date(2026, 9, 1))


def test_read_stops_at_the_first_trusted_reading():
    engine = ScriptedEngine(["P<FRAULYSSE<<CHRISTOPHE\n08CD503380FRA6004103M1806058<<06"])
    scan = reader.read_mrz([card(TD3)], engine, _judge)
    assert scan.found and scan.lines == TD3 and scan.attempts == 1 and scan.page == 0


def test_a_repaired_reading_needs_a_second_read_to_agree():
    noisy = "P<FRAULYSSE<<CHRISTOPHE\n08CD5O3380FRA6004103M1806058<<06"  # O for 0
    engine = ScriptedEngine([noisy, noisy])
    scan = reader.read_mrz([card(TD3)], engine, _judge)
    assert scan.found and scan.attempts == 2 and scan.confirmed_by
    lone = ScriptedEngine([noisy, "garbage\nmore garbage here"])
    scan = reader.read_mrz([card(TD3)], lone, _judge, deadline_s=5)
    assert not scan.found and scan.unconfirmed


def test_nothing_readable_gives_no_lines_and_keeps_what_was_read():
    engine = ScriptedEngine(["ABCDEF\nGHIJKL"] * 20)
    scan = reader.read_mrz([card(TD1)], engine, _judge, deadline_s=5)
    assert not scan.found and scan.lines is None
    assert scan.attempts >= 1 and scan.pages_with_band == [0]


def test_the_mrz_side_is_found_on_either_page():
    recto = Image.new("RGB", (1011, 638), (232, 236, 242))
    engine = ScriptedEngine(["\n".join(TD1)])
    scan = reader.read_mrz([recto, card(TD1)], engine, _judge)
    assert scan.found and scan.page == 1


def test_page_content_tells_blank_from_printed():
    blank = reader.page_content(Image.new("RGB", (1000, 630), "white"))
    printed = reader.page_content(card(TD1))
    assert blank["std"] < 2 and blank["edges"] == 0
    assert printed["std"] > 12 and printed["edges"] > 0.01


# ------------------------------------------------------------ cell by cell, scripted

HOCR = """<span class='ocr_line' id='line_1_1' title="bbox 44 37 470 69">
 <span class='ocrx_word' id='word_1_1' title='bbox 44 37 470 69; x_wconf 39'>
  <span class='ocrx_cinfo' title='x_bboxes 44 40 59 68; x_conf 99.02'>I</span>
   <span class='ocrx_cinfo' id='lstm_choices_1_1_1'>
    <span class='ocrx_cinfo' id='choice_1_1_1' title='x_confs 92.3'>I</span>
    <span class='ocrx_cinfo' id='choice_1_1_2' title='x_confs 0'>1</span>
   </span>
  <span class='ocrx_cinfo' title='x_bboxes 217 37 237 69; x_conf 97.6'>O</span>
   <span class='ocrx_cinfo' id='lstm_choices_1_1_7'>
    <span class='ocrx_cinfo' id='choice_1_1_26' title='x_confs 89.8'>O</span>
    <span class='ocrx_cinfo' id='choice_1_1_27' title='x_confs 63.4'>9</span>
   </span>
<span class='ocr_line' id='line_1_2' title="bbox 44 100 470 130">
  <span class='ocrx_cinfo' title='x_bboxes 50 100 60 130; x_conf 80'>&lt;</span>
"""


def test_hocr_symbols_keep_boxes_choices_and_lines():
    from ocr.tesseract import parse_hocr_symbols

    first, second, third = parse_hocr_symbols(HOCR)
    assert (first.char, first.box, first.line) == ("I", (44, 40, 59, 68), 0)
    assert first.choices == (("I", 92.3), ("1", 0.0))
    assert second.choices == (("O", 89.8), ("9", 63.4)) and second.confidence == 97.6
    assert (third.char, third.line, third.choices) == ("<", 1, ())


@dataclass
class SymbolEngine:
    """A fake Tesseract for cell reads: it "reads" the compacted band by placing one
    symbol per character cell, from ``texts`` (the characters of each line without its
    fillers); ``extra`` adds a second symbol in a cell, ``drop`` leaves a cell empty,
    ``choices`` gives a cell its alternatives."""

    prep: object
    texts: list[str]
    extra: set = field(default_factory=set)
    drop: set = field(default_factory=set)
    choices: dict = field(default_factory=dict)
    calls: int = 0
    name: str = "symbols"

    def read_symbols(self, image):
        from ocr.tesseract import OcrSymbol

        self.calls += 1
        scale = (
            image.size[1] / reader._compact_layout(self.prep, binarise=False, scale=1.0)[0].shape[0]
        )
        _, rows, slots = reader._compact_layout(self.prep, binarise=False, scale=scale)
        out = []
        for li, ((y0, y1), spots, text) in enumerate(zip(rows, slots, self.texts, strict=True)):
            for (x0, x1, ci), char in zip(spots, text, strict=True):
                if (li, ci) in self.drop:
                    continue
                box = (round(x0) + 1, round(y0), round(x1) - 1, round(y1))
                picks = self.choices.get((li, ci), ((char, 93.0),))
                out.append(OcrSymbol(char, box, 93.0, picks, li))
                if (li, ci) in self.extra:
                    mid = (box[0] + box[2]) // 2
                    out[-1] = OcrSymbol(char, (box[0], box[1], mid, box[3]), 93.0, picks, li)
                    out.append(OcrSymbol("I", (mid + 1, box[1], box[2], box[3]), 60.0, (), li))
        return out, False

    def read_block(self, image):
        raise AssertionError("no whole-band read expected")

    def read_page(self, image, *, lang="fra", psm=3):
        return OcrText("")

    def read_field(self, image, *, lang="eng", psm=7):
        return OcrText("")


def _td1_band():
    gray = np.asarray(card(TD1).convert("L"))
    band = reader.find_bands(reader.find_lines(gray))[0]
    prep = reader.cell_band(reader.cut_lines(gray, band))
    assert prep is not None
    return prep


def _unfilled(lines):
    return [ln.replace("<", "") for ln in lines]


def test_symbols_are_bound_to_the_cells_under_them():
    prep = _td1_band()
    engine = SymbolEngine(prep, _unfilled(TD1), extra={(0, 7)}, drop={(0, 9)})
    read = reader.read_cells(engine, prep)
    assert read is not None and read.variant == "cells-grey"
    line = read.cells[0]
    assert line[7].count == 2 and line[7].char == ""  # two symbols in one cell
    assert line[9].count == 0 and line[9].char == ""  # nothing in this one
    # the others kept their place: a doubled or dropped character shifts nothing
    assert [c.char for c in line[10:15]] == list(TD1[0][10:15])
    assert read.lines()[1] == TD1[1] and read.lines()[2] == TD1[2]
    # the same character printed twice looks the same; different ones do not
    assert read.alike((1, 0), (1, 14)) > 0.9  # "9" and "9" (birth, expiry check)
    assert read.alike((0, 5), (0, 6)) < 0.85  # "X" and "4"


def _resolve(cells):
    from validators import mrz

    return mrz.resolve_cells(cells, reference=dt.date(2026, 9, 1))


def test_a_td1_band_read_cell_by_cell_stops_at_a_sure_reading():
    prep = _td1_band()
    engine = SymbolEngine(prep, _unfilled(TD1))
    scan = reader.read_mrz([card(TD1)], engine, _judge, resolve=_resolve)
    assert scan.found and scan.lines == TD1 and scan.method == "cells-grey"
    assert engine.calls == 1 and scan.attempts == 1


def test_a_doubtful_td1_reading_is_left_pending_never_guessed():
    prep = _td1_band()
    # Tesseract hesitates on a number cell, on every read: nothing is trusted, the
    # readings are kept for a confirmation from elsewhere, no other read is tried
    hesitant = {(0, 8): (("T", 90.0), ("Z", 45.0))}
    engine = SymbolEngine(prep, _unfilled(TD1), choices=hesitant)
    scan = reader.read_mrz([card(TD1)], engine, _judge, resolve=_resolve)
    assert not scan.found and engine.calls == len(reader.CELL_READS)
    assert len(scan.pending) == len(reader.CELL_READS)
    result, page, rotation = scan.pending[0]
    assert result.lines == tuple(TD1) and not result.sure and result.doubtful == ((0, 8),)
    assert (page, rotation) == (0, 0)


# ------------------------------------------------------------------ real Tesseract


@pytest.mark.ocr
@pytest.mark.parametrize(
    ("lines", "turn"),
    [(TD1, 0), (TD3, 180), (TD1, 90)],
    ids=["td1", "td3-upside-down", "td1-quarter-turn"],
)
def test_tesseract_reads_generated_bands(lines, turn):
    from ocr.tesseract import TesseractEngine

    page = card(lines, angle=1.0)
    if turn:
        page = page.rotate(turn, expand=True)
    scan = reader.read_mrz([page], TesseractEngine(timeout_s=20), _judge)
    assert scan.found, scan.candidates[:3]
    assert scan.lines == lines
    assert scan.rotation == (turn if turn in (90, 270) else 0)


@pytest.mark.ocr
def test_tesseract_reads_a_td1_band_cell_by_cell():
    from ocr.tesseract import TesseractEngine

    scan = reader.read_mrz(
        [card(TD1, angle=1.0)], TesseractEngine(timeout_s=20), _judge, resolve=_resolve
    )
    if not scan.found:  # doubtful: the readings wait for the other side
        assert scan.pending and scan.pending[0][0].lines in (tuple(TD1), None)
        return
    assert scan.lines == TD1 and scan.method.startswith("cells-")
