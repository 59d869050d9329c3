"""Synthetic identity documents with a machine-readable zone, and their truth files.

Three kinds, laid out like the public specimens (domain.md §4.6):

- ``cni_old`` — the laminated French ID card of 1988–2021 (105 × 74 mm): photo, names
  and the 2 × 36 MRZ on the recto; address, « Carte valable jusqu’au » and « délivrée
  le » on the verso;
- ``cni_td1`` — the 2021 CNIe (ID-1, 85.6 × 54 mm): photo and names on the recto; the
  3 × 30 MRZ, address and a 2D-code block on the verso;
- ``passport`` — a passport identity page (125 × 88 mm) with the 2 × 44 MRZ.

The people are invented (random common names and dates), the face is scikit-image's
astronaut (a plain oval when scikit-image is absent), the MRZ is set in OCR-B from
Debian's ``fonts-ocr-b`` (the typeface of real MRZs; DejaVu Sans Mono when it is not
installed, recorded in the truth file). Each document exists in several conditions:

- ``clean`` — a flat 300 dpi scan, JPEG quality 92;
- ``mild`` — a slightly skewed (≤ 1.5°), softened, smaller (240–300 dpi) scan, JPEG 75–88;
- ``photo`` — a phone photo of the card on a table: perspective, rotation ≤ 6°, uneven
  light, blur, noise, JPEG 70–85;
- ``rotated`` — a clean-ish scan turned by 90°, 180° or 270° (page rotations);
- ``hard`` — low resolution (≈ 150 dpi), strong blur, JPEG 40–55, rotation ≤ 10°.

Usage::

    python samples/idcards.py --out DIR --n 4 --seed 1 [--kinds cni_old,passport]
        [--conditions clean,mild]

writes, for each kind and condition, ``--n`` documents: ``<id>-recto.jpg``,
``<id>-verso.jpg`` and ``<id>.pdf`` (recto then verso, as the service's merge makes
it) for ID cards, ``<id>.jpg`` for a passport, and ``<id>.json`` (the truth: expected
fields, MRZ lines, the enrolment record to compare with). Same seed, same files.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import math
import random
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python samples/idcards.py` from anywhere
    sys.path.insert(0, str(ROOT))

from validators.mrz import add_years, check_digit  # noqa: E402

KINDS = ("cni_old", "cni_td1", "passport")
CONDITIONS = ("clean", "mild", "photo", "rotated", "hard")
DPI = 300
MM = DPI / 25.4

OCRB = Path("/usr/share/fonts/opentype/ocr-b/OCRB.otf")
MONO = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf")
SANS = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
SANS_BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")

# Invented people: common French name parts, combined at random.
SURNAMES = (
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefèvre",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
    "André",
    "Lefebvre",
    "Mercier",
    "Dupont",
    "Lambert",
    "Bonnet",
    "François",
    "Martinez",
    "Légaré",
    "Nguyen",
    "Benali",
    "Okafor",
    "Da Silva",
    "Le Goff",
    "Kowalski",
    "Haddad",
)
GIVEN_F = (
    "Léa",
    "Chloé",
    "Manon",
    "Emma",
    "Camille",
    "Inès",
    "Jade",
    "Maëlys",
    "Zoé",
    "Louise",
    "Anaïs",
    "Clémence",
    "Sarah",
    "Yasmine",
    "Héloïse",
    "Agathe",
    "Noémie",
)
GIVEN_M = (
    "Lucas",
    "Hugo",
    "Théo",
    "Nathan",
    "Louis",
    "Enzo",
    "Mathis",
    "Noah",
    "Gabriel",
    "Jules",
    "Raphaël",
    "Arthur",
    "Adam",
    "Karim",
    "Mehdi",
    "Timothée",
    "Loïc",
)
CITIES = ("AMIENS", "BEAUVAIS", "SAINT-QUENTIN", "ABBEVILLE", "COMPIÈGNE", "LAON", "SOISSONS")
STREETS = ("RUE DES LILAS", "AVENUE DE LA GARE", "CHEMIN DU MOULIN", "PLACE DU MARCHÉ")


def mrz_text(value: str) -> str:
    """A name as the MRZ writes it: A–Z only, accents dropped, other marks as '<'."""
    from validators.names import fold

    return fold(value).replace(" ", "<")


@dataclass(frozen=True)
class Person:
    last_name: str
    first_names: tuple[str, ...]
    sex: str
    birth: dt.date
    birth_place: str

    @property
    def record(self) -> dict[str, Any]:
        """The enrolment record typed by the student (accents kept, first given name)."""
        return {
            "last_name": self.last_name,
            "first_name": self.first_names[0],
            "birth_date": self.birth.isoformat(),
        }


def _person(rng: random.Random, registration: dt.date) -> Person:
    sex = rng.choice("MF")
    pool = GIVEN_M if sex == "M" else GIVEN_F
    last = rng.choice(SURNAMES)
    if rng.random() < 0.2:
        last = f"{last}-{rng.choice(SURNAMES)}"
    first = tuple(rng.sample(pool, rng.choice((1, 1, 2, 3))))
    # students: mostly 17–26 on the registration day, a few older
    age_days = rng.randint(int(16.5 * 365), 30 * 365)
    birth = registration - dt.timedelta(days=age_days)
    return Person(last, first, sex, birth, rng.choice(CITIES))


def _mrz_names(last: str, given: tuple[str, ...], width: int) -> str:
    text = mrz_text(last) + "<<" + "<".join(mrz_text(g) for g in given)
    return (text + "<" * width)[:width]


@dataclass
class Document:
    kind: str
    person: Person
    number: str
    issued: dt.date
    expiry: dt.date
    mrz: list[str]
    extra: dict[str, Any]


def _old_card(rng: random.Random, p: Person) -> Document:
    # mostly the last years before the CNIe (2021): a fair share still valid in 2026
    latest = dt.date(2021, 3, 1)
    earliest = max(p.birth + dt.timedelta(days=200), latest - dt.timedelta(days=7 * 365))
    issued = latest - dt.timedelta(days=rng.randint(0, max(0, (latest - earliest).days)))
    office = f"{rng.choice(['02', '60', '80', '75', '92', '13'])}{rng.choice('0123456789ABC')}"
    number = f"{issued:%y%m}{office}{rng.randint(0, 99999):05d}"
    admin = rng.choice(["<<<<<<", f"{office[:2]}{rng.choice('ABC')}{rng.randint(1, 999):03d}"])
    line1 = ("IDFRA" + mrz_text(p.last_name) + "<" * 25)[:30] + admin
    given = "<<".join(mrz_text(g) for g in p.first_names)
    birth = f"{p.birth:%y%m%d}"
    line2 = (
        number + check_digit(number) + (given + "<" * 14)[:14] + birth + check_digit(birth) + p.sex
    )
    line2 += check_digit(line1 + line2)
    adult = add_years(p.birth, 18) <= issued
    years = 15 if adult and issued >= dt.date(2004, 1, 2) else 10
    expiry = add_years(issued, years) - dt.timedelta(days=1)
    printed = add_years(issued, 10) - dt.timedelta(days=1)
    return Document("cni_old", p, number, issued, expiry, [line1, line2], {"printed": printed})


def _cnie(rng: random.Random, p: Person, registration: dt.date) -> Document:
    start = max(dt.date(2021, 8, 2), p.birth + dt.timedelta(days=300))
    issued = start + dt.timedelta(days=rng.randint(0, max(0, (registration - start).days)))
    alphabet = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
    number = "".join(rng.choice(alphabet) for _ in range(9))
    expiry = add_years(issued, 10) - dt.timedelta(days=1)
    line1 = ("IDFRA" + number + check_digit(number) + "<" * 15)[:30]
    birth, exp = f"{p.birth:%y%m%d}", f"{expiry:%y%m%d}"
    line2 = birth + check_digit(birth) + p.sex + exp + check_digit(exp) + "FRA" + "<" * 11
    line2 += check_digit(line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29])
    line3 = _mrz_names(p.last_name, p.first_names, 30)
    return Document("cni_td1", p, number, issued, expiry, [line1, line2, line3], {})


def _passport(rng: random.Random, p: Person, registration: dt.date) -> Document:
    back = (
        4 * 365 if add_years(p.birth, 18) > registration - dt.timedelta(days=4 * 365) else 9 * 365
    )
    start = max(registration - dt.timedelta(days=back), p.birth + dt.timedelta(days=100))
    issued = start + dt.timedelta(days=rng.randint(0, max(0, (registration - start).days)))
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    number = f"{rng.randint(10, 99)}{rng.choice(letters)}{rng.choice(letters)}"
    number += f"{rng.randint(0, 99999):05d}"
    minor = add_years(p.birth, 18) > issued
    expiry = add_years(issued, 5 if minor else 10) - dt.timedelta(days=1)
    line1 = _mrz_names(p.last_name, p.first_names, 39)
    line1 = "P<FRA" + line1
    birth, exp = f"{p.birth:%y%m%d}", f"{expiry:%y%m%d}"
    personal = "<" * 14
    line2 = (
        number
        + check_digit(number)
        + "FRA"
        + birth
        + check_digit(birth)
        + p.sex
        + exp
        + check_digit(exp)
        + personal
        + "0"
    )
    line2 += check_digit(line2[0:10] + line2[13:20] + line2[21:43])
    return Document("passport", p, number, issued, expiry, [line1, line2], {})


# ------------------------------------------------------------------------- drawing


@cache
def _font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size)


def mrz_font_path() -> Path:
    return OCRB if OCRB.exists() else MONO


def _mrz_font(pitch_px: float) -> ImageFont.FreeTypeFont:
    path = mrz_font_path()
    probe = _font(path, 100).getlength("M") / 100
    return _font(path, max(8, round(pitch_px / probe)))


@cache
def _face_source() -> Image.Image:
    try:
        from skimage import data

        image = Image.fromarray(data.astronaut())
        return image.crop((150, 30, 310, 230))  # head and shoulders
    except Exception:  # scikit-image absent: a plain drawn face
        image = Image.new("RGB", (160, 200), (225, 225, 230))
        d = ImageDraw.Draw(image)
        d.ellipse((35, 30, 125, 150), fill=(224, 190, 160))
        d.ellipse((58, 75, 70, 85), fill=(40, 40, 40))
        d.ellipse((90, 75, 102, 85), fill=(40, 40, 40))
        d.arc((60, 100, 100, 130), 20, 160, fill=(120, 40, 40), width=3)
        return image


def _face(width: int, height: int, grey: bool) -> Image.Image:
    face = _face_source().resize((width, height), Image.Resampling.LANCZOS)
    return face.convert("L").convert("RGB") if grey else face


def _guilloche(
    size: tuple[int, int], base: tuple[int, int, int], ink: tuple[int, int, int], rng: random.Random
) -> Image.Image:
    w, h = size
    image = Image.new("RGB", size, base)
    d = ImageDraw.Draw(image)
    for k in range(14):
        phase = rng.random() * math.tau
        amp = h * (0.04 + 0.06 * rng.random())
        y0 = h * (k + 0.5) / 14
        pts = [(x, y0 + amp * math.sin(x / w * math.tau * 2.5 + phase)) for x in range(0, w, 6)]
        d.line(pts, fill=ink, width=1)
    return image


def _text(
    d: ImageDraw.ImageDraw,
    xy: tuple[float, float],
    text: str,
    size_mm: float,
    bold: bool = False,
    fill: tuple[int, int, int] = (20, 20, 30),
) -> None:
    font = _font(SANS_BOLD if bold else SANS, max(6, round(size_mm * MM)))
    d.text((xy[0] * MM, xy[1] * MM), text, font=font, fill=fill)


def _draw_mrz(image: Image.Image, lines: list[str], left_mm: float, bottom_mm: float) -> None:
    pitch = 2.54 * MM  # 10 characters per inch, as ICAO 9303 prints OCR-B size 1
    font = _mrz_font(pitch)
    step = 4.0 * MM if len(lines) == 2 else 3.6 * MM
    d = ImageDraw.Draw(image)
    top = image.height - bottom_mm * MM - step * len(lines)
    for i, line in enumerate(lines):
        y = top + i * step
        for j, char in enumerate(line):  # one cell per character: exact pitch
            d.text((left_mm * MM + j * pitch, y), char, font=font, fill=(15, 15, 20))


def _fr(day: dt.date) -> str:
    return day.strftime("%d.%m.%Y")


def _signature(d: ImageDraw.ImageDraw, x: float, y: float, rng: random.Random) -> None:
    pts = []
    for k in range(12):
        pts.append(((x + k * 2.2) * MM, (y + rng.uniform(-1.8, 1.8)) * MM))
    d.line(pts, fill=(30, 30, 90), width=3)


def render(doc: Document, rng: random.Random) -> list[Image.Image]:
    """The document's sides at 300 dpi (ID cards: recto, verso; passport: one page)."""
    if doc.kind == "cni_old":
        return _render_old(doc, rng)
    if doc.kind == "cni_td1":
        return _render_cnie(doc, rng)
    return [_render_passport(doc, rng)]


