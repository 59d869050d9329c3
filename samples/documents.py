"""Seeded generator of synthetic enrolment documents with their truth.

CVEC attestations, bac transcripts and JDC certificates for **fictitious** people, as
born-digital PDFs (a real text layer, DejaVu fonts embedded) and as scans (image-only
PDF or JPG at 150–300 dpi with noise, 1–3° skew, JPEG compression, phone lighting).
Codes mix the confusable characters (0/O, 1/I, 8/B, 5/S, 2/Z, 6/G) on purpose. Each
document comes with ``<name>.json`` (the truth: fields, degradation, the student
record, what the check should say) and ``<name>.student.json`` (the record alone, for
``justif check --student``).

    python samples/documents.py --out DIR --n N --seed S [--kinds cvec,bac,jdc]
        [--forms digital,scan_pdf,scan_jpg] [--year 2024-2025] [--traps 0.2]

The layouts are invented (no real attestation was copied); the CVEC number follows the
tolerant pattern of domain.md §3.6 (``AAAd XXXXXX dd / NOMXX``).
"""

from __future__ import annotations

import argparse
import ctypes
import datetime as dt
import io
import json
import logging
import random
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONTS = {
    "sans": "DejaVuSans.ttf",
    "bold": "DejaVuSans-Bold.ttf",
    "serif": "DejaVuSerif.ttf",
    "serif-bold": "DejaVuSerif-Bold.ttf",
    "mono": "DejaVuSansMono.ttf",
    "mono-bold": "DejaVuSansMono-Bold.ttf",
}
A4 = (595.28, 841.89)  # points
MM = 72 / 25.4

KINDS = ("cvec", "bac", "jdc")
FORMS = ("digital", "scan_pdf", "scan_jpg")
DEGRADATIONS = ("clean", "noise", "skew", "jpeg", "lighting", "lowres", "combo")


def _split(names: str) -> tuple[str, ...]:
    return tuple(names.split("|"))


# -- fictitious people ---------------------------------------------------------------------

LAST_NAMES = _split(
    "Martin|Lefèvre|Dubois-Ferrand|N’Diaye|Girard|Lemaître|Boulanger|Château|"
    "Da Silva|Nguyen|Benali|Roussel|Fontaine|Le Goff|Moreau-Lévêque|Bertin|Caron|"
    "Vasseur|Delacroix|Hoarau|Traoré|Pruvost|Lagarde|Kowalski|Ozturk|Mbappé-Sow|"
    "Legrand|Duchêne|Salaün|Courtois"
)
FIRST_NAMES = _split(
    "Maëlys|Jean-Baptiste|Chloé|Noah|Inès|Théo|Zoé|Léa|Hugo|Amélie|Yanis|Clémence|"
    "Bastien|Océane|Mathis|Éloïse|Sofiane|Juliette|Aurélien|Lina|Gaëtan|Nadia|Rémi|"
    "Anaïs|Kévin|Maël|Capucine|Ibrahim|Solène|Loïc"
)
CROUS = ("AMI", "VER", "AIX", "PAR", "LIL", "CRE", "REN", "LYO", "NAN", "BOR")
CONFUSABLES = "0O1I8B5S2Z6G"


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed.upper() if "A" <= c <= "Z")


@dataclass
class Person:
    last_name: str
    first_name: str
    birth_date: dt.date
    civility: str

    @classmethod
    def random(cls, rng: random.Random, *, born_after: int = 1996) -> Person:
        born = dt.date(born_after, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 9))
        first = rng.choice(FIRST_NAMES)
        return cls(rng.choice(LAST_NAMES), first, born, rng.choice(("M.", "Mme")))


# -- identifiers --------------------------------------------------------------------------

BEA_ALPHABET = "ABCDEFGHJKLMNPRSTUVWXYZ"
RNIE_LETTERS = "ABCDEFGHJK"


def _digits(rng: random.Random, n: int) -> str:
    # 0, 1, 5, 8 over-represented: they are the ones OCR and typing confuse
    return "".join(rng.choice("0011558823467 9".replace(" ", "")) for _ in range(n))


