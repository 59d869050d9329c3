"""ID-photo compliance (kind ``photo``): one finding per criterion of domain.md §5.2.

The FAQ: « Votre photo doit donc être cadrée, droite, dans le bon sens, rognée autour de
votre visage, sans filtre et ne doit pas être fantaisiste » and « sur fond blanc ». The
national rules differ (light background but never white, head 32–36 mm of 45), so every
threshold lives in a **profile** (``validators/data/photo_profiles.toml``) named by
``ctx.photo_profile``: ``university`` (default) or ``ants``.

Each finding carries the measured value (``measured``), the thresholds it was judged
against (``threshold``) and the profile. A criterion that cannot be judged (no face, no
eyes, too little background visible) is ``inconclusive`` or ``skipped``, never failed.
Faces and eyes come from ``ctx.vision`` (``ocr.vision.HaarVision``: plain boxes); pixel
statistics from :mod:`ocr.vision`; every decision is here.

Orientation: when no face is found upright, the image is turned 90°, 180° and 270°; a face
found only when turned fails « dans le bon sens » with the turn to apply, and every other
criterion is then judged on the turned image (the student learns the one thing to do).

Editing software (info only): intake rebuilds stored JPEGs without metadata (privacy,
security.md §6), so the checker sees a program name only where one survives — the page
image's own metadata (files checked outside intake) or ``ctx.options["source_software"]``,
which the caller fills from the original upload before stripping; otherwise the
criterion is ``skipped``.

:func:`crop_plan` is the pure geometry behind ``justif photo-fix`` (intake.photofix).
"""

from __future__ import annotations

import math
import string
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import numpy as np

from ocr import vision as pix
from validators.base import Context, Document
from validators.codes import ReasonCode
from validators.verdict import Finding, Level, Result, Verdict, finding, inconclusive, passed

FAQ_PHOTO = (
    "« Votre photo doit donc être cadrée, droite, dans le bon sens, rognée autour de "
    "votre visage, sans filtre et ne doit pas être fantaisiste. »"
)
FAQ_CARD = "Si le format n’est pas bon, aucune carte ne pourra vous être délivrée."


class PhotoCode(ReasonCode):
    """One code per photo criterion (domain.md §5.2), plus the photo-fix refusals."""

    PIXELS = (
        "photo.pixels",
        "Votre photo est trop petite ({width} × {height} pixels{ied_text}) : il faut au "
        "moins {min_width} × {min_height} pixels. Déposez la photo "
        "d’origine, sans la réduire ni la capturer à l’écran. " + FAQ_CARD,
        "Taille suffisante ({width} × {height} pixels).",
    )
    ASPECT = (
        "photo.aspect",
        "{advice} Votre photo mesure {width} × {height} pixels (largeur ÷ hauteur = "
        "{ratio}) ; une photo d’identité est plus haute que large, au format "
        "35 × 45 mm (0,78).",
        "Format de photo d’identité ({ratio}).",
    )
    NO_FACE = (
        "photo.no_face",
        "Aucun visage n’a été détecté sur la photo. Déposez une photo d’identité de face, "
        "visage bien visible et dégagé. " + FAQ_PHOTO,
        "Un visage détecté.",
        "Le visage n’a pas pu être recherché automatiquement : un gestionnaire va vérifier "
        "la photo.",
    )
    FACES = (
        "photo.faces",
        "{count} visages ont été détectés : la photo doit montrer votre seul visage. "
        "Déposez une photo où vous êtes seule ou seul.",
        "Un seul visage.",
    )
    ORIENTATION = (
        "photo.orientation",
        "Votre photo n’est pas dans le bon sens : tournez-la {turn}, puis déposez-la à "
        "nouveau. " + FAQ_PHOTO,
        "Photo dans le bon sens.",
    )
    HEAD_SIZE = (
        "photo.head_size",
        "Votre tête occupe {percent} % de la hauteur de la photo (attendu : {expected}). {advice}",
        "Taille du visage correcte ({percent} % de la hauteur).",
        "La taille du visage n’a pas pu être mesurée : un gestionnaire va la vérifier.",
    )
    CENTRING = (
        "photo.centring",
        "Votre visage n’est pas centré (décalé de {percent} % de la largeur vers la "
        "{side}) : recadrez la photo pour que votre visage soit au milieu. « Votre photo "
        "doit donc être cadrée… »",
        "Visage centré.",
        "Le centrage n’a pas pu être mesuré : un gestionnaire va le vérifier.",
    )
    EYE_LINE = (
        "photo.eye_line",
        "Vos yeux sont à {percent} % de la hauteur depuis le haut de la photo (attendu "
        "entre {low} et {high} %) : recadrez la photo, la tête ni trop haute ni trop basse.",
        "Hauteur des yeux correcte.",
        "La hauteur des yeux n’a pas pu être mesurée : un gestionnaire va la vérifier.",
    )
    BACKGROUND_UNIFORM = (
        "photo.background_uniform",
        "Le fond de votre photo n’est pas uni (la couleur principale ne couvre que "
        "{percent} % du fond visible, {minimum} % au moins attendus) : placez-vous devant "
        "un mur uni, sans objet ni motif derrière vous.",
        "Fond uni.",
        "Le fond n’a pas pu être mesuré (trop peu de fond visible autour du visage) : un "
        "gestionnaire va le vérifier.",
    )
    BACKGROUND = (
        "photo.background",
        "{advice} Fond mesuré : clarté {lightness} sur 100, teinte {chroma}.",
        "Couleur du fond conforme ({lightness} sur 100).",
        "La couleur du fond n’a pas pu être mesurée : un gestionnaire va la vérifier.",
    )
    COLOUR = (
        "photo.colour",
        "Votre photo semble en noir et blanc ou en sépia : déposez une photo en couleurs, "
        "« sans filtre ».",
        "Photo en couleurs.",
    )
    COLOUR_CAST = (
        "photo.colour_cast",
        "Les couleurs de votre visage paraissent modifiées (filtre ou lumière colorée) : "
        "déposez une photo « sans filtre », aux couleurs naturelles.",
        "Couleurs naturelles.",
        "Les couleurs du visage n’ont pas pu être mesurées : un gestionnaire va les vérifier.",
    )
    BLUR = (
        "photo.blur",
        "Votre photo est floue (netteté {sharpness}, minimum {minimum}) : reprenez-la bien "
        "nette, sans bouger, la mise au point sur le visage. " + FAQ_CARD,
        "Photo nette.",
        "La netteté n’a pas pu être mesurée : un gestionnaire va la vérifier.",
    )
    EXPOSURE = (
        "photo.exposure",
        "Votre photo est {state} : reprenez-la avec un éclairage uniforme, de face, "
        "ni trop sombre ni trop clair.",
        "Exposition correcte.",
        "L’exposition n’a pas pu être mesurée : un gestionnaire va la vérifier.",
    )
    LIGHTING = (
        "photo.lighting",
        "Une ombre marque un côté de votre visage : éclairez-vous de face, de façon "
        "uniforme, sans ombre sur le visage ni sur le fond.",
        "Éclairage équilibré.",
        "L’équilibre de l’éclairage n’a pas pu être mesuré : un gestionnaire va le vérifier.",
    )
    ROLL = (
        "photo.roll",
        "Votre tête est penchée ({angle}°) : la photo doit être « droite », la tête "
        "bien verticale et les yeux à la même hauteur.",
        "Tête droite.",
        "L’inclinaison de la tête n’a pas pu être mesurée (yeux non détectés) : un "
        "gestionnaire va la vérifier.",
    )
    SOFTWARE = (
        "photo.editing_software",
        "Les informations du fichier mentionnent un logiciel de retouche ({software}) : "
        "un gestionnaire vérifiera que la photo n’est pas retouchée (« sans filtre »).",
        "Aucun logiciel de retouche mentionné.",
    )
    FIX_EDGE = (
        "photo.fix_edge",
        "La photo ne peut pas être recadrée automatiquement : votre visage est trop près "
        "du bord ({sides}). Reprenez la photo en laissant de l’espace autour de la tête "
        "et des épaules.",
    )
    FIX_SMALL = (
        "photo.fix_small",
        "La photo recadrée n’aurait que {width} × {height} pixels (il en faut au moins "
        "{min_width} × {min_height}) : reprenez la photo de plus près ou en meilleure "
        "résolution.",
    )