def _render_old(doc: Document, rng: random.Random) -> list[Image.Image]:
    p = doc.person
    size = (round(105 * MM), round(74 * MM))
    recto = _guilloche(size, (236, 226, 222), (214, 196, 200), rng)
    d = ImageDraw.Draw(recto)
    _text(d, (30, 3), "RÉPUBLIQUE FRANÇAISE", 2.6, bold=True, fill=(40, 40, 110))
    _text(d, (30, 7.5), f"CARTE NATIONALE D’IDENTITÉ N° : {doc.number}", 2.2, bold=True)
    _text(d, (30, 12), "Nationalité Française", 2.0)
    recto.paste(_face(round(24 * MM), round(31 * MM), grey=True), (round(4 * MM), round(9 * MM)))
    _text(d, (30, 17), f"Nom : {p.last_name.upper()}", 2.4, bold=True)
    _text(d, (30, 22), f"Prénom(s) : {', '.join(p.first_names)}", 2.2)
    _text(d, (30, 27), f"Sexe : {p.sex}   Né(e) le : {_fr(p.birth)}", 2.2)
    _text(d, (30, 32), f"à : {p.birth_place}", 2.2)
    _text(d, (30, 37), f"Taille : 1,{rng.randint(55, 90)} m", 2.2)
    _text(d, (30, 42), "Signature du titulaire :", 1.8)
    _signature(d, 62, 43, rng)
    _draw_mrz(recto, doc.mrz, left_mm=6.8, bottom_mm=4.5)
    verso = _guilloche(size, (236, 226, 222), (214, 196, 200), rng)
    d = ImageDraw.Draw(verso)
    _text(d, (6, 6), "Adresse :", 2.2)
    _text(d, (6, 10), f"{rng.randint(1, 120)} {rng.choice(STREETS)}", 2.2)
    _text(d, (6, 14), f"80000 {p.birth_place}", 2.2)
    _text(d, (6, 24), f"Carte valable jusqu’au : {_fr(doc.extra['printed'])}", 2.2, bold=True)
    _text(d, (6, 29), f"délivrée le : {_fr(doc.issued)}", 2.2)
    _text(d, (6, 34), f"par : PRÉFECTURE DE LA SOMME ({p.birth_place})", 2.0)
    _text(d, (6, 42), "Signature de l’autorité :", 1.8)
    _signature(d, 50, 50, rng)
    d.ellipse(
        (round(70 * MM), round(40 * MM), round(95 * MM), round(65 * MM)),
        outline=(150, 60, 60),
        width=4,
    )
    return [recto, verso]