def make_ine(rng: random.Random, family: str) -> str:
    if family == "bea":
        while True:
            body = _digits(rng, 10)
            if len(set(body)) > 1:
                return body + BEA_ALPHABET[int(body) % 23]
    if family == "base36":
        pool = "0O1I8B5S2Z6G" + "0123456789ACEHKMRTX"
        while True:
            body = "".join(rng.choice(pool) for _ in range(10))
            if body.isalpha() or (body.isdigit() and len(set(body)) == 1):
                continue
            key = (6 * sum(int(c, 36) for c in body[:9]) + int(body[9], 36)) % 10
            return body + str(key)
    if family == "rnie":
        body = _digits(rng, 9)
        k = 97 - int(body) % 97
        return body + RNIE_LETTERS[k // 10] + RNIE_LETTERS[k % 10]
    if family in ("provisoire", "sifa"):
        letter = "D" if family == "provisoire" else "A"
        return _digits(rng, 4) + letter + _digits(rng, 5) + rng.choice(BEA_ALPHABET)
    raise ValueError(family)


def make_cvec_number(rng: random.Random, last_name: str, year: str) -> tuple[str, str]:
    """(normalised number, printed form with the `/ NOMXX` suffix)."""
    prefix = rng.choice(CROUS) + year[3]
    pool = "ABCDEFGHJKLMNPRTUVWXY" + "0123456789" + CONFUSABLES
    while True:
        block = "".join(rng.choice(pool) for _ in range(6))
        if sum(c in CONFUSABLES for c in block) >= 2:
            break
    tail = f"{rng.randrange(0, 100):02d}"
    number = prefix + block + tail
    suffix = fold(last_name)[:5]
    return number, f"{prefix} {block} {tail} / {suffix}"


def swap_one_confusable(rng: random.Random, value: str, start: int = 0) -> str | None:
    """``value`` with one 0↔O or 1↔I swapped (what a student mistypes), or None."""
    pairs = {"0": "O", "O": "0", "1": "I", "I": "1"}
    spots = [i for i, c in enumerate(value) if i >= start and c in pairs]
    if not spots:
        return None
    i = rng.choice(spots)
    return value[:i] + pairs[value[i]] + value[i + 1 :]


# -- drawing: one description, a PDF with a text layer ---------------------------------------


@dataclass
class Text:
    x: float  # mm from the left
    y: float  # mm from the top (baseline)
    text: str
    size: float = 10.0
    font: str = "sans"


@dataclass
class Box:
    x: float
    y: float  # mm from the top (upper edge)
    w: float
    h: float
    fill: int | None = None  # grey level 0–255, None = outline only
    stroke: bool = True


@dataclass
class Layout:
    items: list[Text | Box] = field(default_factory=list)

    def text(self, x: float, y: float, text: str, size: float = 10, font: str = "sans") -> None:
        self.items.append(Text(x, y, text, size, font))

    def box(self, x: float, y: float, w: float, h: float, **kw: Any) -> None:
        self.items.append(Box(x, y, w, h, **kw))


_CHARSET = (
    "".join(chr(c) for c in range(32, 127))
    + "".join(chr(c) for c in range(0xA0, 0x180))
    + "\u2019\u2018\u201c\u201d\u2013\u2014\u2026\u20ac\u00ab\u00bb\u00b0\u2022\u0152\u0153\u0178"
)


@cache
def _font_bytes(name: str) -> bytes:
    """The DejaVu font subset to Latin-1 and French punctuation (~60 KB instead of
    ~750 KB per embedded font)."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    logging.getLogger("fontTools").setLevel(logging.ERROR)
    options = subset.Options()
    options.name_IDs = ["*"]
    options.notdef_outline = True
    font = TTFont(str(FONT_DIR / FONTS[name]))
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[ord(c) for c in _CHARSET])
    subsetter.subset(font)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


@cache
def _pil_font(name: str) -> Any:
    from PIL import ImageFont

    return ImageFont.truetype(str(FONT_DIR / FONTS[name]), 100)


def text_width_mm(text: str, size: float, font: str = "sans") -> float:
    return _pil_font(font).getlength(text) * size / 100 / MM


def build_pdf(layout: Layout, *, title: str = "") -> bytes:
    """A born-digital PDF of ``layout`` (pypdfium2: embedded fonts, real text layer)."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    doc = pdfium.PdfDocument.new()
    try:
        page = doc.new_page(*A4)
        fonts: dict[str, Any] = {}
        keep: list[Any] = []
        height = A4[1]
        for item in layout.items:
            if isinstance(item, Box):
                rect = raw.FPDFPageObj_CreateNewRect(
                    item.x * MM, height - (item.y + item.h) * MM, item.w * MM, item.h * MM
                )
                if item.fill is not None:
                    raw.FPDFPageObj_SetFillColor(rect, item.fill, item.fill, item.fill, 255)
                raw.FPDFPageObj_SetStrokeColor(rect, 0, 0, 0, 255)
                raw.FPDFPageObj_SetStrokeWidth(rect, 0.8)
                raw.FPDFPath_SetDrawMode(
                    rect,
                    raw.FPDF_FILLMODE_ALTERNATE
                    if item.fill is not None
                    else raw.FPDF_FILLMODE_NONE,
                    item.stroke,
                )
                raw.FPDFPage_InsertObject(page.raw, rect)
                continue
            if item.font not in fonts:
                data = _font_bytes(item.font)
                buf = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
                keep.append(buf)
                fonts[item.font] = raw.FPDFText_LoadFont(
                    doc.raw, buf, len(data), raw.FPDF_FONT_TRUETYPE, True
                )
            obj = raw.FPDFPageObj_CreateTextObj(doc.raw, fonts[item.font], item.size)
            text = ctypes.create_string_buffer((item.text + "\x00").encode("utf-16-le"))
            keep.append(text)
            raw.FPDFText_SetText(obj, ctypes.cast(text, ctypes.POINTER(raw.FPDF_WCHAR)))
            raw.FPDFPageObj_Transform(obj, 1, 0, 0, 1, item.x * MM, height - item.y * MM)
            raw.FPDFPage_InsertObject(page.raw, obj)
        page.gen_content()
        out = io.BytesIO()
        doc.save(out)
        for font in fonts.values():
            raw.FPDFFont_Close(font)
        return out.getvalue()
    finally:
        doc.close()


def render_pdf(data: bytes, dpi: int) -> Any:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(data)
    try:
        return doc[0].render(scale=dpi / 72).to_pil().convert("RGB")
    finally:
        doc.close()


# -- degradations --------------------------------------------------------------------------


@dataclass
class Degradation:
    name: str
    dpi: int = 300
    skew: float = 0.0
    noise: float = 0.0
    quality: int = 92
    lighting: float = 0.0  # 0 = flat, 1 = strong phone-style gradient and tint
    blur: float = 0.0


def degradation_for(name: str, rng: random.Random) -> Degradation:
    def skew() -> float:
        return rng.choice((-1, 1)) * rng.uniform(1.0, 3.0)

    if name == "clean":
        return Degradation(name, dpi=rng.choice((200, 300)))
    if name == "noise":
        return Degradation(name, dpi=rng.choice((200, 300)), noise=rng.uniform(10, 22))
    if name == "skew":
        return Degradation(name, dpi=rng.choice((200, 300)), skew=skew())
    if name == "jpeg":
        return Degradation(name, dpi=rng.choice((200, 300)), quality=rng.randrange(30, 55))
    if name == "lighting":
        return Degradation(name, dpi=rng.choice((200, 300)), lighting=rng.uniform(0.5, 1.0))
    if name == "lowres":
        return Degradation(name, dpi=150, quality=rng.randrange(70, 90))
    if name == "combo":
        return Degradation(
            name,
            dpi=rng.choice((150, 200, 300)),
            skew=skew(),
            noise=rng.uniform(6, 15),
            quality=rng.randrange(45, 75),
            lighting=rng.uniform(0.3, 0.8),
            blur=rng.uniform(0.0, 0.6),
        )
    raise ValueError(name)


def degrade(image: Any, spec: Degradation, rng: random.Random) -> Any:
    """Skew, phone lighting, blur and sensor noise on an RGB page image."""
    import numpy as np
    from PIL import Image, ImageFilter

    out = image
    if spec.skew:
        out = out.rotate(
            spec.skew, resample=Image.Resampling.BICUBIC, expand=True, fillcolor="white"
        )
    if spec.blur:
        out = out.filter(ImageFilter.GaussianBlur(spec.blur))
    arr = np.asarray(out, dtype=np.float32)
    if spec.lighting:
        h, w = arr.shape[:2]
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.1, 0.6) * h
        dist = np.sqrt(((xx - cx) / w) ** 2 + ((yy - cy) / h) ** 2)
        shade = 1.0 - spec.lighting * 0.45 * np.clip(dist / 0.9, 0, 1)
        tint = np.array([1.0, 0.97, 0.90 - 0.05 * spec.lighting], dtype=np.float32)
        arr = arr * shade[..., None] * tint + 8 * spec.lighting
    if spec.noise:
        gen = np.random.default_rng(rng.randrange(2**32))
        arr = arr + gen.normal(0, spec.noise, arr.shape[:2])[..., None]
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")


