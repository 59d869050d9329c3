"""ocr.fields: text layer first, OCR rows, labelled fields, crops, glyph arbitration."""

from __future__ import annotations

import math
import random

import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from ocr import fields as F
from ocr.engine import OcrText, OcrWord
from tests.validators.test_cvec import CVEC_LINES, FakeEngine, image_doc, ocr_text, text_doc
from validators.base import Kind

FONTS = "/usr/share/fonts/truetype/dejavu/"
INE = F.FieldSpec(
    "ine",
    ("Numéro INE", "INE", "Identifiant national"),
    __import__("re").compile(r"([0-9A-Z]{11})"),
)


def test_fold_and_tolerant_tokens():
    assert F.fold("N° d’attestation :") == "N D ATTESTATION"
    assert F.fold("Né(e) le") == "NE E LE"
    assert F._close("ATTESTATION", "ATTESTATLON")  # one OCR slip on a long word
    assert not F._close("INE", "ONE")  # short words must match exactly
    assert not F._close("ATTESTATION", "ATTENTION")


def test_text_layer_first_then_ocr_then_nothing():
    layer = F.read_document(text_doc(Kind.CVEC, CVEC_LINES), FakeEngine(lines=["x"]))
    assert layer.source == F.TEXT_LAYER and "AMI4 K8O1TZ 27" in layer.text
    engine = FakeEngine(lines=CVEC_LINES)
    scanned = F.read_document(image_doc(Kind.CVEC), engine)
    assert scanned.source == F.OCR and engine.calls == [("page", (1240, 1754))]
    assert scanned.rows[6].text == "INE : 0100008010J"
    assert F.read_document(image_doc(Kind.CVEC), None).source == F.NONE


def test_page_is_reduced_to_about_150_dpi_for_the_page_reading():
    engine = FakeEngine(lines=CVEC_LINES)
    text = F.read_document(image_doc(Kind.CVEC, (2480, 3508)), engine)
    (call,) = engine.calls
    assert abs(call[1][0] * call[1][1] - F.PAGE_AREA) / F.PAGE_AREA < 0.01
    # boxes are given back in the full-resolution image's pixels
    first = text.rows[0].words[0]
    assert first.box[0] == 120 and text.pages[0].image.size == (2480, 3508)


def test_label_and_value_far_apart_are_one_row_even_when_skewed():
    angle = math.radians(2.5)
    words = []
    for line, y in ((1, 300), (2, 300), (3, 380), (4, 380)):
        x = 100 if line in (1, 3) else 1400
        text = {1: "INE", 2: "0100008010J", 3: "Nom", 4: "LEFEVRE"}[line]
        words.append(OcrWord(text, 90, (x, round(y + x * math.tan(angle)), 200, 30), line=line))
    # a long line elsewhere gives the skew
    for i in range(6):
        x = 100 + 250 * i
        words.append(OcrWord(f"mot{i}", 90, (x, round(800 + x * math.tan(angle)), 200, 30), 9))
    skew = F.measure_skew(words)
    assert abs(skew - angle) < 0.002
    rows = F.group_rows(words, 0, skew)
    assert [r.text for r in rows][:2] == ["INE 0100008010J", "Nom LEFEVRE"]
    # without the skew correction the far value would land on the wrong row
    assert [r.text for r in F.group_rows(words, 0, 0.0)][:2] != ["INE 0100008010J", "Nom LEFEVRE"]


def test_find_tolerates_accents_slips_and_next_row():
    text = F.DocumentText(
        [
            F.PageText(
                0,
                F.TEXT_LAYER,
                F.text_layer_rows("Numero lNE : 0100008010J\nIdentifiant national\n1234567890V", 0),
            )
        ]
    )
    hits = F.find(text, INE)
    assert [h.value for h in hits] == ["1234567890V"]  # "lNE" is not "INE": short words exact
    text.pages[0].rows[0] = F.Row("Numéro INE : 0100008010J", 0)
    hits = F.find(text, INE)
    assert [h.value for h in hits] == ["0100008010J", "1234567890V"]
    assert hits[0].label == "Numéro INE"


def test_accept_filters_prose():
    spec = F.FieldSpec(
        "code",
        ("attestation",),
        __import__("re").compile(r"([A-Za-z]{4,})"),
        accept=lambda v: v.isupper(),
    )
    rows = F.text_layer_rows("Cette attestation est valable\nAttestation : ABCDEF", 0)
    text = F.DocumentText([F.PageText(0, F.TEXT_LAYER, rows)])
    assert [h.value for h in F.find(text, spec)] == ["ABCDEF"]