def _render_cnie(doc: Document, rng: random.Random) -> list[Image.Image]:
    p = doc.person
    size = (round(85.6 * MM), round(54 * MM))
    recto = _guilloche(size, (226, 234, 242), (205, 216, 232), rng)
    d = ImageDraw.Draw(recto)
    _text(d, (4, 2.5), "RÉPUBLIQUE FRANÇAISE", 2.2, bold=True, fill=(30, 50, 120))
    _text(d, (4, 6), "CARTE NATIONALE D’IDENTITÉ / IDENTITY CARD", 1.8, bold=True)
    recto.paste(_face(round(22 * MM), round(28 * MM), grey=False), (round(4 * MM), round(12 * MM)))
    _text(d, (30, 11), "NOM / Surname", 1.4)
    _text(d, (30, 13.2), p.last_name.upper(), 2.3, bold=True)
    _text(d, (30, 17.5), "Prénoms / Given names", 1.4)
    _text(d, (30, 19.7), ", ".join(p.first_names), 2.1)
    _text(d, (30, 24), f"SEXE  {p.sex}    NATIONALITÉ  FRA", 1.6)
    _text(d, (30, 27.5), f"DATE DE NAISS. {_fr(p.birth)}", 1.7)
    _text(d, (30, 31), f"LIEU DE NAISSANCE  {p.birth_place}", 1.6)
    _text(d, (30, 35.5), f"N° DU DOCUMENT  {doc.number}", 1.7, bold=True)
    _text(d, (30, 39), f"DATE D’EXPIR.  {_fr(doc.expiry)}", 1.7)
    _signature(d, 34, 46, rng)
    _text(d, (68, 47), f"{rng.randint(100000, 999999)}", 1.6)  # CAN
    verso = _guilloche(size, (226, 234, 242), (205, 216, 232), rng)
    d = ImageDraw.Draw(verso)
    _text(d, (4, 3), "ADRESSE / Address", 1.4)
    _text(d, (4, 5.5), f"{rng.randint(1, 120)} {rng.choice(STREETS)}", 1.9)
    _text(d, (4, 8.5), f"80000 {p.birth_place}", 1.9)
    _text(d, (4, 13), f"DATE DE DÉLIVRANCE  {_fr(doc.issued)}", 1.6)
    _text(d, (4, 16), "AUTORITÉ  PRÉFECTURE DE LA SOMME", 1.6)
    block = round(17 * MM)
    cells = 20
    ox, oy = round(64 * MM), round(2.5 * MM)
    for i in range(cells):
        for j in range(cells):
            if rng.random() < 0.5:
                x, y = ox + i * block // cells, oy + j * block // cells
                d.rectangle((x, y, x + block // cells, y + block // cells), fill=(20, 20, 20))
    _draw_mrz(verso, doc.mrz, left_mm=4.7, bottom_mm=3.0)
    return [recto, verso]


def _render_passport(doc: Document, rng: random.Random) -> Image.Image:
    p = doc.person
    size = (round(125 * MM), round(88 * MM))
    page = _guilloche(size, (232, 222, 236), (214, 200, 222), rng)
    d = ImageDraw.Draw(page)
    _text(d, (40, 3), "RÉPUBLIQUE FRANÇAISE", 2.6, bold=True, fill=(60, 30, 100))
    _text(d, (40, 7.5), "PASSEPORT / PASSPORT", 2.2, bold=True)
    page.paste(_face(round(30 * MM), round(38 * MM), grey=False), (round(5 * MM), round(14 * MM)))
    _text(d, (40, 13), f"Type P   Code FRA   Passeport n° {doc.number}", 1.9)
    _text(d, (40, 18), "Nom / Surname", 1.4)
    _text(d, (40, 20.5), p.last_name.upper(), 2.4, bold=True)
    _text(d, (40, 25), "Prénoms / Given names", 1.4)
    _text(d, (40, 27.5), ", ".join(p.first_names), 2.2)
    _text(d, (40, 32), f"Nationalité  Française      Sexe  {p.sex}", 1.9)
    _text(d, (40, 36.5), f"Date de naissance  {_fr(p.birth)}   à {p.birth_place}", 1.9)
    _text(d, (40, 41), f"Date de délivrance  {_fr(doc.issued)}", 1.9)
    _text(d, (40, 45.5), f"Date d’expiration  {_fr(doc.expiry)}", 1.9)
    _text(d, (40, 50), "Autorité  Préfecture de la Somme", 1.9)
    _signature(d, 45, 58, rng)
    _draw_mrz(page, doc.mrz, left_mm=6.6, bottom_mm=5.0)
    return page


# ---------------------------------------------------------------------- conditions


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def _noise(image: Image.Image, sigma: float, rng: random.Random) -> Image.Image:
    arr = np.asarray(image).astype(np.float32)
    gen = np.random.default_rng(rng.randrange(1 << 30))
    arr += gen.normal(0, sigma, arr.shape)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def _scanner_page(card: Image.Image, angle: float, rng: random.Random) -> Image.Image:
    """The card on a white scanner bed, slightly turned."""
    pad = round(6 * MM)
    bed = Image.new("RGB", (card.width + 2 * pad, card.height + 2 * pad), (246, 246, 244))
    bed.paste(card, (pad, pad))
    return bed.rotate(
        angle, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=(246, 246, 244)
    )


def _table(width: int, height: int, rng: random.Random) -> Image.Image:
    gen = np.random.default_rng(rng.randrange(1 << 30))
    base = np.array(
        rng.choice([(120, 84, 52), (150, 110, 70), (90, 90, 95), (60, 50, 45)]), dtype=np.float32
    )
    y = np.linspace(0, 1, height)[:, None]
    grain = 14 * np.sin(y * rng.uniform(40, 90) + gen.normal(0, 0.6, (height, 1)))
    arr = base[None, None, :] + grain[..., None] + gen.normal(0, 6, (height, width, 1))
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def _photo(
    card: Image.Image, rng: random.Random, *, max_angle: float, card_px: int, blur: float
) -> Image.Image:
    import cv2

    scale = card_px / card.width
    card = card.resize((card_px, round(card.height * scale)), Image.Resampling.LANCZOS)
    w, h = card.size
    out_w, out_h = round(w * rng.uniform(1.35, 1.6)), round(h * rng.uniform(1.6, 1.9))
    table = np.asarray(_table(out_w, out_h, rng)).copy()
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    cx, cy = (
        out_w / 2 + rng.uniform(-0.05, 0.05) * out_w,
        out_h / 2 + rng.uniform(-0.05, 0.05) * out_h,
    )
    angle = math.radians(rng.uniform(-max_angle, max_angle))
    corners = []
    for x, y in src:
        dx, dy = x - w / 2, y - h / 2
        jx, jy = rng.uniform(-0.025, 0.025) * w, rng.uniform(-0.025, 0.025) * h
        corners.append(
            [
                cx + dx * math.cos(angle) - dy * math.sin(angle) + jx,
                cy + dx * math.sin(angle) + dy * math.cos(angle) + jy,
            ]
        )
    matrix = cv2.getPerspectiveTransform(src, np.float32(corners))
    warped = cv2.warpPerspective(
        np.asarray(card),
        matrix,
        (out_w, out_h),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
    )
    mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), matrix, (out_w, out_h))
    shadow = cv2.GaussianBlur(mask, (0, 0), 8)[..., None] / 255.0
    composed = table * (1 - 0.45 * shadow) * (1 - mask[..., None] / 255.0) + warped * (
        mask[..., None] / 255.0
    )
    # light falling off across the picture
    gx = np.linspace(rng.uniform(0.8, 1.0), rng.uniform(1.0, 1.12), out_w)[None, :, None]
    gy = np.linspace(rng.uniform(0.85, 1.0), rng.uniform(1.0, 1.1), out_h)[:, None, None]
    composed = np.clip(composed * gx * gy, 0, 255).astype(np.uint8)
    image = Image.fromarray(composed)
    if blur:
        image = image.filter(ImageFilter.GaussianBlur(blur))
    return image