def scan(pdf: bytes, spec: Degradation, rng: random.Random) -> Any:
    return degrade(render_pdf(pdf, spec.dpi), spec, rng)


def jpeg_bytes(image: Any, quality: int, dpi: int) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, dpi=(dpi, dpi))
    return out.getvalue()


def image_pdf(jpeg: bytes, dpi: int) -> bytes:
    import img2pdf

    return img2pdf.convert(jpeg, layout_fun=img2pdf.default_layout_fun)


# -- the documents ------------------------------------------------------------------------


def _date_fr(day: dt.date) -> str:
    return day.strftime("%d/%m/%Y")


def _qr_like(layout: Layout, rng: random.Random, x: float, y: float, size: float) -> None:
    """A random square pattern where a QR code would be (not decodable)."""
    n = 21
    cell = size / n
    layout.box(x, y, size, size, stroke=False, fill=255)
    for i in range(n):
        for j in range(n):
            finder = (i < 7 or i >= n - 7) and (j < 7)
            if (finder and (i in (0, 6, n - 7, n - 1) or j in (0, 6))) or (
                not finder and rng.random() < 0.45
            ):
                layout.box(x + j * cell, y + i * cell, cell, cell, fill=0, stroke=False)


def cvec_layout(
    rng: random.Random,
    person: Person,
    *,
    ine: str,
    number_printed: str,
    year: str,
    basis: str,
    variant: int,
) -> Layout:
    start, end = year.split("-")
    lay = Layout()
    lay.box(15, 12, 180, 22, fill=225, stroke=False)
    lay.text(20, 21, "Contribution de vie étudiante et de campus", 13, "bold")
    lay.text(20, 29, "Ministère de l’Enseignement supérieur — service numérique CVEC", 8)
    lay.text(20, 48, "ATTESTATION D’ACQUITTEMENT DE LA CVEC", 15, "bold")
    year_text = rng.choice((f"{start}-{end}", f"{start} / {end}", f"{start}/{end}"))
    lay.text(20, 57, f"Année universitaire {year_text}", 11, "bold")
    y = 72
    who_last, who_first = person.last_name.upper(), person.first_name
    if variant == 0:
        lay.text(20, y, "Nom :", 10)
        lay.text(62, y, who_last, 10, "bold")
        lay.text(20, y + 7, "Prénom(s) :", 10)
        lay.text(62, y + 7, who_first, 10, "bold")
        lay.text(20, y + 14, "Né(e) le :", 10)
        lay.text(62, y + 14, _date_fr(person.birth_date), 10, "bold")
        lay.text(20, y + 21, "INE :", 10)
        lay.text(62, y + 21, ine, 11, "bold")
        y += 36
        label = "N° d’attestation :"
    else:
        lay.text(20, y, f"{person.civility} {who_last} {who_first}", 11, "bold")
        lay.text(20, y + 8, f"Né(e) le {_date_fr(person.birth_date)}", 10)
        lay.text(20, y + 16, f"Numéro INE : {ine}", 10)
        y += 30
        label = "Numéro d’attestation CVEC :"
    lay.box(17, y - 7, 176, 12, fill=245)
    lay.text(20, y + 1, label, 10)
    lay.text(20 + text_width_mm(label, 10) + 4, y + 1, number_printed, 12, "bold")
    y += 18
    if basis == "paid":
        lines = [
            "Le titulaire de cette attestation s’est acquitté de la contribution de vie",
            f"étudiante et de campus pour l’année universitaire {start}-{end}.",
            "Montant acquitté : 103 €.",
        ]
    else:
        lines = [
            "Le titulaire de cette attestation est exonéré de la contribution de vie",
            f"étudiante et de campus pour l’année universitaire {start}-{end}",
            "(motif : boursier de l’enseignement supérieur).",
        ]
    for line in lines:
        lay.text(20, y, line, 10)
        y += 6
    y += 6
    for line in (
        "Cette attestation est à présenter lors de votre inscription dans votre établissement",
        "d’enseignement supérieur. Elle est nominative et valable pour une seule année.",
    ):
        lay.text(20, y, line, 9)
        y += 5
    _qr_like(lay, rng, 160, 200, 30)
    lay.text(20, 215, f"Délivrée le {_date_fr(dt.date(int(start), 8, rng.randrange(1, 28)))}", 9)
    lay.text(20, 280, "Document généré pour des essais — personne fictive.", 7)
    return lay