class _Rotated(FakeEngine):
    """Reads the attestation only when the page is upright (portrait)."""

    def read_page(self, image, *, lang="fra", psm=3):
        self.calls.append(("page", image.size))
        if image.width > image.height:
            return ocr_text(["#### ~~~ ####"])
        return ocr_text(self.lines)


class _WithOsd(_Rotated):
    def orientation(self, image):
        self.calls.append(("osd", image.size))
        return 90


def test_a_turned_page_is_turned_back():
    engine = _Rotated(lines=CVEC_LINES)
    text = F.read_document(
        image_doc(Kind.CVEC, (1754, 1240)), engine, labels=("N° d’attestation", "INE")
    )
    assert text.pages[0].rotation in (90, 270)
    assert "0100008010J" in text.text
    assert [c[0] for c in engine.calls] == ["page", "page", "page"]  # 0°, 180°, then 90°
    osd = _WithOsd(lines=CVEC_LINES)
    text = F.read_document(image_doc(Kind.CVEC, (1754, 1240)), osd, labels=("INE",))
    assert [c[0] for c in osd.calls] == ["page", "osd", "page"]
    assert text.pages[0].rotation == 270  # OSD: turn 90° clockwise
    # no labels wanted: no second try
    plain = _Rotated(lines=CVEC_LINES)
    F.read_document(image_doc(Kind.CVEC, (1754, 1240)), plain)
    assert len(plain.calls) == 1


# -- crops and glyphs ------------------------------------------------------------------------


def _render(text: str, font: str = "DejaVuSans-Bold.ttf", size: int = 40, above: str = ""):
    face = ImageFont.truetype(FONTS + font, size)
    image = Image.new("L", (60 + int(face.getlength(text)) + 60, size * 4), 255)
    draw = ImageDraw.Draw(image)
    if above:
        draw.text((40, 4), above, font=face, fill=0)
    draw.text((60, size * 2), text, font=face, fill=0)
    left, top, right, bottom = draw.textbbox((60, size * 2), text, font=face)
    return image, (left, top, right - left, bottom - top)


def _page_with(image, box) -> tuple[F.PageText, list[OcrWord]]:
    words = [OcrWord("x", 90, box, 1)]
    return F.PageText(0, F.OCR, [], image=image), words


def test_crop_keeps_the_code_line_only():
    image, box = _render("0100008010J", above="Né le 01/02/2003")
    # Tesseract's box is loose: it reaches into the line above
    loose = (box[0], box[1] - 30, box[2], box[3] + 30)
    page, words = _page_with(image, loose)
    crop = F.crop_for(page, words, height=40)
    assert len(F.glyphs_of(crop)) == 11


def test_crop_straightens_a_skewed_line():
    image, _ = _render("AMI4 K8O1TZ 27")
    big = image.rotate(-2.0, expand=True, fillcolor=255)  # text now slopes down to the right
    page = F.PageText(0, F.OCR, [], image=big, skew=math.radians(2.0))
    words = [OcrWord("x", 90, (30, 0, big.width - 60, big.height), 1)]
    crop = F.crop_for(page, words)
    assert len(F.code_glyphs(crop)) == 12


@pytest.mark.parametrize("font", ["DejaVuSans-Bold.ttf", "DejaVuSans.ttf", "DejaVuSerif-Bold.ttf"])
@pytest.mark.parametrize("size", [24, 40])
def test_arbitrate_settles_confusable_pairs(font, size):
    truth = "AMI4K8O1TZ27"
    image, _ = _render("AMI4 K8O1TZ 27 / DUPON", font, size)
    image = image.filter(ImageFilter.GaussianBlur(0.6))
    misread = "AMI4KB01T227"  # 8→B, O→0, Z→2: what OCR does
    decided = F.arbitrate(image, misread)
    assert decided is not None
    fixed = "".join(d or c for d, c in zip(decided, misread, strict=True))
    assert fixed == truth, (decided, fixed)
    # it never answers outside a character's pair
    assert all(d is None or d in F.PAIRS[c] for d, c in zip(decided, misread, strict=True))


def test_arbitrate_i_and_1_and_g_and_6():
    image, _ = _render("1I6G1LS5", size=40)
    decided = F.arbitrate(image, "I16GI15S")
    assert "".join(d or "?" for d in decided) == "1I6G1LS5"


def test_arbitrate_needs_a_one_to_one_match():
    image, _ = _render("0100008010J")
    assert F.arbitrate(image, "010000801J") is None  # a character lost by the reading
    assert F.arbitrate(None, "0100008010J") is None