def degrade(side: Image.Image, condition: str, rng: random.Random) -> Image.Image:
    if condition == "clean":
        return side
    if condition == "mild":
        image = _scanner_page(side, rng.uniform(-1.5, 1.5), rng)
        factor = rng.uniform(0.8, 1.0)
        image = image.resize(
            (round(image.width * factor), round(image.height * factor)), Image.Resampling.LANCZOS
        )
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.7)))
        return _noise(image, 3, rng)
    if condition == "photo":
        image = _photo(
            side,
            rng,
            max_angle=6,
            card_px=round(side.width * rng.uniform(0.9, 1.1)),
            blur=rng.uniform(0.5, 1.0),
        )
        return _noise(image, 5, rng)
    if condition == "rotated":
        image = _scanner_page(side, rng.uniform(-1, 1), rng)
        return image.rotate(rng.choice((90, 180, 270)), expand=True)
    if condition == "hard":
        image = _scanner_page(side, rng.uniform(-10, 10), rng)
        factor = rng.uniform(0.45, 0.55)
        image = image.resize(
            (round(image.width * factor), round(image.height * factor)), Image.Resampling.LANCZOS
        )
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.6, 1.0)))
        return _noise(image, 8, rng)
    raise ValueError(f"unknown condition {condition!r}")