def bac_layout(rng: random.Random, person: Person, *, ine: str, session: int) -> Layout:
    lay = Layout()
    lay.text(20, 20, "RÉPUBLIQUE FRANÇAISE", 9, "serif-bold")
    lay.text(
        20, 26, f"Académie d’{rng.choice(('Amiens', 'Orléans-Tours', 'Aix-Marseille'))}", 9, "serif"
    )
    lay.text(20, 42, "RELEVÉ DE NOTES", 15, "serif-bold")
    lay.text(20, 51, f"BACCALAURÉAT GÉNÉRAL — SESSION {session}", 11, "serif-bold")
    lay.text(20, 66, "Nom de famille :", 10, "serif")
    lay.text(62, 66, person.last_name.upper(), 10, "serif-bold")
    lay.text(20, 73, "Prénom(s) :", 10, "serif")
    lay.text(62, 73, person.first_name, 10, "serif-bold")
    lay.text(20, 80, "Né(e) le :", 10, "serif")
    lay.text(62, 80, _date_fr(person.birth_date), 10, "serif-bold")
    lay.text(20, 87, "N° INE :", 10, "serif")
    lay.text(62, 87, ine, 11, "bold")
    lay.box(18, 96, 174, 8, fill=230)
    lay.text(20, 101.5, "Épreuve", 9, "serif-bold")
    lay.text(140, 101.5, "Coefficient", 9, "serif-bold")
    lay.text(172, 101.5, "Note", 9, "serif-bold")
    y = 111
    for subject, coef in (
        ("Français (écrit)", 5),
        ("Français (oral)", 5),
        ("Philosophie", 8),
        ("Grand oral", 10),
        ("Spécialité 1", 16),
        ("Spécialité 2", 16),
        ("Histoire-géographie", 6),
        ("Langue vivante A", 6),
        ("Enseignement scientifique", 6),
    ):
        lay.text(20, y, subject, 9, "serif")
        lay.text(146, y, str(coef), 9, "serif")
        lay.text(172, y, f"{rng.uniform(8, 19):.1f}".replace(".", ","), 9, "serif")
        y += 6.5
    lay.text(20, y + 8, "Décision du jury : ADMIS(E)", 10, "serif-bold")
    lay.text(
        20,
        y + 15,
        f"Mention : {rng.choice(('Assez bien', 'Bien', 'Très bien', 'sans mention'))}",
        10,
        "serif",
    )
    lay.text(20, 280, "Document généré pour des essais — personne fictive.", 7)
    return lay