# The refusal-reason catalogue (domain.md §6.6) groups the criteria.
CATALOGUE: Mapping[PhotoCode, str] = {
    PhotoCode.PIXELS: "photo.quality",
    PhotoCode.ASPECT: "photo.framing",
    PhotoCode.NO_FACE: "photo.faces",
    PhotoCode.FACES: "photo.faces",
    PhotoCode.ORIENTATION: "photo.framing",
    PhotoCode.HEAD_SIZE: "photo.framing",
    PhotoCode.CENTRING: "photo.framing",
    PhotoCode.EYE_LINE: "photo.framing",
    PhotoCode.BACKGROUND_UNIFORM: "photo.background",
    PhotoCode.BACKGROUND: "photo.background",
    PhotoCode.COLOUR: "photo.filter",
    PhotoCode.COLOUR_CAST: "photo.filter",
    PhotoCode.BLUR: "photo.quality",
    PhotoCode.EXPOSURE: "photo.quality",
    PhotoCode.LIGHTING: "photo.quality",
    PhotoCode.ROLL: "photo.framing",
    PhotoCode.SOFTWARE: "photo.filter",
}

BACKGROUND_ADVICE = {
    "white_wanted": "La photo doit être prise sur fond blanc : placez-vous devant un mur blanc "
    "bien éclairé.",
    "white_forbidden": "Le fond doit être uni et clair ; le fond blanc est interdit : "
    "placez-vous devant un mur gris clair ou bleu clair.",
    "too_dark": "Le fond est trop sombre : il doit être uni et clair (gris clair ou bleu clair).",
}

# geometry criteria photo-fix can repair (the others need a new photo)
GEOMETRY_CODES = frozenset(
    {
        PhotoCode.ORIENTATION,
        PhotoCode.HEAD_SIZE,
        PhotoCode.CENTRING,
        PhotoCode.ASPECT,
        PhotoCode.ROLL,
        PhotoCode.EYE_LINE,
    }
)

Box = tuple[int, int, int, int]


# ------------------------------------------------------------------------ profiles


@dataclass(frozen=True)
class Profile:
    """A named set of thresholds: ``profile["blur"]["pass"]``."""

    name: str
    label: str
    sections: Mapping[str, Mapping[str, Any]]

    def __getitem__(self, section: str) -> Mapping[str, Any]:
        return self.sections[section]