def test_monospaced_faces_give_no_width_verdict():
    image, _ = _render("AMI4 K8O1TZ 27", "DejaVuSansMono-Bold.ttf", 40)
    decided = F.arbitrate(image, "AMI4K801TZ27")
    assert decided is not None
    assert decided[6] is None  # O and 0 have the same width there


def test_stacked_crops_are_read_in_one_call():
    class Boxes(FakeEngine):
        def read_field(self, image, *, lang="eng", psm=7):
            self.calls.append(("field", image.size, psm))
            top, bottom = self.spans
            return OcrText(
                "ABC\nDEF",
                90,
                (
                    OcrWord("ABC", 90, (30, top[0] + 5, 60, 20), 1),
                    OcrWord("DEF", 80, (30, bottom[0] + 5, 60, 20), 2),
                ),
            )

    crops = [("one", Image.new("L", (300, 60), 255)), ("two", Image.new("L", (200, 50), 255))]
    _, spans = F.stack([c for _, c in crops])
    engine = Boxes()
    engine.spans = spans
    out = F.read_crops(crops, engine)
    assert {k: v.text for k, v in out.items()} == {"one": "ABC", "two": "DEF"}
    assert len(engine.calls) == 1 and engine.calls[0][2] == 6
    single = FakeEngine(fields=["XYZ"])
    assert F.read_crops(crops[:1], single)["one"].text == "XYZ"
    assert F.read_crops(crops, None) == {}


def test_clean_code():
    assert F.clean_code("8647082837)") == "8647082837J"
    assert F.clean_code("1080CG1AX|4 :") == "1080CG1AXI4"
    assert F.clean_code("REN4 GY468J] 28") == "REN4 GY468J 28"
    assert F.clean_code("LIL4 BX9KM8& 15 / TRAOR") == "LIL4 BX9KM8 15 / TRAOR"


# -- the real engine ------------------------------------------------------------------------


@pytest.mark.ocr
@pytest.mark.slow
def test_tesseract_reads_a_generated_scan_and_its_fields():
    from ocr.tesseract import TesseractEngine
    from samples import documents as gen

    sample, data, _ = gen.make_sample(
        random.Random(7), name="t", kind="cvec", form="scan_jpg", degradation="clean"
    )
    import io

    image = Image.open(io.BytesIO(data)).convert("RGB")
    doc = F.DocumentText([F.ocr_page(image, TesseractEngine(timeout_s=30), 0)])
    assert "CVEC" in doc.text
    spec = F.FieldSpec(
        "ine",
        ("Numéro INE", "INE"),
        __import__("re").compile(r"([0-9A-Z]{11})"),
    )
    (hit,) = F.find(doc, spec)[:1]
    crop = F.hit_crop(doc, hit)
    assert crop is not None
    read = F.read_crops([("ine", crop)], TesseractEngine(timeout_s=30))["ine"]
    truth = sample.fields["ine"]
    # the page reading or the crop reading, with the glyph shapes, gives the INE
    candidates = []
    for text in (hit.value, F.clean_code(read.text).replace(" ", "")[:11]):
        decided = F.arbitrate(crop, text) or [None] * len(text)
        candidates.append("".join(d or c for d, c in zip(decided, text, strict=False)))
    assert truth in candidates, (truth, candidates, hit.value, read.text)


def test_flatten_takes_out_uneven_lighting():
    import numpy as np

    image, box = _render("0100008010J", size=40)
    ramp = np.linspace(90, 255, image.width, dtype=np.float32)[None, :]
    lit = Image.fromarray((np.asarray(image, dtype=np.float32) * ramp / 255).astype(np.uint8))
    flat = np.asarray(F.flatten(lit, factor=2), dtype=np.float32)
    paper = flat[5:20, :]  # a band without ink
    assert paper.min() > 200  # the dark side is paper-white again
    x, y, w, h = box
    assert flat[y : y + h, x : x + w].min() < 80  # the ink stays dark
    plain, _ = _render("0100008010J", size=40)
    assert np.array_equal(np.asarray(F.flatten(plain)), np.asarray(plain))  # flat: unchanged


def test_touching_glyphs_are_cut_apart():
    face = ImageFont.truetype(FONTS + "DejaVuSans-Bold.ttf", 40)
    image = Image.new("L", (260, 100), 255)
    draw = ImageDraw.Draw(image)
    x = 20
    for c in "4TV8":
        draw.text((x, 30), c, font=face, fill=0)
        # T and V drawn into each other (blur or bold type makes them touch)
        x += int(face.getlength(c)) - (6 if c == "T" else -4)
    assert len(F.glyphs_of(image)) == 4