def jdc_layout(rng: random.Random, person: Person, *, held: dt.date) -> Layout:
    lay = Layout()
    lay.text(20, 20, "MINISTÈRE DES ARMÉES", 10, "bold")
    lay.text(20, 26, "Direction du service national et de la jeunesse", 9)
    lay.text(20, 44, "CERTIFICAT INDIVIDUEL DE PARTICIPATION", 14, "bold")
    lay.text(20, 52, "À LA JOURNÉE DÉFENSE ET CITOYENNETÉ (JDC)", 12, "bold")
    lay.text(
        20, 70, f"{person.civility} {person.last_name.upper()} {person.first_name}", 11, "bold"
    )
    lay.text(20, 78, f"né(e) le {_date_fr(person.birth_date)}", 10)
    lay.text(20, 90, f"a participé le {_date_fr(held)} à la journée défense et citoyenneté", 10)
    lay.text(20, 97, "au centre du service national de Picardie.", 10)
    lay.text(
        20, 112, "Ce certificat est à conserver : il est exigé pour s’inscrire aux examens et", 9
    )
    lay.text(20, 117, "concours soumis au contrôle de l’autorité publique avant 25 ans.", 9)
    lay.text(20, 280, "Document généré pour des essais — personne fictive.", 7)
    return lay