def _merge(common: Mapping[str, Any], own: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {k: dict(v) for k, v in common.items()}
    for key, value in own.items():
        if isinstance(value, Mapping):
            merged.setdefault(key, {}).update(value)
    return merged


@cache
def load_profiles() -> dict[str, Profile]:
    """Every profile of the packaged TOML, [common] merged in."""
    text = resources.files("validators").joinpath("data/photo_profiles.toml").read_text("utf-8")
    data = tomllib.loads(text)
    common = data.get("common", {})
    return {
        name: Profile(name, str(own.get("label", name)), _merge(common, own))
        for name, own in data["profiles"].items()
    }


@cache
def default_profile_name() -> str:
    text = resources.files("validators").joinpath("data/photo_profiles.toml").read_text("utf-8")
    return str(tomllib.loads(text).get("default", "university"))


def get_profile(name: str | None) -> Profile:
    profiles = load_profiles()
    key = name or default_profile_name()
    if key not in profiles:
        raise ValueError(f"unknown photo profile {key!r} (known: {', '.join(sorted(profiles))})")
    return profiles[key]


def grade(value: float, section: Mapping[str, Any], key: str = "") -> Level | None:
    """None when ``value`` is inside ``pass``; WARNING inside ``warn`` (or anywhere
    outside ``pass`` when there is no ``warn``); ERROR otherwise."""
    prefix = f"{key}_" if key else ""
    low, high = section[f"{prefix}pass"]
    if low <= value <= high:
        return None
    warn = section.get(f"{prefix}warn")
    if warn is None or warn[0] <= value <= warn[1]:
        return Level.WARNING
    return Level.ERROR


def _ranges(section: Mapping[str, Any], key: str = "") -> dict[str, Any]:
    """The ``pass``/``warn`` ranges for a finding's detail; an open bound (±inf in the
    TOML) becomes None so that the detail stays plain JSON."""
    prefix = f"{key}_" if key else ""

    def bounds(values: Sequence[float]) -> list[float | None]:
        return [None if math.isinf(v) else v for v in values]

    out = {"pass": bounds(section[f"{prefix}pass"])}
    if f"{prefix}warn" in section:
        out["warn"] = bounds(section[f"{prefix}warn"])
    return out


# ------------------------------------------------------------------------ geometry


@dataclass(frozen=True)
class Located:
    """Where the faces are: ``turns`` quarter turns counter-clockwise make the photo
    upright; ``faces`` are the kept boxes in the turned image, largest first."""

    turns: int
    faces: tuple[Box, ...]
    ignored: int = 0


def keep_faces(boxes: Sequence[Box], ignore_below: float) -> tuple[tuple[Box, ...], int]:
    """Largest first; drop boxes under ``ignore_below`` × the largest area and boxes
    whose centre lies inside a larger kept box (double detections)."""
    ordered = sorted((tuple(int(v) for v in b) for b in boxes), key=lambda b: -b[2] * b[3])
    kept: list[Box] = []
    ignored = 0
    for box in ordered:
        x, y, w, h = box
        if kept and w * h < ignore_below * kept[0][2] * kept[0][3]:
            ignored += 1
            continue
        cx, cy = x + w / 2, y + h / 2
        if any(k[0] <= cx <= k[0] + k[2] and k[1] <= cy <= k[1] + k[3] for k in kept):
            continue
        kept.append(box)  # type: ignore[arg-type]
    return tuple(kept), ignored


def locate(rgb: np.ndarray, detector: Any, profile: Profile) -> Located:
    """Faces upright, else the quarter turn whose largest face is the largest.

    Quick looks first (one cascade: upright, then each turn), the thorough search
    (every cascade, equalised) only when the quick looks found nothing. A small upright
    "face" (head under ``retry_turns_below`` of the height: often a false detection in
    the hair or clothes of a photo lying on its side) also gets the turns tried. A face
    found only after turning counts only with a pair of eyes; then a face with eyes
    beats one without, and a larger face a smaller one (upright wins a tie)."""
    det = profile["detector"]
    ignore = float(det["ignore_faces_below"])
    smallest = float(det["min_face_fraction"])
    small_head = float(det["retry_turns_below"]) * rgb.shape[0]
    rotate = bool(profile["faces"].get("try_rotations", True))
    gray = pix.grey(rgb)

    def look(turns: int, thorough: bool) -> Located:
        image = pix.turn(gray, turns) if turns else gray
        found, dropped = keep_faces(
            detector.faces(image, min_fraction=smallest, thorough=thorough), ignore
        )
        return Located(turns, found, dropped)

    def convincing(located: Located) -> bool:
        return bool(located.faces) and (
            located.faces[0][3] * float(det["head_factor"]) >= small_head
        )

    def has_eyes(located: Located) -> bool:
        image = pix.turn(rgb, located.turns) if located.turns else rgb
        face = located.faces[0]
        return bool(eye_pair(detector.eyes(image, face), face))

    def turned_faces(thorough: bool) -> list[Located]:
        # a face seen only after turning must show a pair of eyes: clothes, hair or a
        # neck turned sideways sometimes pass for a face, eyes rarely do
        found = [c for c in (look(t, thorough) for t in (1, 2, 3)) if c.faces]
        return [c for c in found if has_eyes(c)]

    upright = look(0, False)
    turned: list[Located] = []
    if rotate and not convincing(upright):
        turned = turned_faces(False)
    if not upright.faces and not turned:
        upright = look(0, True)
        if rotate and not convincing(upright):
            turned = turned_faces(True)
    if not turned:
        return upright
    if not upright.faces:
        return max(turned, key=lambda c: (_area(c.faces[0]), -c.turns))
    # a small upright face against turned faces with eyes: eyes first, then size
    return max(
        [upright, *turned],
        key=lambda c: (int(c.turns > 0 or has_eyes(c)), _area(c.faces[0]), -c.turns),
    )


def _area(box: Box) -> int:
    return box[2] * box[3]


def turn_words(turns: int) -> str:
    """French for the turn that makes the photo upright (``turns`` × 90° anticlockwise)."""
    return {
        1: "d’un quart de tour vers la gauche (sens inverse des aiguilles d’une montre)",
        2: "d’un demi-tour (elle est à l’envers)",
        3: "d’un quart de tour vers la droite (sens des aiguilles d’une montre)",
    }.get(turns % 4, "")


def _groups(points: list[tuple[float, float, float]]) -> list[tuple[float, float, float, int]]:
    """Candidates whose centres lie within half their size of each other, merged:
    (mean x, mean y, mean size, count), most supported first."""
    groups: list[list[tuple[float, float, float]]] = []
    for point in sorted(points, key=lambda p: -p[2]):
        for group in groups:
            gx = sum(p[0] for p in group) / len(group)
            gy = sum(p[1] for p in group) / len(group)
            gs = sum(p[2] for p in group) / len(group)
            if math.hypot(point[0] - gx, point[1] - gy) <= 0.5 * gs:
                group.append(point)
                break
        else:
            groups.append([point])
    merged = [
        (
            sum(p[0] for p in g) / len(g),
            sum(p[1] for p in g) / len(g),
            sum(p[2] for p in g) / len(g),
            len(g),
        )
        for g in groups
    ]
    return sorted(merged, key=lambda g: -g[3])


def _best_pair(
    candidates: Sequence[Box], face: Box
) -> tuple[tuple[tuple[float, float], ...], int] | None:
    x, y, w, h = face
    left: list[tuple[float, float, float]] = []
    right: list[tuple[float, float, float]] = []
    for ex, ey, ew, eh in candidates:
        cx, cy = ex + ew / 2, ey + eh / 2
        if not (0.10 * w <= ew <= 0.45 * w) or not (y + 0.12 * h <= cy <= y + 0.62 * h):
            continue
        if x + 0.05 * w <= cx < x + 0.5 * w:
            left.append((cx, cy, ew))
        elif x + 0.5 * w <= cx <= x + 0.95 * w:
            right.append((cx, cy, ew))
    best: tuple[tuple[float, ...], tuple[tuple[float, float], ...], int] | None = None
    for lx, ly, lw, ln in _groups(left):
        for rx, ry, rw, rn in _groups(right):
            dx, dy = rx - lx, ry - ly
            if not (0.25 * w <= dx <= 0.70 * w) or abs(dy) > 0.6 * dx:
                continue
            if max(lw, rw) > 1.7 * min(lw, rw):
                continue
            shape = abs(dx / w - 0.47) + abs(lw - rw) / w + abs((lx + rx) / 2 - (x + w / 2)) / w
            score = (-(ln + rn), shape)
            if best is None or score < best[0]:
                best = (score, ((lx, ly), (rx, ry)), min(ln, rn))
    return (best[1], best[2]) if best else None


def eye_pair(candidates: Sequence[Box], face: Box) -> tuple[tuple[float, float], ...]:
    """The two eye centres (left then right in the image) among ``candidates``, or ()
    when no plausible pair: candidates are merged when they overlap (several cascades
    and scales see the same eye), each eye lies in its half of the upper face, the two
    are 25–70 % of the face width apart with similar sizes; the best-supported pair wins."""
    found = _best_pair(candidates, face)
    return found[0] if found else ()


def eyes_settled(candidates: Sequence[Box], face: Box) -> bool:
    """Enough to stop looking: a pair whose eyes were each seen at least twice (one
    Haar eye box is only good to a few pixels; merged boxes give a steadier line)."""
    found = _best_pair(candidates, face)
    return found is not None and found[1] >= 2


@dataclass(frozen=True)
class Head:
    """The head estimated from a face box: crown and chin rows, height, centre."""

    box: Box
    crown: float
    chin: float
    centre_x: float

    @property
    def height(self) -> float:
        return self.chin - self.crown

    @classmethod
    def of(cls, box: Box, profile: Profile, eyes: Sequence[tuple[float, float]] = ()) -> Head:
        """Chin at the box bottom; height = box height × head_factor, averaged with
        (chin − eye line) × head_per_chin_to_eyes when both eyes are known (the box
        alone under-measures faces wider than the frame)."""
        x, y, w, h = box
        det = profile["detector"]
        chin = y + float(det["chin_offset"]) * h
        height = float(det["head_factor"]) * h
        if eyes:
            eye_y = sum(e[1] for e in eyes) / len(eyes)
            by_eyes = float(det["head_per_chin_to_eyes"]) * (chin - eye_y)
            if by_eyes > 0:
                height = (height + by_eyes) / 2
        return cls(box, chin - height, chin, x + w / 2)


@dataclass(frozen=True)
class CropPlan:
    """The 35:45 crop photo-fix applies (in the upright, straightened image)."""

    fits: bool
    box: tuple[int, int, int, int]  # x, y, width, height
    head_ratio: float
    crown_margin: float
    missing: Mapping[str, int] = field(default_factory=dict)  # pixels lacking per side


def crop_plan(
    width: int,
    height: int,
    face: Box,
    profile: Profile,
    *,
    rotation: float = 0.0,
    centre: tuple[float, float] | None = None,
    eyes: Sequence[tuple[float, float]] = (),
) -> CropPlan:
    """A 35:45 crop with the head at the profile's ratio (up to ``head_ratio_max`` when
    the image is too small around the face), horizontally centred on the face and the
    crown ``crown_margin`` below the top (within ``crown_margin_range``).

    ``rotation`` (degrees, anticlockwise, about ``centre``) is the straightening the
    caller applies first: the crop must then come from real pixels of the original,
    not from the corners the rotation brings in. ``eyes`` (in the straightened image)
    refine the head estimate as the checker does. Pure geometry: no pixels."""
    fix = profile["fix"]
    head = Head.of(face, profile, eyes)
    aspect = float(fix["width_mm"]) / float(fix["height_mm"])
    target, top = float(fix["head_ratio"]), float(fix["head_ratio_max"])
    margin = float(fix["crown_margin"])
    m_low, m_high = (float(v) for v in fix["crown_margin_range"])
    ratios = [target]
    step = 0.005
    while ratios[-1] + step <= top + 1e-9:
        ratios.append(round(ratios[-1] + step, 4))
    last: CropPlan | None = None
    slack = float(fix["centring_slack"])
    for ratio in ratios:
        crop_h = head.height / ratio
        crop_w = crop_h * aspect
        centred = head.centre_x - crop_w / 2
        # slide sideways by at most `slack` of the width to stay in the image
        x0 = min(max(centred, 0.0), width - crop_w)
        x0 = min(max(x0, centred - slack * crop_w), centred + slack * crop_w)
        wanted_y = head.crown - margin * crop_h
        # slide vertically inside the allowed crown margins to stay in the image
        y_low = head.crown - m_high * crop_h
        y_high = head.crown - m_low * crop_h
        y0 = min(max(wanted_y, 0.0, y_low), y_high, height - crop_h)
        y0 = max(y0, y_low)
        box = (round(x0), round(y0), round(crop_w), round(crop_h))
        missing = _missing(box, width, height, rotation, centre)
        plan = CropPlan(
            fits=not missing,
            box=box,
            head_ratio=round(ratio, 4),
            crown_margin=round((head.crown - y0) / crop_h, 4),
            missing=missing,
        )
        if plan.fits:
            return plan
        last = last or plan
    if last is None:  # pragma: no cover - ratios is never empty
        raise ValueError("no crop ratio to try")
    return last


def _missing(
    box: tuple[int, int, int, int],
    width: int,
    height: int,
    rotation: float,
    centre: tuple[float, float] | None,
) -> dict[str, int]:
    """Pixels by which ``box`` (mapped back through the rotation) leaves the image."""
    x, y, w, h = box
    corners = [(x, y), (x + w, y), (x, y + h), (x + w, y + h)]
    if rotation:
        cx, cy = centre if centre is not None else (width / 2, height / 2)
        # the straightened image is the original rotated by `rotation` anticlockwise
        # (image y down): a straightened point comes from the original point rotated back
        theta = math.radians(rotation)
        cos, sin = math.cos(theta), math.sin(theta)
        corners = [
            (cx + cos * (px - cx) - sin * (py - cy), cy + sin * (px - cx) + cos * (py - cy))
            for px, py in corners
        ]
    xs = [c[0] for c in corners]
    ys = [c[1] for c in corners]
    missing = {
        "gauche": -min(xs),
        "droite": max(xs) - width,
        "haut": -min(ys),
        "bas": max(ys) - height,
    }
    return {side: math.ceil(v) for side, v in missing.items() if v > 0.5}


def roll_degrees(eyes: Sequence[tuple[float, float]]) -> float:
    """Angle of the eye line in degrees; positive when the right eye (in the image) is
    lower, i.e. the head leans clockwise."""
    (lx, ly), (rx, ry) = eyes
    return math.degrees(math.atan2(ry - ly, rx - lx))


# ------------------------------------------------------------------------ the check


@dataclass
class _Subject:
    """The measured photo: upright pixels, the face and its eyes."""

    rgb: np.ndarray
    face: Box | None = None
    eyes: tuple[tuple[float, float], ...] = ()
    head: Head | None = None
    small_rgb: np.ndarray | None = None
    # the photo's own size (upright) and how much ``rgb`` was reduced from it
    size: tuple[int, int] = (0, 0)
    factor: int = 1


def check(doc: Document, ctx: Context) -> Verdict:
    profile = get_profile(ctx.photo_profile)
    if not doc.pages:
        return Verdict.of([inconclusive(PhotoCode.NO_FACE, profile=profile.name, reason="vide")])
    page = doc.pages[0]
    image = page.image()
    # a 12-megapixel phone photo is measured on a copy reduced by a whole factor (memory
    # and time); sizes in pixels are reported for the photo itself
    limit = int(profile["detector"]["work_max_side"])
    factor = max(1, max(image.size) // limit)
    rgb = pix.as_rgb(image.reduce(factor) if factor > 1 else image)
    findings: list[Finding] = []
    base = {"profile": profile.name}

    subject = _Subject(rgb, size=tuple(image.size), factor=factor)
    located: Located | None = None
    face_problem: str | None = None
    detector = ctx.vision
    if detector is None:
        face_problem = "aucun détecteur de visage"
    else:
        try:
            located = locate(rgb, detector, profile)
        except Exception as exc:  # a detector failure is inconclusive, never a verdict
            face_problem = f"{type(exc).__name__}: {exc}"[:200]
    if located is not None and located.turns:
        subject.rgb = pix.turn(rgb, located.turns)
        if located.turns % 2:
            subject.size = (subject.size[1], subject.size[0])
    if located is not None and len(located.faces) == 1:
        subject.face = located.faces[0]
        try:
            face = subject.face
            candidates = detector.eyes(
                subject.rgb, face, enough=lambda found: eyes_settled(found, face)
            )
            subject.eyes = eye_pair(candidates, face)
        except Exception:  # eyes are optional: their criteria become inconclusive
            subject.eyes = ()
        subject.head = Head.of(subject.face, profile, subject.eyes)

    width, height = subject.size
    findings.append(_pixels(subject, profile, base))
    findings.append(_aspect(width, height, profile, base))
    findings.extend(_faces(located, face_problem, base))
    geometry_ok = subject.face is not None
    small = _working_copy(subject)
    if geometry_ok:
        findings.append(_head_size(subject, profile, base))
        findings.append(_centring(subject, profile, base))
        findings.append(_eye_line(subject, profile, base))
        findings.extend(_background(subject, small, profile, base))
    else:
        for code in (
            PhotoCode.HEAD_SIZE,
            PhotoCode.CENTRING,
            PhotoCode.EYE_LINE,
            PhotoCode.BACKGROUND_UNIFORM,
            PhotoCode.BACKGROUND,
        ):
            findings.append(_skipped(code, base))
    findings.append(_colour(subject, small, profile, base))
    if geometry_ok:
        findings.append(_colour_cast(subject, small, profile, base))
        findings.append(_blur(subject, profile, base))
        findings.append(_exposure(subject, profile, base))
        findings.append(_lighting(subject, profile, base))
        findings.append(_roll(subject, profile, base))
    else:
        for code in (
            PhotoCode.COLOUR_CAST,
            PhotoCode.BLUR,
            PhotoCode.EXPOSURE,
            PhotoCode.LIGHTING,
            PhotoCode.ROLL,
        ):
            findings.append(_skipped(code, base))
    findings.append(_software(image, ctx, profile, base))

    fields: dict[str, Any] = {"photo_profile": profile.name, "size": [width, height]}
    if located is not None:
        fields["turns"] = located.turns
        fields["faces"] = [list(b) for b in located.faces]
    if subject.eyes:
        fields["eyes"] = [[round(v, 1) for v in e] for e in subject.eyes]
    return Verdict.of(findings, fields)


def _head_of(subject: _Subject) -> Head:
    if subject.head is None:  # callers run face criteria only once a face is found
        raise ValueError("no face measured")
    return subject.head


def _face_of(subject: _Subject) -> Box:
    if subject.face is None:
        raise ValueError("no face measured")
    return subject.face


def _skipped(code: PhotoCode, base: Mapping[str, Any]) -> Finding:
    return finding(
        code,
        Level.INFO,
        result=Result.SKIPPED,
        message="Non évalué : il faut d’abord un seul visage, bien détecté.",
        **base,
    )


def _judged(
    code: PhotoCode, level: Level | None, base: Mapping[str, Any], **detail: Any
) -> Finding:
    if level is None:
        values = {**base, **detail}
        text = string.Formatter().vformat(code.ok_message, (), _Blank(values))
        return passed(code, **values) if text == code.ok_message else _pass_with(code, text, values)
    return finding(code, level, **base, **detail)


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return "?"


def _pass_with(code: PhotoCode, text: str, values: Mapping[str, Any]) -> Finding:
    return finding(code, Level.INFO, result=Result.PASS, message=text, **values)


def _fr(value: float, digits: int = 1) -> str:
    """A number written the French way (decimal comma)."""
    return f"{value:.{digits}f}".replace(".", ",")


def _working_copy(subject: _Subject, max_side: int = 400) -> tuple[np.ndarray, float]:
    small, scale = pix.shrink(subject.rgb, max_side)
    subject.small_rgb = small
    return pix.lab(small), scale


# -- criteria ------------------------------------------------------------------


def _ied(subject: _Subject, profile: Profile) -> tuple[float | None, str]:
    if subject.eyes:
        (lx, ly), (rx, ry) = subject.eyes
        return math.hypot(rx - lx, ry - ly), "yeux détectés"
    if subject.face:
        return subject.face[2] * float(profile["detector"]["ied_per_face_width"]), "estimée"
    return None, "non mesurée"


def _pixels(subject: _Subject, profile: Profile, base: Mapping[str, Any]) -> Finding:
    px = profile["pixels"]
    width, height = subject.size
    ied, source = _ied(subject, profile)
    if ied is not None:
        ied *= subject.factor
    level: Level | None = None
    if min(width, height) < px["error_short_side"] or (ied is not None and ied < px["error_ied"]):
        level = Level.ERROR
    elif (
        width < px["warn_width"]
        or height < px["warn_height"]
        or (ied is not None and ied < px["warn_ied"])
    ):
        level = Level.WARNING
    return _judged(
        PhotoCode.PIXELS,
        level,
        base,
        measured={"width": width, "height": height, "ied": _r(ied)},
        threshold={k: px[k] for k in px},
        width=width,
        height=height,
        ied=round(ied) if ied is not None else None,
        ied_text=f", {round(ied)} pixels entre les yeux" if ied is not None else "",
        ied_source=source,
        min_width=px["warn_width"],
        min_height=px["warn_height"],
    )


def _aspect(width: int, height: int, profile: Profile, base: Mapping[str, Any]) -> Finding:
    ratio = width / height
    level = grade(ratio, profile["aspect"])
    if ratio > 1:
        advice = "Photo non rognée : rognez-la autour de votre visage, en hauteur."
    elif ratio < profile["aspect"]["pass"][0]:
        advice = "Photo trop étroite : recadrez-la au format 35 × 45 mm."
    else:
        advice = "Recadrez la photo au format 35 × 45 mm."
    return _judged(
        PhotoCode.ASPECT,
        level,
        base,
        measured=round(ratio, 3),
        threshold=_ranges(profile["aspect"]),
        ratio=_fr(ratio, 2),
        width=width,
        height=height,
        advice=advice,
    )


def _faces(located: Located | None, problem: str | None, base: Mapping[str, Any]) -> list[Finding]:
    if located is None:
        return [
            inconclusive(PhotoCode.NO_FACE, reason=problem or "?", **base),
            _skipped(PhotoCode.ORIENTATION, base),
        ]
    count = len(located.faces)
    out: list[Finding] = []
    if count == 0:
        out.append(finding(PhotoCode.NO_FACE, Level.ERROR, measured=0, threshold=1, **base))
    elif count > 1:
        out.append(
            finding(
                PhotoCode.FACES,
                Level.ERROR,
                measured=count,
                threshold=1,
                count=count,
                ignored_small=located.ignored,
                boxes=[list(b) for b in located.faces],
                **base,
            )
        )
    else:
        out.append(
            passed(PhotoCode.FACES, measured=1, threshold=1, ignored_small=located.ignored, **base)
        )
    if count == 0:
        out.append(_skipped(PhotoCode.ORIENTATION, base))
    elif located.turns:
        out.append(
            finding(
                PhotoCode.ORIENTATION,
                Level.ERROR,
                measured=f"visage trouvé après {90 * located.turns}°",
                threshold="visage trouvé sans tourner la photo",
                rotate_ccw_degrees=90 * located.turns,
                turn=turn_words(located.turns),
                **base,
            )
        )
    else:
        out.append(passed(PhotoCode.ORIENTATION, measured=0, threshold=0, **base))
    return out


def _head_size(subject: _Subject, profile: Profile, base: Mapping[str, Any]) -> Finding:
    head = _head_of(subject)
    section = profile["head_size"]
    height = subject.rgb.shape[0]
    ratio = head.height / height
    level = grade(ratio, section)
    low, high = section["pass"]
    if ratio < low:
        advice = (
            "Rognez la photo autour de votre visage : la tête doit occuper l’essentiel "
            "de la hauteur."
        )
    else:
        advice = (
            "Votre tête est trop grande ou coupée : toute la tête doit être visible, du "
            "menton au sommet du crâne, avec un peu d’espace au-dessus."
        )
    return _judged(
        PhotoCode.HEAD_SIZE,
        level,
        base,
        measured=round(ratio, 3),
        threshold=_ranges(section),
        percent=round(100 * ratio),
        expected=f"{round(100 * low)} à {round(100 * high)} %",
        advice=advice,
        face_box=list(head.box),
    )


def _centring(subject: _Subject, profile: Profile, base: Mapping[str, Any]) -> Finding:
    head = _head_of(subject)
    width = subject.rgb.shape[1]
    offset = (head.centre_x - width / 2) / width
    level = grade(abs(offset), profile["centring"])
    return _judged(
        PhotoCode.CENTRING,
        level,
        base,
        measured=round(abs(offset), 3),
        threshold=_ranges(profile["centring"]),
        percent=round(100 * abs(offset)),
        side="droite" if offset > 0 else "gauche",
    )


def _eye_line(subject: _Subject, profile: Profile, base: Mapping[str, Any]) -> Finding:
    section = profile["eye_line"]
    if not section.get("enabled", False):
        return finding(
            PhotoCode.EYE_LINE,
            Level.INFO,
            result=Result.SKIPPED,
            message="Critère non demandé par ce profil.",
            **base,
        )
    face = _face_of(subject)
    if subject.eyes:
        eye_y = sum(e[1] for e in subject.eyes) / 2
        source = "yeux détectés"
    else:
        _, y, _, h = face
        eye_y = y + float(profile["detector"]["eye_line_in_box"]) * h
        source = "estimée"
    share = eye_y / subject.rgb.shape[0]
    low, high = section["pass"]
    return _judged(
        PhotoCode.EYE_LINE,
        grade(share, section),
        base,
        measured=round(share, 3),
        threshold=_ranges(section),
        source=source,
        percent=round(100 * share),
        low=round(100 * low),
        high=round(100 * high),
    )


def _head_ellipse(shape: tuple[int, int], head: Head, scale: float, widen: float) -> np.ndarray:
    """Boolean mask of the head ellipse (face box width × 1.24 wide, crown to chin
    tall), widened by ``widen``, in a copy scaled by ``scale``."""
    rows, cols = shape
    w = head.box[2]
    cx = head.centre_x * scale
    cy = (head.crown + head.chin) / 2 * scale
    ax = max(1.0, 0.62 * w * widen * scale)
    ay = max(1.0, head.height / 2 * widen * scale)
    yy, xx = np.ogrid[:rows, :cols]
    return ((xx - cx) / ax) ** 2 + ((yy - cy) / ay) ** 2 <= 1.0


def background_mask(
    shape: tuple[int, int], head: Head, scale: float, section: Mapping[str, Any]
) -> np.ndarray:
    """The background region: bands along the left, right and top edges, above the
    chin, outside the widened head ellipse (shoulders and hair are not background)."""
    rows, cols = shape
    band = max(2, round(float(section["band"]) * cols))
    region = np.zeros(shape, bool)
    chin = max(0, min(rows, round(head.chin * scale)))
    region[:chin, :band] = True
    region[:chin, cols - band :] = True
    region[:band, :] = True
    return region & ~_head_ellipse(shape, head, scale, float(section["face_margin"]))


def _background(
    subject: _Subject,
    small: tuple[np.ndarray, float],
    profile: Profile,
    base: Mapping[str, Any],
) -> list[Finding]:
    head = _head_of(subject)
    lab, scale = small
    section = profile["background"]
    mask = background_mask(lab.shape[:2], head, scale, section)
    count = int(mask.sum())
    if count < float(section["min_share"]) * mask.size:
        return [
            inconclusive(PhotoCode.BACKGROUND_UNIFORM, pixels=count, **base),
            inconclusive(PhotoCode.BACKGROUND, pixels=count, **base),
        ]
    stats = pix.dominant_colour(lab, mask)
    gradient = pix.gradient_mean(lab[:, :, 0], mask)
    uniform = _judged(
        PhotoCode.BACKGROUND_UNIFORM,
        grade(stats["share"], section, "share"),
        base,
        measured=_r(stats["share"]),
        threshold=_ranges(section, "share"),
        l_std=_r(stats["l_std_all"]),
        gradient=_r(gradient),
        pixels=count,
        percent=round(100 * stats["share"]),
        minimum=round(100 * section["share_pass"][0]),
    )
    colour = profile["background_colour"]
    lightness, chroma = stats["l"], stats["chroma"]
    level_colour: Level | None = None
    advice_key = str(colour.get("advice", "white_wanted"))
    for rule in colour["rules"]:
        if "l_below" in rule and not lightness < rule["l_below"]:
            continue
        if "c_above" in rule and not chroma > rule["c_above"]:
            continue
        name = rule.get("level", "pass")
        level_colour = None if name == "pass" else Level(name)
        advice_key = str(rule.get("advice", advice_key))
        break
    return [
        uniform,
        _judged(
            PhotoCode.BACKGROUND,
            level_colour,
            base,
            measured={
                "l": _r(lightness),
                "chroma": _r(chroma),
                "a": _r(stats["a"]),
                "b": _r(stats["b"]),
            },
            threshold={"rules": [dict(r) for r in colour["rules"]]},
            lightness=round(lightness),
            chroma=_fr(chroma),
            advice=BACKGROUND_ADVICE.get(advice_key, BACKGROUND_ADVICE["white_wanted"]),
        ),
    ]


def _colour(
    subject: _Subject,
    small: tuple[np.ndarray, float],
    profile: Profile,
    base: Mapping[str, Any],
) -> Finding:
    lab, scale = small
    section = profile["colour"]
    if subject.head is not None:
        mask = _head_ellipse(lab.shape[:2], subject.head, scale, 1.0)
    else:
        mask = np.ones(lab.shape[:2], bool)
    # a white wall says nothing about colour either way: leave near-white pixels out
    near_white = (lab[:, :, 0] > 92) & (np.hypot(lab[:, :, 1], lab[:, :, 2]) < 4)
    if (mask & ~near_white).sum() >= 200:
        mask = mask & ~near_white
    spread = pix.monochrome_spread(lab, mask)
    rgb_small = subject.small_rgb if subject.small_rgb is not None else subject.rgb
    pixels = rgb_small[mask].astype(np.int16)
    if not len(pixels):
        pixels = rgb_small.reshape(-1, 3).astype(np.int16)
    difference = float(
        np.abs(pixels[:, 0] - pixels[:, 1]).mean() + np.abs(pixels[:, 1] - pixels[:, 2]).mean()
    )
    mono = spread < section["monochrome_spread_below"] or (
        difference < section["grey_channel_difference_below"]
    )
    return _judged(
        PhotoCode.COLOUR,
        Level.WARNING if mono else None,
        base,
        measured={"spread": _r(spread), "channel_difference": _r(difference)},
        threshold={
            "spread_below": section["monochrome_spread_below"],
            "channel_difference_below": section["grey_channel_difference_below"],
        },
    )


def _inner_face(subject: _Subject, fx: float = 0.15, fy: float = 0.10) -> tuple[int, int, int, int]:
    face = _face_of(subject)
    x, y, w, h = face
    rows, cols = subject.rgb.shape[:2]
    x0, x1 = max(0, round(x + fx * w)), min(cols, round(x + (1 - fx) * w))
    y0, y1 = max(0, round(y + fy * h)), min(rows, round(y + (1 - fy) * h))
    return x0, y0, x1, y1


def _colour_cast(
    subject: _Subject,
    small: tuple[np.ndarray, float],
    profile: Profile,
    base: Mapping[str, Any],
) -> Finding:
    face = _face_of(subject)
    lab, scale = small
    section = profile["colour_cast"]
    x, y, w, h = face
    x0, x1 = round((x + 0.25 * w) * scale), round((x + 0.75 * w) * scale)
    y0, y1 = round((y + 0.40 * h) * scale), round((y + 0.85 * h) * scale)
    region = lab[max(0, y0) : y1, max(0, x0) : x1].reshape(-1, 3)
    if len(region) < 20:
        return inconclusive(PhotoCode.COLOUR_CAST, pixels=len(region), **base)
    a, b = float(np.median(region[:, 1])), float(np.median(region[:, 2]))

    def inside(value: float, bounds: Sequence[float]) -> bool:
        return bounds[0] <= value <= bounds[1]

    plausible = inside(a, section["plausible_a"]) and inside(b, section["plausible_b"])
    natural = inside(a, section["natural_a"]) and inside(b, section["natural_b"])
    detail = {
        "measured": {"a": _r(a), "b": _r(b)},
        "threshold": {k: list(v) for k, v in section.items()},
    }
    if not plausible:
        return finding(PhotoCode.COLOUR_CAST, Level.WARNING, **base, **detail)
    if not natural:
        return finding(
            PhotoCode.COLOUR_CAST,
            Level.INFO,
            message="Teinte de la peau inhabituelle (filtre ou éclairage coloré ?) : "
            "indication pour le gestionnaire.",
            **base,
            **detail,
        )
    return passed(PhotoCode.COLOUR_CAST, **base, **detail)


def _blur(subject: _Subject, profile: Profile, base: Mapping[str, Any]) -> Finding:
    section = profile["blur"]
    x0, y0, x1, y1 = _inner_face(subject, 0.10, 0.08)
    crop = pix.grey(subject.rgb[y0:y1, x0:x1])
    if crop.size == 0:
        return inconclusive(PhotoCode.BLUR, **base)
    value = pix.sharpness(crop, int(section["face_width"]))
    return _judged(
        PhotoCode.BLUR,
        grade(value, section),
        base,
        measured=_r(value),
        threshold=_ranges(section),
        sharpness=round(value),
        minimum=round(section["pass"][0]),
        face_width=section["face_width"],
    )


def _exposure(subject: _Subject, profile: Profile, base: Mapping[str, Any]) -> Finding:
    section = profile["exposure"]
    # cheeks, nose, mouth, eyes: not the hair line, a hat brim or the jaw's shadow
    x0, y0, x1, y1 = _inner_face(subject, 0.20, 0.22)
    face = pix.grey(subject.rgb[y0:y1, x0:x1])
    if face.size == 0:
        return inconclusive(PhotoCode.EXPOSURE, **base)
    dark = float((face <= section["dark_level"]).mean())
    bright = float((face >= section["bright_level"]).mean())
    mean = float(face.mean()) / 255.0
    share = max(dark, bright)
    level: Level | None = None
    if share > section["share_error_above"]:
        level = Level.ERROR
    elif share > section["share_warn_above"] or grade(mean, section, "mean") is not None:
        level = Level.WARNING
    too_dark = dark > bright if share > section["share_warn_above"] else mean < 0.5
    return _judged(
        PhotoCode.EXPOSURE,
        level,
        base,
        measured={"dark_share": _r(dark), "bright_share": _r(bright), "mean": _r(mean)},
        threshold={
            "share_warn_above": section["share_warn_above"],
            "share_error_above": section["share_error_above"],
            "mean": _ranges(section, "mean"),
        },
        state="trop sombre (visage sous-exposé)" if too_dark else "trop claire (visage surexposé)",
    )


def _lighting(subject: _Subject, profile: Profile, base: Mapping[str, Any]) -> Finding:
    section = profile["lighting"]
    x0, y0, x1, y1 = _inner_face(subject)
    split = round(sum(e[0] for e in subject.eyes) / 2) if subject.eyes else (x0 + x1) // 2
    split = min(max(split, x0 + 1), x1 - 1)
    gray = pix.grey(subject.rgb[y0:y1, x0:x1])
    left, right = gray[:, : split - x0], gray[:, split - x0 :]
    if left.size == 0 or right.size == 0:
        return inconclusive(PhotoCode.LIGHTING, **base)
    value = pix.histogram_intersection(left, right)
    return _judged(
        PhotoCode.LIGHTING,
        grade(value, section),
        base,
        measured=_r(value),
        threshold=_ranges(section),
        split="yeux" if subject.eyes else "centre du visage",
    )


def _roll(subject: _Subject, profile: Profile, base: Mapping[str, Any]) -> Finding:
    section = profile["roll"]
    if not subject.eyes:
        return inconclusive(PhotoCode.ROLL, threshold=_ranges(section), **base)
    angle = roll_degrees(subject.eyes)
    return _judged(
        PhotoCode.ROLL,
        grade(angle, section),
        base,
        measured=round(angle, 1),
        threshold=_ranges(section),
        angle=_fr(abs(angle)),
    )


def _software(image: Any, ctx: Context, profile: Profile, base: Mapping[str, Any]) -> Finding:
    names = pix.metadata_software(image)
    extra = ctx.options.get("source_software") if ctx.options else None
    if extra:
        names.extend([extra] if isinstance(extra, str) else list(extra))
    if not names:
        return finding(
            PhotoCode.SOFTWARE,
            Level.INFO,
            result=Result.SKIPPED,
            message="Métadonnées absentes (retirées au dépôt) : logiciel non vérifiable.",
            **base,
        )
    editors = [str(e).lower() for e in profile["software"]["editors"]]
    named = [n for n in names if any(e in n.lower() for e in editors)]
    if named:
        return finding(
            PhotoCode.SOFTWARE, Level.INFO, measured=named, software=", ".join(named), **base
        )
    return passed(PhotoCode.SOFTWARE, measured=names, **base)


def _r(value: float | None) -> float | None:
    return None if value is None else round(float(value), 3)
