"""Labelled ID-photo samples, derived from the two portraits that ship offline.

Sources: scikit-image's ``data.astronaut()`` (512 × 512) and matplotlib's
``grace_hopper.jpg`` (512 × 600). Each portrait is cut out once (OpenCV GrabCut seeded
from the face box, inside a head-and-shoulders region) and composed on a new canvas:
white, light grey or light blue background, the head at a chosen size and place. Every
variant then gets one defect, and the truth file says which reason codes each profile
must raise (``expected``), which it may raise as a side effect (``allowed``), and
whether ``justif photo-fix`` must be able to repair it (``repair``: ``"ok"``, or the
reason code it must give when it cannot).

Usage::

    python -m samples.photos OUT_DIR [--seed 7] [--only compliant_white,turned_90]

writes ``OUT_DIR/<source>-<variant>.jpg`` and ``OUT_DIR/photos.json``. The same seed
gives the same files. Nothing is downloaded; nothing third-party is stored in the
repository (the images are built from the installed packages each time).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

# Geometry of a compliant ID photo (ISO/ANTS style): 35:45, head (chin to crown)
# 75 % of the height, crown 7 % below the top edge, face centred.
RATIO = 35 / 45
HEAD = 0.755
CROWN = 0.07
# Where the head sits relative to a Haar face box (x, y, w, h) of the source: the chin
# at y + h, the crown 1.3 h above the chin (see validators/data/photo_profiles.toml).
HEAD_FACTOR = 1.30
CHIN = 1.00

WHITE = (252, 252, 251)
GREY = (206, 207, 207)  # L* ≈ 83
BLUE = (203, 221, 240)  # L* ≈ 87, C* ≈ 10: light blue, ANTS-style

JPEG_QUALITY = 92


@dataclass(frozen=True)
class Source:
    name: str
    face: tuple[int, int, int, int]  # Haar box (frontalface_default) on the source
    # the region GrabCut may keep, in face-box units: the head ellipse's half-axes and
    # the torso outline as (rows below the chin, half-width) pairs
    head_axes: tuple[float, float]
    torso: tuple[tuple[float, float], ...]
    # the head's own tilt in the source (eye line, degrees, positive = clockwise),
    # undone when composing so that compliant samples are straight
    roll: float = 0.0

    def image(self) -> np.ndarray:
        if self.name == "astronaut":
            from skimage import data

            return np.ascontiguousarray(data.astronaut()[:, :, :3])
        from matplotlib import cbook
        from PIL import Image

        path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))


SOURCES = (
    Source(
        "astronaut",
        (177, 66, 95, 95),
        (0.82, 0.98),
        ((-0.15, 0.55), (0.6, 1.5), (6.0, 2.0)),
        roll=3.3,
    ),
    Source(
        "hopper",
        (155, 105, 222, 222),
        (0.56, 0.95),
        ((-0.15, 0.42), (0.2, 0.7), (0.4, 1.1), (2.0, 1.2)),
        roll=-4.2,
    ),
)


@dataclass(frozen=True)
class Cutout:
    rgb: np.ndarray
    alpha: np.ndarray  # float32 0–1
    face: tuple[int, int, int, int]
    roll: float = 0.0


@cache
def cutout(source: Source, seed: int = 7) -> Cutout:
    """The person of ``source`` with a soft alpha mask (GrabCut at half size)."""
    import cv2

    rgb = source.image()
    h, w = rgb.shape[:2]
    x, y, fw, fh = source.face
    cx = x + fw / 2
    allowed = np.zeros((h, w), np.uint8)
    cv2.ellipse(
        allowed,
        (round(cx), round(y + 0.40 * fh)),
        (round(source.head_axes[0] * fw), round(source.head_axes[1] * fh)),
        0,
        0,
        360,
        1,
        -1,
    )
    chin = y + fh
    right = [(cx + half * fw, chin + dy * fh) for dy, half in source.torso]
    left = [(cx - half * fw, chin + dy * fh) for dy, half in reversed(source.torso)]
    torso = np.array(right + left, np.int32)
    cv2.fillPoly(allowed, [torso], 1)
    mask = np.where(allowed > 0, cv2.GC_PR_FGD, cv2.GC_BGD).astype(np.uint8)
    core = (round(x + 0.18 * fw), round(y + 0.12 * fh), round(x + 0.82 * fw), round(y + 0.95 * fh))
    mask[core[1] : core[3], core[0] : core[2]] = cv2.GC_FGD
    half = cv2.resize(rgb, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    half_mask = cv2.resize(mask, (w // 2, h // 2), interpolation=cv2.INTER_NEAREST)
    bgd = np.zeros((1, 65), np.float64)
    fgd = np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(seed)
    cv2.grabCut(
        cv2.cvtColor(half, cv2.COLOR_RGB2BGR), half_mask, None, bgd, fgd, 4, cv2.GC_INIT_WITH_MASK
    )
    fg = np.isin(half_mask, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.uint8)
    # keep the largest connected piece (the person), fill its holes
    count, labels, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
    if count > 1:
        biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        fg = (labels == biggest).astype(np.uint8)
    fg = cv2.morphologyEx(fg, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    full = cv2.resize(fg.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    alpha = cv2.GaussianBlur(full, (0, 0), 1.2)
    return Cutout(
        rgb=rgb, alpha=np.clip(alpha, 0, 1).astype(np.float32), face=source.face, roll=source.roll
    )


def _background(width: int, height: int, colour: tuple[int, int, int], rng: Any) -> np.ndarray:
    """A plain background with a faint light fall-off and sensor noise."""
    base = np.empty((height, width, 3), np.float32)
    base[:] = colour
    yy = np.linspace(-1, 1, height, dtype=np.float32)[:, None]
    xx = np.linspace(-1, 1, width, dtype=np.float32)[None, :]
    base *= (1.0 - 0.012 * (xx**2 + yy**2))[:, :, None]
    base += rng.normal(0, 1.2, size=base.shape).astype(np.float32)
    return base


def _busy(width: int, height: int, rng: Any) -> np.ndarray:
    """A cluttered room-like background: many random coloured shapes."""
    import cv2

    canvas = np.full((height, width, 3), 200, np.uint8)
    for _ in range(260):
        colour = tuple(int(c) for c in rng.integers(20, 255, size=3))
        if rng.random() < 0.5:
            p1 = tuple(int(v) for v in (rng.integers(0, width), rng.integers(0, height)))
            p2 = tuple(
                int(v)
                for v in (
                    p1[0] + rng.integers(20, width // 3),
                    p1[1] + rng.integers(20, height // 3),
                )
            )
            cv2.rectangle(canvas, p1, p2, colour, -1)
        else:
            centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
            cv2.circle(canvas, centre, int(rng.integers(10, width // 6)), colour, -1)
    return canvas.astype(np.float32)


def compose(
    cut: Cutout,
    width: int,
    height: int,
    *,
    head: float = HEAD,
    centre_x: float = 0.5,
    crown: float = CROWN,
    background: np.ndarray,
) -> np.ndarray:
    """The person scaled so the head is ``head`` of the height, face centre at
    ``centre_x`` of the width and crown at ``crown`` of the height, over ``background``."""
    import cv2

    x, y, fw, fh = cut.face
    scale = head * height / (HEAD_FACTOR * fh)
    src_cx, src_cy = x + fw / 2, y + fh / 2
    src_crown = y + CHIN * fh - HEAD_FACTOR * fh
    dst_cx = centre_x * width
    dst_cy = crown * height + scale * (src_cy - src_crown)
    # rotate (undoing the source's tilt) and scale about the face centre, then move it
    matrix = cv2.getRotationMatrix2D((src_cx, src_cy), cut.roll, scale).astype(np.float32)
    matrix[0, 2] += dst_cx - src_cx
    matrix[1, 2] += dst_cy - src_cy
    person = cv2.warpAffine(
        cut.rgb.astype(np.float32),
        matrix,
        (width, height),
        flags=cv2.INTER_CUBIC,
        borderMode=cv2.BORDER_REPLICATE,
    )
    alpha = cv2.warpAffine(
        cut.alpha, matrix, (width, height), flags=cv2.INTER_LINEAR, borderValue=0.0
    )[:, :, None]
    out = alpha * person + (1 - alpha) * background
    if scale > 1.6:  # an enlarged low-resolution portrait: restore a camera-like acutance
        soft = cv2.GaussianBlur(out, (0, 0), 0.5 * scale)
        out = out + 0.9 * (out - soft)
    return np.clip(out, 0, 255).astype(np.uint8)


# ---------------------------------------------------------------------- variants

PROFILES = ("university", "ants")


@dataclass(frozen=True)
class Variant:
    name: str
    build: Callable[[Source, Any], np.ndarray]
    # codes that must be flagged, per profile (a tuple applies to both)
    expected: dict[str, tuple[str, ...]]
    allowed: tuple[str, ...] = ()
    # "ok" (photo-fix must make it pass), a photo-fix refusal code, or None (a new photo
    # is needed: photo-fix may crop it but cannot make it pass)
    repair: str | None = None
    base: str = "white"  # background colour the photo-fixed version keeps
    note: str = ""
    tags: tuple[str, ...] = field(default=())


def _both(*codes: str) -> dict[str, tuple[str, ...]]:
    return {p: codes for p in PROFILES}


def _white(src: Source, rng: Any, width: int = 630, height: int = 810, **kw: Any) -> np.ndarray:
    return compose(
        cutout(src), width, height, background=_background(width, height, WHITE, rng), **kw
    )


def _grey(src: Source, rng: Any) -> np.ndarray:
    return compose(cutout(src), 630, 810, background=_background(630, 810, GREY, rng))


def _blue(src: Source, rng: Any) -> np.ndarray:
    return compose(cutout(src), 630, 810, background=_background(630, 810, BLUE, rng))


def _rot(k: int) -> Callable[[Source, Any], np.ndarray]:
    def build(src: Source, rng: Any) -> np.ndarray:
        return np.ascontiguousarray(np.rot90(_white(src, rng), k))

    return build


def _grayscale(src: Source, rng: Any) -> np.ndarray:
    img = _white(src, rng).astype(np.float32)
    g = img @ np.array([0.299, 0.587, 0.114], np.float32)
    return np.clip(np.stack([g] * 3, -1), 0, 255).astype(np.uint8)


def _sepia(src: Source, rng: Any) -> np.ndarray:
    img = _white(src, rng).astype(np.float32)
    matrix = (
        np.array([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]], np.float32)
        / 1.351
    )  # the classic sepia matrix, scaled so that white stays in range
    return np.clip(img @ matrix.T, 0, 255).astype(np.uint8)


def _filter(src: Source, rng: Any) -> np.ndarray:
    img = _white(src, rng).astype(np.float32)
    tint = np.array([40, 120, 255], np.float32)
    return np.clip(0.62 * img + 0.38 * tint, 0, 255).astype(np.uint8)


def _blurred(src: Source, rng: Any) -> np.ndarray:
    import cv2

    img = _white(src, rng)
    return cv2.GaussianBlur(img, (0, 0), 630 * 0.72 / 40)


def _dark(src: Source, rng: Any) -> np.ndarray:
    img = _white(src, rng).astype(np.float32) / 255.0
    return np.clip(255 * 0.55 * img**2.6, 0, 255).astype(np.uint8)


def _bright(src: Source, rng: Any) -> np.ndarray:
    img = _white(src, rng).astype(np.float32) / 255.0
    return np.clip(255 * 1.45 * img**0.8, 0, 255).astype(np.uint8)


def _busy_background(src: Source, rng: Any) -> np.ndarray:
    return compose(cutout(src), 630, 810, background=_busy(630, 810, rng))


def _two_faces(src: Source, rng: Any) -> np.ndarray:
    other = next(s for s in SOURCES if s is not src)
    width, height = 630, 810
    left = compose(
        cutout(src),
        width,
        height,
        head=0.42,
        centre_x=0.27,
        crown=0.18,
        background=_background(width, height, WHITE, rng),
    )
    return compose(
        cutout(other),
        width,
        height,
        head=0.40,
        centre_x=0.74,
        crown=0.22,
        background=left.astype(np.float32),
    )


def _small_face(src: Source, rng: Any) -> np.ndarray:
    return _white(src, rng, 1120, 1440, head=0.38, crown=0.22)


def _large_face(src: Source, rng: Any) -> np.ndarray:
    return _white(src, rng, head=1.07, crown=-0.09)


def _off_centre(src: Source, rng: Any) -> np.ndarray:
    return _white(src, rng, head=0.52, centre_x=0.63, crown=0.14)


def _few_pixels(src: Source, rng: Any) -> np.ndarray:
    return _white(src, rng, 230, 296)


def _wrong_aspect(src: Source, rng: Any) -> np.ndarray:
    return _white(src, rng, 810, 810, head=0.70, crown=0.08)


def _no_face(src: Source, rng: Any) -> np.ndarray:
    # the camera aimed too low: only the neck and shoulders are in the frame
    return _white(src, rng, head=0.75, crown=-0.80)


def _head_low(src: Source, rng: Any) -> np.ndarray:
    return _white(src, rng, head=0.62, crown=0.24)


def _tilted(src: Source, rng: Any) -> np.ndarray:
    import cv2

    img = _white(src, rng, head=0.55, crown=0.18)
    h, w = img.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, 0.45 * h), 13.0, 1.0)
    return cv2.warpAffine(
        img,
        matrix,
        (w, h),
        flags=cv2.INTER_CUBIC,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=WHITE,
    )


def _side_shadow(src: Source, rng: Any) -> np.ndarray:
    img = _white(src, rng).astype(np.float32)
    w = img.shape[1]
    ramp = np.clip((np.arange(w, dtype=np.float32) - 0.30 * w) / (0.32 * w), 0, 1)
    gain = 0.38 + 0.62 * ramp
    return np.clip(img * gain[None, :, None], 0, 255).astype(np.uint8)


_BG = "photo.background"
_BGU = "photo.background_uniform"
_EXPO = "photo.exposure"

VARIANTS: tuple[Variant, ...] = (
    Variant(
        "compliant_white",
        _white,
        {"university": (), "ants": (_BG,)},
        repair="ok",
        note="university-compliant; ANTS forbids the white background",
        tags=("compliant",),
    ),
    Variant(
        "compliant_grey",
        _grey,
        {"university": (_BG,), "ants": ()},
        repair="ok",
        base="grey",
        note="ANTS-compliant; the university wants white",
        tags=("compliant",),
    ),
    Variant(
        "compliant_blue",
        _blue,
        {"university": (_BG,), "ants": ()},
        repair="ok",
        base="blue",
        note="ANTS-compliant light-blue background",
        tags=("compliant",),
    ),
    Variant(
        "turned_90",
        _rot(-1),
        {"university": ("photo.orientation",), "ants": ("photo.orientation", _BG)},
        repair="ok",
        note="turned a quarter turn clockwise",
    ),
    Variant(
        "turned_180",
        _rot(2),
        {"university": ("photo.orientation",), "ants": ("photo.orientation", _BG)},
        repair="ok",
        note="upside down",
    ),
    Variant(
        "grayscale",
        _grayscale,
        {"university": ("photo.colour",), "ants": ("photo.colour", _BG)},
        allowed=("photo.colour_cast",),
        repair=None,
    ),
    Variant(
        "sepia",
        _sepia,
        {"university": ("photo.colour",), "ants": ("photo.colour",)},
        allowed=("photo.colour_cast", _BG),
        repair=None,
    ),
    Variant(
        "colour_filter",
        _filter,
        {"university": ("photo.colour_cast", _BG), "ants": ("photo.colour_cast",)},
        allowed=(_BG, "photo.blur", "photo.roll"),
        repair=None,
        note="38 % blend with saturated blue",
    ),
    Variant(
        "blurred",
        _blurred,
        {"university": ("photo.blur",), "ants": ("photo.blur", _BG)},
        allowed=("photo.roll", "photo.pixels", _BGU),
        repair=None,
    ),
    Variant(
        "dark",
        _dark,
        {"university": (_EXPO,), "ants": (_EXPO,)},
        allowed=(_BG, "photo.lighting", "photo.colour_cast", "photo.roll", "photo.blur"),
        repair=None,
    ),
    Variant(
        "overexposed",
        _bright,
        {"university": (_EXPO,), "ants": (_EXPO, _BG)},
        allowed=(
            "photo.colour_cast",
            "photo.lighting",
            "photo.roll",
            "photo.blur",
            "photo.head_size",
        ),
        repair=None,
    ),
    Variant(
        "busy_background",
        _busy_background,
        {"university": (_BGU,), "ants": (_BGU,)},
        allowed=(_BG,),
        repair=None,
    ),
    Variant(
        "two_faces",
        _two_faces,
        _both("photo.faces"),
        allowed=(_BG,),
        repair="photo.faces",
    ),
    Variant(
        "face_small",
        _small_face,
        _both("photo.head_size"),
        allowed=(_BG, "photo.eye_line"),
        repair="ok",
        note="head 38 % of the height",
    ),
    Variant(
        "face_large",
        _large_face,
        _both("photo.head_size"),
        allowed=(_BG, _BGU, "photo.eye_line", "photo.centring", "photo.roll"),
        repair="photo.fix_edge",
        note="head 107 % of the height: crown and chin cut",
    ),
    Variant(
        "off_centre",
        _off_centre,
        {"university": ("photo.centring",), "ants": ("photo.centring", "photo.head_size", _BG)},
        allowed=("photo.eye_line", "photo.head_size"),
        repair="ok",
        note="face centre 13 % of the width right of the middle, head 52 %",
    ),
    Variant(
        "few_pixels",
        _few_pixels,
        _both("photo.pixels"),
        allowed=(_BG,),
        repair="photo.fix_small",
        note="230 × 296 pixels",
    ),
    Variant(
        "wrong_aspect",
        _wrong_aspect,
        {"university": ("photo.aspect",), "ants": ("photo.aspect", _BG)},
        allowed=("photo.head_size",),
        repair="ok",
        note="square",
    ),
    Variant(
        "no_face",
        _no_face,
        _both("photo.no_face"),
        repair="photo.no_face",
        note="framed below the chin: neck and shoulders only",
    ),
    Variant(
        "head_low",
        _head_low,
        {"university": (), "ants": ("photo.eye_line", "photo.head_size", _BG)},
        repair="ok",
        note="head 62 %, crown 24 % below the top: eyes at ~56 % of the height",
        tags=("compliant",),
    ),
    Variant(
        "tilted",
        _tilted,
        {"university": ("photo.roll",), "ants": ("photo.roll", "photo.head_size", _BG)},
        allowed=("photo.eye_line", "photo.centring"),
        repair="ok",
        note="head tilted 13°, 55 % of the height",
    ),
    Variant(
        "side_shadow",
        _side_shadow,
        {"university": ("photo.lighting",), "ants": ("photo.lighting",)},
        allowed=(_BG, _BGU, _EXPO, "photo.colour_cast", "photo.head_size", "photo.roll"),
        repair=None,
        note="left side darkened to 38 %",
    ),
)


GEOMETRY = frozenset(
    {
        "photo.orientation",
        "photo.head_size",
        "photo.centring",
        "photo.aspect",
        "photo.roll",
        "photo.eye_line",
    }
)


def after_fix(variant: Variant, profile: str) -> list[str]:
    """Codes a photo-fixed version must still raise: what is not geometry, plus the
    white background under ANTS."""
    codes = [c for c in variant.expected[profile] if c not in GEOMETRY]
    if variant.base == "white" and profile == "ants" and _BG not in codes:
        codes.append(_BG)
    return sorted(codes)


def truth_entry(src: Source, variant: Variant) -> dict[str, Any]:
    return {
        "file": f"{src.name}-{variant.name}.jpg",
        "source": src.name,
        "variant": variant.name,
        "compliant_for": [p for p in PROFILES if not variant.expected[p]],
        "expected": {p: list(variant.expected[p]) for p in PROFILES},
        "allowed": list(variant.allowed),
        "repair": variant.repair,
        "after_fix": (
            {p: after_fix(variant, p) for p in PROFILES} if variant.repair == "ok" else None
        ),
        "note": variant.note,
    }


def generate(
    out_dir: Path | str,
    *,
    seed: int = 7,
    only: Iterable[str] | None = None,
    sources: Iterable[str] | None = None,
) -> list[dict[str, Any]]:
    """Write every variant of every source into ``out_dir`` plus ``photos.json``;
    return the truth entries."""
    from PIL import Image

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    wanted = set(only) if only else None
    names = set(sources) if sources else None
    entries = []
    for index, src in enumerate(SOURCES):
        if names and src.name not in names:
            continue
        for number, variant in enumerate(VARIANTS):
            if wanted and variant.name not in wanted:
                continue
            rng = np.random.default_rng([seed, index, number])
            pixels = variant.build(src, rng)
            entry = truth_entry(src, variant)
            Image.fromarray(pixels).save(out / entry["file"], "JPEG", quality=JPEG_QUALITY)
            entry["size"] = [int(pixels.shape[1]), int(pixels.shape[0])]
            entries.append(entry)
    (out / "photos.json").write_text(
        json.dumps({"seed": seed, "photos": entries}, indent=2, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    return entries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--only", default="", help="comma-separated variant names")
    parser.add_argument("--source", default="", help="astronaut or hopper (default: both)")
    args = parser.parse_args(argv)
    entries = generate(
        args.out_dir,
        seed=args.seed,
        only=[v for v in args.only.split(",") if v] or None,
        sources=[s for s in args.source.split(",") if s] or None,
    )
    for entry in entries:
        print(f"{entry['file']:<34} {entry['expected']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