# -- one sample ---------------------------------------------------------------------------

TRAPS = {
    "cvec": ("typed_cvec_confusable", "typed_ine_confusable", "inverted_name", "wrong_year"),
    "bac": ("typed_ine_confusable", "other_ine"),
    "jdc": ("other_person",),
}


@dataclass
class Sample:
    name: str
    kind: str
    form: str
    degradation: dict[str, Any]
    scenario: str
    fields: dict[str, Any]
    student: dict[str, Any]
    expected: dict[str, Any]
    file: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def make_sample(
    rng: random.Random,
    *,
    name: str,
    kind: str,
    form: str,
    degradation: str = "clean",
    scenario: str = "ok",
    year: str = "2024-2025",
) -> tuple[Sample, bytes, str]:
    """One document: (truth, file bytes, file extension)."""
    person = Person.random(rng)
    registration = dt.date(int(year[:4]), 9, rng.randrange(1, 28))
    student: dict[str, Any] = {
        "last_name": person.last_name,
        "first_name": person.first_name,
        "birth_date": person.birth_date.isoformat(),
        "academic_year": year,
        "registration_date": registration.isoformat(),
    }
    fields: dict[str, Any] = {
        "last_name": person.last_name,
        "first_name": person.first_name,
        "birth_date": person.birth_date.isoformat(),
    }
    expected: dict[str, Any] = {"outcome": "accepted", "codes": []}
    if kind == "cvec":
        family = rng.choices(("bea", "base36", "rnie", "sifa"), (6, 2, 1, 1))[0]
        ine = make_ine(rng, family)
        doc_year = year
        if scenario == "wrong_year":
            start = int(year[:4]) - 1
            doc_year = f"{start}-{start + 1}"
            expected = {"outcome": "rejected", "codes": ["cvec.year"]}
        number, printed = make_cvec_number(rng, person.last_name, doc_year)
        basis = rng.choice(("paid", "paid", "exempt"))
        shown = person
        if scenario == "inverted_name":
            shown = Person(person.first_name, person.last_name, person.birth_date, person.civility)
            expected = {"outcome": "rejected", "codes": ["cvec.inverted_name"]}
            number, printed = make_cvec_number(rng, shown.last_name, doc_year)
        layout = cvec_layout(
            rng,
            shown,
            ine=ine,
            number_printed=printed,
            year=doc_year,
            basis=basis,
            variant=rng.randrange(2),
        )
        fields.update(
            ine=ine,
            cvec_number=number,
            academic_year=doc_year,
            cvec_basis=basis,
            cvec_number_printed=printed,
            ine_family=family,
        )
        if scenario == "inverted_name":
            fields.update(last_name=shown.last_name, first_name=shown.first_name)
        student.update(ine=ine, cvec_number=number)
        if scenario == "typed_cvec_confusable":
            typed = swap_one_confusable(rng, number, start=4)
            if typed is None:
                scenario = "ok"
            else:
                student["cvec_number"] = typed
                expected = {"outcome": "not_accepted", "codes": ["cvec.number"]}
        if scenario == "typed_ine_confusable":
            typed = swap_one_confusable(rng, ine)
            if typed is None:
                scenario = "ok"
            else:
                student["ine"] = typed
                expected = {"outcome": "not_accepted", "codes": ["cvec.ine"]}
    elif kind == "bac":
        ine = make_ine(rng, "bea")
        session = person.birth_date.year + 18
        layout = bac_layout(rng, person, ine=ine, session=session)
        fields.update(ine=ine)
        student.update(ine=ine, bac_after_1995=True)
        if scenario == "typed_ine_confusable":
            typed = swap_one_confusable(rng, ine)
            if typed is None:
                scenario = "ok"
            else:
                student["ine"] = typed
                expected = {"outcome": "not_accepted", "codes": ["ine.mismatch"]}
        elif scenario == "other_ine":
            student["ine"] = make_ine(rng, "bea")
            expected = {"outcome": "not_accepted", "codes": ["ine.mismatch"]}
    elif kind == "jdc":
        held = person.birth_date + dt.timedelta(days=365 * 17 + rng.randrange(0, 300))
        layout = jdc_layout(rng, person, held=held)
        if scenario == "other_person":
            other = Person.random(rng)
            while fold(other.last_name) == fold(person.last_name):
                other = Person.random(rng)
            student.update(last_name=other.last_name, first_name=other.first_name)
            expected = {"outcome": "not_accepted", "codes": ["jdc.name"]}
    else:
        raise ValueError(kind)

    pdf = build_pdf(layout)
    spec = Degradation("born_digital", dpi=0)
    if form == "digital":
        data, ext = pdf, "pdf"
    else:
        spec = degradation_for(degradation, rng)
        image = scan(pdf, spec, rng)
        jpeg = jpeg_bytes(image, spec.quality, spec.dpi)
        data, ext = (jpeg, "jpg") if form == "scan_jpg" else (image_pdf(jpeg, spec.dpi), "pdf")
    sample = Sample(
        name=name,
        kind=kind,
        form=form,
        degradation=asdict(spec),
        scenario=scenario,
        fields=fields,
        student=student,
        expected=expected,
        file=f"{name}.{ext}",
    )
    return sample, data, ext