_QUALITY = {
    "clean": (92, 92),
    "mild": (75, 88),
    "photo": (70, 85),
    "rotated": (85, 92),
    "hard": (40, 55),
}


# --------------------------------------------------------------------------- output


def make_document(kind: str, rng: random.Random, registration: dt.date) -> Document:
    person = _person(rng, registration)
    if kind == "cni_old":
        return _old_card(rng, person)
    if kind == "cni_td1":
        return _cnie(rng, person, registration)
    if kind == "passport":
        return _passport(rng, person, registration)
    raise ValueError(f"unknown kind {kind!r}")


def truth_of(doc: Document, condition: str, files: dict[str, str], registration: dt.date) -> dict:
    p = doc.person

    def words(field: str) -> str:
        return " ".join(w for w in field.split("<") if w)

    if doc.kind == "cni_old":
        mrz_last, given = words(doc.mrz[0][5:30]), words(doc.mrz[1][13:27])
    else:
        names = doc.mrz[2] if doc.kind == "cni_td1" else doc.mrz[0][5:]
        surname, _, rest = names.partition("<<")
        mrz_last, given = words(surname), words(rest)
    return {
        "kind": doc.kind,
        "condition": condition,
        "files": files,
        "mrz": doc.mrz,
        "mrz_font": mrz_font_path().name,
        "registration_date": registration.isoformat(),
        "student": p.record,
        "expected": {
            "document_type": doc.kind,
            "document_number": doc.number,
            "last_name": mrz_last,
            "first_names": given,
            "birth_date": p.birth.isoformat(),
            "expiry_date": doc.expiry.isoformat(),
            "sex": p.sex,
        },
        "issue_date": doc.issued.isoformat(),
    }