def plan(
    n: int,
    rng: random.Random,
    *,
    kinds: Sequence[str] = KINDS,
    forms: Sequence[str] = FORMS,
    degradations: Sequence[str] = DEGRADATIONS,
    traps: float = 0.2,
) -> list[dict[str, str]]:
    """What to generate: kinds, forms and degradations in turn (so every combination is
    covered), a share ``traps`` of documents whose record disagrees with them."""
    out = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        form = forms[(i // len(kinds)) % len(forms)]
        degradation = degradations[(i // (len(kinds) * len(forms))) % len(degradations)]
        scenario = "ok"
        if rng.random() < traps:
            scenario = rng.choice(TRAPS[kind])
        out.append({"kind": kind, "form": form, "degradation": degradation, "scenario": scenario})
    return out


def generate(
    out_dir: Path | str,
    n: int,
    seed: int,
    *,
    kinds: Sequence[str] = KINDS,
    forms: Sequence[str] = FORMS,
    degradations: Sequence[str] = DEGRADATIONS,
    traps: float = 0.2,
    year: str = "2024-2025",
) -> list[tuple[Sample, Path]]:
    """Write ``n`` documents with their truth files into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    written = []
    for i, item in enumerate(
        plan(n, rng, kinds=kinds, forms=forms, degradations=degradations, traps=traps)
    ):
        name = f"{item['kind']}-{i:04d}-{item['form']}"
        sample, data, _ = make_sample(rng, name=name, year=year, **item)
        path = out / sample.file
        path.write_bytes(data)
        (out / f"{name}.json").write_text(
            json.dumps(sample.to_json(), ensure_ascii=False, indent=2), encoding="utf-8"
        )
        (out / f"{name}.student.json").write_text(
            json.dumps(sample.student, ensure_ascii=False, indent=2), encoding="utf-8"
        )
        written.append((sample, path))
    return written


def _csv(value: str, allowed: Iterable[str]) -> list[str]:
    items = [v.strip() for v in value.split(",") if v.strip()]
    bad = [v for v in items if v not in allowed]
    if bad:
        raise argparse.ArgumentTypeError(
            f"unknown: {', '.join(bad)} (allowed: {', '.join(allowed)})"
        )
    return items


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--n", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--kinds", default=",".join(KINDS), type=lambda v: _csv(v, KINDS))
    parser.add_argument("--forms", default=",".join(FORMS), type=lambda v: _csv(v, FORMS))
    parser.add_argument(
        "--degradations", default=",".join(DEGRADATIONS), type=lambda v: _csv(v, DEGRADATIONS)
    )
    parser.add_argument("--traps", type=float, default=0.2, help="share of disagreeing records")
    parser.add_argument("--year", default="2024-2025")
    args = parser.parse_args(argv)
    written = generate(
        args.out,
        args.n,
        args.seed,
        kinds=args.kinds,
        forms=args.forms,
        degradations=args.degradations,
        traps=args.traps,
        year=args.year,
    )
    for sample, path in written:
        spec = sample.degradation["name"]
        print(f"{path}  {sample.kind:<5} {sample.form:<9} {spec:<12} {sample.scenario}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