def write_sample(
    out: Path, name: str, kind: str, condition: str, rng: random.Random, registration: dt.date
) -> dict[str, Any]:
    doc = make_document(kind, rng, registration)
    sides = [degrade(s, condition, rng) for s in render(doc, rng)]
    lo, hi = _QUALITY[condition]
    quality = rng.randint(lo, hi)
    files: dict[str, str] = {}
    blobs = []
    for label, side in zip(
        ("recto", "verso") if len(sides) == 2 else ("page",), sides, strict=True
    ):
        buf = io.BytesIO()
        side.save(buf, "JPEG", quality=quality, dpi=(DPI, DPI))
        blobs.append(buf.getvalue())
        fname = f"{name}-{label}.jpg" if len(sides) == 2 else f"{name}.jpg"
        (out / fname).write_bytes(buf.getvalue())
        files[label] = fname
    if len(sides) == 2:
        import img2pdf

        (out / f"{name}.pdf").write_bytes(img2pdf.convert(blobs))
        files["pdf"] = f"{name}.pdf"
        files["document"] = f"{name}.pdf"
    else:
        files["document"] = files["page"]
    truth = truth_of(doc, condition, files, registration)
    truth["id"] = name
    (out / f"{name}.json").write_text(
        json.dumps(truth, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    return truth


def generate(
    out: Path | str,
    *,
    n: int = 2,
    seed: int = 1,
    kinds: tuple[str, ...] = KINDS,
    conditions: tuple[str, ...] = CONDITIONS,
    registration: dt.date = dt.date(2026, 9, 1),
) -> list[dict[str, Any]]:
    """``n`` documents of every kind in every condition under ``out``; the truths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    truths = []
    for kind in kinds:
        for condition in conditions:
            for i in range(n):
                rng = random.Random(f"{seed}:{kind}:{condition}:{i}")
                name = f"{kind}-{condition}-{i:03d}"
                truths.append(write_sample(out, name, kind, condition, rng, registration))
    return truths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--n", type=int, default=2, help="documents per kind and condition")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--conditions", default=",".join(CONDITIONS))
    args = parser.parse_args(argv)
    kinds = tuple(k for k in args.kinds.split(",") if k)
    conditions = tuple(c for c in args.conditions.split(",") if c)
    for k in kinds:
        if k not in KINDS:
            parser.error(f"unknown kind {k}")
    for c in conditions:
        if c not in CONDITIONS:
            parser.error(f"unknown condition {c}")
    truths = generate(args.out, n=args.n, seed=args.seed, kinds=kinds, conditions=conditions)
    print(f"{len(truths)} documents written to {args.out} (MRZ font: {mrz_font_path().name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
