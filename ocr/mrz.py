"""Finding and reading the machine-readable zone (MRZ) in a page image.

Perception only: this module returns candidate line strings; whether they form a valid
MRZ (check digits, layouts, repair) is decided by ``validators.mrz``, which the caller
passes in as ``accept``. Steps:

1. **Locate** text lines with OpenCV morphology at two working scales: black-hat (dark
   strokes on a light card), horizontal Sobel gradient, Otsu threshold, a horizontal
   closing that joins the characters of a line, then the contours' rotated boxes; long
   thin boxes are lines. Two or three parallel, equally long, left-aligned lines stacked
   at a regular spacing form a **band**, scored by how MRZ-like it is.
2. **Cut** each line of a band out of the full-resolution page, deskewed, and stack the
   lines at one character height into a small image.
3. **Cells.** MRZ characters sit on a fixed pitch, fillers included, so each line is cut
   into as many cells as it holds characters (30, 36 or 44); each cell is tested for
   the filler's shape (a chevron '<': ink at mid-height on the left, at top and bottom
   on the right, none at the right middle). OCR-B's thin '<' is what Tesseract most
   often misreads (as K, s, c…) or drops.
4. **Read** the stacked band with Tesseract (``eng``, one block, dictionaries off) and
   align its text with the cells (dynamic programming): fillers come from the shape
   test, the other characters from Tesseract, in order. Both the aligned lines and the
   raw ones are offered to ``accept``.
5. **Retry** while ``accept`` refuses: another binarisation, another scale, the band
   turned 180°, then the page turned 90° and 270°.

A TD1 band (the CNIe) is read **cell by cell** instead (``read_cells``): Tesseract's
symbols, with their boxes and the LSTM's alternatives (hOCR), are bound to the cells
under them by position, and the glyphs of every two cells are compared (the same
character printed on the same card looks the same). ``validators.mrz.resolve_cells``
makes the reading; one it does not call sure is left in ``MrzScan.pending`` for a
confirmation from elsewhere (the number printed on the other side).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from PIL import Image

    from ocr.engine import OcrEngine

# MRZ line lengths: TD1 (3 x 30), old French ID card (2 x 36), TD3 (2 x 44)
WIDTHS = (30, 36, 44)
CHAR_HEIGHT = 36  # px: the character height lines are brought to before OCR
_WORK_WIDTHS = (1000, 640)


@dataclass(frozen=True, slots=True)
class Line:
    """A rotated text-line box in page pixels: centre, size (long side first), angle."""

    cx: float
    cy: float
    length: float
    thickness: float
    angle: float  # degrees, the line's direction, in (-45, 45]

    @property
    def left(self) -> float:
        return self.cx - self.length / 2


@dataclass(frozen=True)
class Band:
    lines: tuple[Line, ...]
    score: float

    @property
    def angle(self) -> float:
        return float(np.median([ln.angle for ln in self.lines]))


@dataclass
class MrzScan:
    """What was read: the candidate line sets in the order tried, the one accepted."""

    lines: list[str] | None = None  # the accepted candidate (None: none accepted)
    page: int | None = None
    rotation: int = 0
    candidates: list[list[str]] = field(default_factory=list)
    bands_found: int = 0
    attempts: int = 0
    timed_out: bool = False
    elapsed_ms: float = 0.0
    pages_with_band: list[int] = field(default_factory=list)
    confirmed_by: str | None = None  # a repaired reading confirmed by this other read
    unconfirmed: list[str] = field(default_factory=list)  # repaired readings never confirmed
    method: str | None = None  # the read that gave ``lines`` (e.g. "cells-grey")
    # cell-by-cell readings (``resolve``'s results) not trusted as they are, best first,
    # with the page and rotation they come from: for a confirmation from elsewhere
    pending: list[tuple[Any, int, int]] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return self.lines is not None

    def best_effort(self) -> list[str] | None:
        """The first candidate read (for display when nothing verified)."""
        return self.candidates[0] if self.candidates else None


# ----------------------------------------------------------------------- locating


def _gray(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L"))


def find_lines(gray: np.ndarray) -> list[Line]:
    """Long thin text-line boxes, in page pixels, found at two working scales."""
    import cv2

    h, w = gray.shape
    found: list[Line] = []
    for work in _WORK_WIDTHS:
        scale = min(1.0, work / max(w, h))
        small = (
            cv2.resize(
                gray,
                (max(1, round(w * scale)), max(1, round(h * scale))),
                interpolation=cv2.INTER_AREA,
            )
            if scale < 1
            else gray
        )
        sw = max(small.shape)
        k = max(3, round(sw / 70))
        blackhat = cv2.morphologyEx(
            small, cv2.MORPH_BLACKHAT, cv2.getStructuringElement(cv2.MORPH_RECT, (k * 2, k))
        )
        grad = np.abs(cv2.Sobel(blackhat, cv2.CV_32F, 1, 0, ksize=3))
        grad = (255 * grad / (grad.max() + 1e-6)).astype(np.uint8)
        _, mask = cv2.threshold(grad, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
        join = max(5, round(sw / 42))
        mask = cv2.morphologyEx(
            mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (join, 3))
        )
        mask = cv2.morphologyEx(
            mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
        )
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        for contour in contours:
            (cx, cy), (rw, rh), angle = cv2.minAreaRect(contour)
            if rw < rh:
                rw, rh, angle = rh, rw, angle + 90
            angle = (angle + 90) % 180 - 90
            if angle <= -45:
                angle += 180
            if angle > 45 or angle <= -45:
                continue  # vertical lines: the page is turned, tried at 90°/270°
            if rh < 3 or rw < 12 * rh or rw < 0.18 * sw:
                continue
            found.append(Line(cx / scale, cy / scale, rw / scale, rh / scale, angle))
    return _dedupe(found)


def _dedupe(lines: list[Line]) -> list[Line]:
    kept: list[Line] = []
    for ln in sorted(lines, key=lambda x: -x.length):
        if any(
            abs(ln.cy - k.cy) < 0.6 * max(ln.thickness, k.thickness)
            and abs(ln.cx - k.cx) < 0.5 * max(ln.length, k.length)
            for k in kept
        ):
            continue
        kept.append(ln)
    return kept


def find_bands(lines: Sequence[Line]) -> list[Band]:
    """Groups of 2 or 3 parallel lines of the same length, left-aligned, evenly
    stacked: the MRZ's shape. Best first."""
    bands: list[Band] = []
    ordered = sorted(lines, key=lambda x: x.cy)
    for i, first in enumerate(ordered):
        group = [first]
        for other in ordered[i + 1 :]:
            last = group[-1]
            gap = other.cy - last.cy
            height = max(last.thickness, other.thickness)
            if gap > 3.2 * height:
                break
            if (
                gap >= 0.9 * height
                and abs(other.angle - first.angle) < 3
                and abs(other.length - first.length) < 0.12 * first.length
                and abs(other.left - first.left) < 0.06 * first.length
            ):
                group.append(other)
            if len(group) == 3:
                break
        for size in (3, 2):
            if len(group) >= size:
                chosen = tuple(group[:size])
                bands.append(Band(chosen, _band_score(chosen)))
    bands.sort(key=lambda b: -b.score)
    out: list[Band] = []
    for band in bands:  # drop bands contained in a better one
        if not any(set(band.lines) <= set(b.lines) for b in out):
            out.append(band)
    return out


def _band_score(lines: Sequence[Line]) -> float:
    length = float(np.mean([ln.length for ln in lines]))
    thick = float(np.mean([ln.thickness for ln in lines]))
    aspect = length / max(thick, 1)
    # an MRZ line is 30-44 characters: length / height between ~25 and ~60
    shape = 1.0 if 22 <= aspect <= 70 else 0.3
    spread = float(np.std([ln.length for ln in lines])) / length
    return shape * (len(lines) + 1) * length * (1 - spread)


# ------------------------------------------------------------------------ cutting


def _rotate(gray: np.ndarray, angle: float, center: tuple[float, float]) -> np.ndarray:
    import cv2

    matrix = cv2.getRotationMatrix2D(center, angle, 1.0)
    return cv2.warpAffine(
        gray,
        matrix,
        (gray.shape[1], gray.shape[0]),
        flags=cv2.INTER_CUBIC,
        borderMode=cv2.BORDER_REPLICATE,
    )


def cut_lines(gray: np.ndarray, band: Band) -> list[np.ndarray]:
    """Each line of ``band``, deskewed, tightly cropped, at CHAR_HEIGHT pixels."""
    import cv2

    # work on a window around the band only (rotating a whole page costs ~50 ms)
    reach = max(ln.length for ln in band.lines) / 2 + 3 * max(ln.thickness for ln in band.lines)
    xs = [ln.cx for ln in band.lines]
    ys = [ln.cy for ln in band.lines]
    wx0, wx1 = max(0, int(min(xs) - reach)), min(gray.shape[1], int(max(xs) + reach))
    wy0 = max(0, int(min(ys) - reach * 0.35))
    wy1 = min(gray.shape[0], int(max(ys) + reach * 0.35))
    window = gray[wy0:wy1, wx0:wx1]
    cx = float(np.mean(xs)) - wx0
    cy = float(np.mean(ys)) - wy0
    upright = _rotate(window, band.angle, (cx, cy)) if abs(band.angle) > 0.3 else window
    rad = np.radians(band.angle)
    out = []
    for ln in band.lines:
        # the line's centre after the rotation about (cx, cy)
        dx, dy = ln.cx - wx0 - cx, ln.cy - wy0 - cy
        lx = cx + dx * np.cos(rad) + dy * np.sin(rad)
        ly = cy - dx * np.sin(rad) + dy * np.cos(rad)
        half_h = ln.thickness * 0.9
        pad = ln.thickness * 0.8
        x0 = max(0, int(lx - ln.length / 2 - pad))
        x1 = min(upright.shape[1], int(lx + ln.length / 2 + pad))
        y0 = max(0, int(ly - half_h))
        y1 = min(upright.shape[0], int(ly + half_h))
        crop = upright[y0:y1, x0:x1]
        if crop.size == 0:
            continue
        crop = _tighten(crop)
        if crop is None:
            continue
        scale = CHAR_HEIGHT / max(1, crop.shape[0])
        crop = cv2.resize(
            crop,
            (max(1, round(crop.shape[1] * scale)), CHAR_HEIGHT),
            interpolation=cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA,
        )
        out.append(crop)
    return out


def _ink(gray: np.ndarray) -> np.ndarray:
    import cv2

    blur = cv2.GaussianBlur(gray, (3, 3), 0)
    _, mask = cv2.threshold(blur, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    return mask > 0


def _tighten(crop: np.ndarray) -> np.ndarray | None:
    """Crop to the rows and columns that hold the line's characters."""
    ink = _ink(crop)
    rows = ink.mean(axis=1)
    if rows.max() <= 0:
        return None
    # the text rows: the longest run of rows with a fair share of ink
    active = rows > 0.25 * rows.max()
    best, start, run = (0, 0), None, 0
    for i, on in enumerate([*active, False]):
        if on and start is None:
            start = i
        elif not on and start is not None:
            if i - start > run:
                run, best = i - start, (start, i)
            start = None
    r0, r1 = best
    if r1 - r0 < 4:
        return None
    cols = np.flatnonzero(ink[r0:r1].any(axis=0))
    if cols.size == 0:
        return None
    margin = max(2, (r1 - r0) // 3)
    c0, c1 = max(0, cols[0] - margin), min(crop.shape[1], cols[-1] + 1 + margin)
    m = max(1, (r1 - r0) // 6)
    return crop[max(0, r0 - m) : min(crop.shape[0], r1 + m), c0:c1]


def _scaled(image: np.ndarray, factor: float) -> np.ndarray:
    import cv2

    size = (round(image.shape[1] * factor), round(image.shape[0] * factor))
    return cv2.resize(image, size, interpolation=cv2.INTER_CUBIC)


def stack(lines: Sequence[np.ndarray], *, binarise: bool = False) -> np.ndarray:
    """The lines one under the other on a white page with margins (for Tesseract)."""
    import cv2

    width = max(ln.shape[1] for ln in lines) + 2 * CHAR_HEIGHT
    gap = CHAR_HEIGHT
    height = len(lines) * CHAR_HEIGHT + (len(lines) + 1) * gap
    page = np.full((height, width), 255, np.uint8)
    for i, ln in enumerate(lines):
        img = ln
        if binarise:
            img = cv2.adaptiveThreshold(
                ln,
                255,
                cv2.ADAPTIVE_THRESH_GAUSSIAN_C,
                cv2.THRESH_BINARY,
                2 * (CHAR_HEIGHT // 2) + 1,
                12,
            )
        else:
            lo, hi = np.percentile(ln, 2), np.percentile(ln, 98)
            img = np.clip((ln.astype(np.float32) - lo) * 255 / max(1, hi - lo), 0, 255)
            img = img.astype(np.uint8)
        y = gap + i * (CHAR_HEIGHT + gap)
        page[y : y + img.shape[0], CHAR_HEIGHT : CHAR_HEIGHT + img.shape[1]] = img
    return page


# -------------------------------------------------------------------------- cells


def _glyphs(line: np.ndarray) -> list[tuple[int, int, float]]:
    """Character-like ink components of a line: (left, right, centre x), sorted.
    Specks, the card's edge and long strokes are left out."""
    import cv2

    ink = _ink(line).astype(np.uint8)
    n, _, stats, centroids = cv2.connectedComponentsWithStats(ink, connectivity=8)
    h = line.shape[0]
    out = []
    for i in range(1, n):
        x, y, w, gh = stats[i, :4]
        if gh < 0.3 * h or w > 1.5 * h or w < 0.08 * h:
            continue
        if y > 0.6 * h or y + gh < 0.4 * h:
            continue  # must cross the middle of the line
        out.append((int(x), int(x + w), float(centroids[i][0])))
    out.sort(key=lambda g: g[2])
    return out


def _pitch(glyphs: Sequence[tuple[int, int, float]], h: int) -> float | None:
    if len(glyphs) < 10:
        return None
    steps = np.diff([g[2] for g in glyphs])
    steps = steps[steps > 0.25 * h]
    if steps.size < 8:
        return None
    return float(np.median(steps))


def _span(glyphs: Sequence[tuple[int, int, float]], pitch: float) -> tuple[float, float]:
    """Centres of the first and last characters of the line: the longest chain of
    glyphs spaced by about one pitch or a few (skips stray marks at either end)."""
    best: tuple[int, int] = (0, 0)
    start = 0
    for i in range(1, len(glyphs) + 1):
        if i == len(glyphs) or glyphs[i][2] - glyphs[i - 1][2] > 3.5 * pitch:
            if i - start > best[1] - best[0]:
                best = (start, i)
            start = i
    a, b = best
    return glyphs[a][2], glyphs[b - 1][2]


def cells(line: np.ndarray, count: int) -> list[tuple[int, int]] | None:
    """``count`` equal cells from the line's first to its last character (the MRZ is
    monospaced, fillers included)."""
    glyphs = _glyphs(line)
    pitch = _pitch(glyphs, line.shape[0])
    if pitch is None:
        return None
    c0, c1 = _span(glyphs, pitch)
    step = (c1 - c0) / (count - 1)
    if step < 4 or abs(step - pitch) > 0.25 * pitch:
        return None
    return [
        (max(0, round(c0 + (i - 0.5) * step)), min(line.shape[1], round(c0 + (i + 0.5) * step)))
        for i in range(count)
    ]


def char_count(line: np.ndarray) -> int | None:
    """The MRZ width (30, 36 or 44) that fits the line's character pitch, or None."""
    glyphs = _glyphs(line)
    pitch = _pitch(glyphs, line.shape[0])
    if pitch is None:
        return None
    c0, c1 = _span(glyphs, pitch)
    span = (c1 - c0) / pitch + 1
    best = min(WIDTHS, key=lambda w: abs(w - span))
    return best if abs(best - span) <= 0.12 * best else None


def is_filler(cell: np.ndarray) -> bool:
    """Does this character cell hold the filler '<' (a chevron)? Font-independent
    shape test on the ink: the left fifth of the glyph is inked only around mid-height,
    the right fifth at the top and the bottom but not at mid-height."""
    ink = _ink(cell) if cell.dtype != bool else cell
    ys, xs = np.nonzero(ink)
    if ys.size < 6:
        return False
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    gh, gw = y1 - y0, x1 - x0
    if gh < 0.45 * cell.shape[0] or gw < 0.35 * gh:
        return False
    glyph = ink[y0:y1, x0:x1]
    fifth = max(1, gw // 5)
    left_rows = np.flatnonzero(glyph[:, :fifth].any(axis=1))
    right = glyph[:, gw - fifth :]
    if left_rows.size == 0:
        return False
    left_span = (left_rows[-1] - left_rows[0] + 1) / gh
    left_mid = (left_rows[0] + left_rows[-1]) / 2 / gh
    top = right[: max(1, gh // 4)].any()
    bottom = right[gh - max(1, gh // 4) :].any()
    middle = right[int(gh * 0.35) : max(int(gh * 0.35) + 1, int(gh * 0.65))].mean()
    return bool(left_span < 0.45 and 0.3 < left_mid < 0.7 and top and bottom and middle < 0.08)


def _cell_glyph(ink: np.ndarray, a: int, b: int) -> np.ndarray:
    """The ink of the character in cell [a, b): the component nearest the cell's
    centre, taken from a slightly wider window (a glyph may overhang its cell and a
    neighbour's tail may reach into it)."""
    import cv2

    extra = max(1, (b - a) // 4)
    x0, x1 = max(0, a - extra), min(ink.shape[1], b + extra)
    window = ink[:, x0:x1].astype(np.uint8)
    n, labels, stats, centroids = cv2.connectedComponentsWithStats(window, connectivity=8)
    if n <= 1:
        return window.astype(bool)
    centre = (a + b) / 2 - x0
    big = max(stats[i, cv2.CC_STAT_AREA] for i in range(1, n))
    best = min(
        (i for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] >= 0.25 * big),
        key=lambda i: abs(centroids[i][0] - centre),
    )
    if abs(centroids[best][0] - centre) > 0.6 * (b - a):
        return np.zeros_like(window, dtype=bool)
    return labels == best


def filler_mask(line: np.ndarray, count: int) -> list[bool] | None:
    boxes = cells(line, count)
    if boxes is None:
        return None
    ink = _ink(line)
    return [is_filler(_cell_glyph(ink, a, b)) for a, b in boxes]


# ----------------------------------------------------------------------- aligning

_FILLER_LIKE = set("KSCEXZ")
# costs of the alignment: a filler read as '<' or as a letter Tesseract often makes of
# OCR-B's thin chevron (K, S, C, E, X, Z) is cheap on a filler cell; a '<' on a
# character cell or a real character thrown away is dear.
_ON_FILLER = {"<": 0.0, "like": 0.3, "other": 1.0}
_ON_CHAR = {"<": 2.0, "like": 0.0, "other": 0.0}
_SKIP_TEXT = {"<": 0.2, "like": 0.9, "other": 1.5}
_SKIP_CELL = {True: 0.3, False: 1.5}


def _class(c: str) -> str:
    return "<" if c == "<" else ("like" if c in _FILLER_LIKE else "other")


def align(text: str, mask: Sequence[bool]) -> str:
    """Fit the OCR text of one line onto its cells: filler cells get '<', the others
    the OCR characters in order (Needleman-Wunsch); a cell left without a character
    gets '<' (the check digits will tell)."""
    n, m = len(mask), len(text)
    inf = float("inf")
    cost = np.full((m + 1, n + 1), inf)
    back = np.zeros((m + 1, n + 1), np.int8)  # 1 diag, 2 skip char, 3 skip cell
    cost[0, 0] = 0
    classes = [_class(c) for c in text]
    for i in range(m + 1):
        for j in range(n + 1):
            here = cost[i, j]
            if here == inf:
                continue
            if i < m and j < n:
                step = (_ON_FILLER if mask[j] else _ON_CHAR)[classes[i]]
                if here + step < cost[i + 1, j + 1]:
                    cost[i + 1, j + 1], back[i + 1, j + 1] = here + step, 1
            if i < m:
                step = _SKIP_TEXT[classes[i]]
                if here + step < cost[i + 1, j]:
                    cost[i + 1, j], back[i + 1, j] = here + step, 2
            if j < n:
                step = _SKIP_CELL[bool(mask[j])]
                if here + step < cost[i, j + 1]:
                    cost[i, j + 1], back[i, j + 1] = here + step, 3
    out = ["<"] * n
    i, j = m, n
    while i > 0 or j > 0:
        move = back[i, j]
        if move == 1:
            out[j - 1] = "<" if mask[j - 1] else text[i - 1]
            i, j = i - 1, j - 1
        elif move == 2:
            i -= 1
        else:
            j -= 1
    return "".join(out)


# ------------------------------------------------------------------------ reading


def _clean(text: str) -> str:
    text = text.upper().replace("«", "<<")
    out = []
    for c in text:
        if c.isspace():
            continue
        out.append(c if ("A" <= c <= "Z" or "0" <= c <= "9" or c == "<") else "<")
    return "".join(out)


def _ocr_lines(engine: OcrEngine, image: np.ndarray) -> tuple[list[str], bool]:
    from PIL import Image

    pil = Image.fromarray(image)
    reader = getattr(engine, "read_block", None)
    result = reader(pil) if reader is not None else engine.read_page(pil, lang="eng", psm=6)
    lines = [_clean(t) for t in result.text.splitlines()]
    return [ln for ln in lines if len(ln) >= 10], result.timed_out


@dataclass
class _Prepared:
    """One band's lines cut out, with their cells and filler masks."""

    lines: list[np.ndarray]
    masks: list[list[bool] | None]
    boxes: list[list[tuple[int, int]] | None]

    @property
    def complete(self) -> bool:
        return all(m is not None for m in self.masks)

    @property
    def fillers(self) -> int:
        return sum(sum(m) for m in self.masks if m is not None)


def prepare(lines: list[np.ndarray]) -> _Prepared:
    masks: list[list[bool] | None] = []
    boxes: list[list[tuple[int, int]] | None] = []
    for line in lines:
        count = char_count(line)
        box = cells(line, count) if count else None
        boxes.append(box)
        if box is None:
            masks.append(None)
            continue
        ink = _ink(line)
        masks.append([is_filler(_cell_glyph(ink, a, b)) for a, b in box])
    return _Prepared(lines, masks, boxes)


def compact(prepared: _Prepared) -> list[np.ndarray] | None:
    """Each line with its filler cells taken out: Tesseract then reads only the
    characters, without the chevrons that derail it (and with fewer cues to guess
    letters from)."""
    out = []
    for line, mask, box in zip(prepared.lines, prepared.masks, prepared.boxes, strict=True):
        if mask is None or box is None:
            return None
        pieces = [line[:, a:b] for (a, b), filler in zip(box, mask, strict=True) if not filler]
        if not pieces:
            return None
        out.append(np.hstack(pieces))
    return out


def expand(text: str, mask: Sequence[bool]) -> str:
    """The OCR text of a compacted line put back into its cells."""
    slots = [j for j, filler in enumerate(mask) if not filler]
    if len(text) == len(slots):
        out = ["<"] * len(mask)
        for j, c in zip(slots, text, strict=True):
            out[j] = c
        return "".join(out)
    return align(text, mask)


def expand_options(text: str, mask: Sequence[bool]) -> tuple[list[str], bool]:
    """Ways to put a compacted line's OCR text back into its cells, and whether they
    are guesses: one character too many (Tesseract doubles a glyph now and then) gives
    one option per character dropped; the check digits pick, and another read must
    confirm."""
    slots = sum(1 for filler in mask if not filler)
    if len(text) == slots + 1:
        seen: dict[str, None] = {}
        for i in range(len(text)):
            seen.setdefault(expand(text[:i] + text[i + 1 :], mask), None)
        return list(seen), True
    return [expand(text, mask)], len(text) != slots


# ------------------------------------------------------------------- cell reading

_MRZ_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
GLYPH_SIZE = 32  # px: glyphs are compared at this height, their width kept


@dataclass(frozen=True, slots=True)
class Cell:
    """What Tesseract put in one character cell."""

    char: str  # '<' on a filler cell; '' when Tesseract placed nothing usable here
    # the characters its LSTM considered for the cell, with their scores (0-100), best
    # first; ``char`` itself is usually the first
    choices: tuple[tuple[str, float], ...] = ()
    count: int = 1  # symbols placed in the cell: 1 normally, 0 missed, 2+ split or doubled
    confidence: float = 0.0

    @property
    def filler(self) -> bool:
        return self.char == "<"


@dataclass
class CellRead:
    """A band read cell by cell: each character Tesseract gave is bound to the cell under
    it by position (never by order, so a doubled or dropped character cannot shift the
    others), with its alternatives; and how alike the glyphs of any two character cells
    look (the same character printed on the same card looks the same)."""

    cells: list[list[Cell]]
    variant: str
    similarity: np.ndarray  # cosine similarity between the glyphs of character cells
    index: dict[tuple[int, int], int]  # (line, cell) -> row of ``similarity``
    timed_out: bool = False

    def lines(self) -> list[str]:
        """The cells' characters; '?' where Tesseract gave none."""
        return ["".join(c.char or "?" for c in line) for line in self.cells]

    def alike(self, a: tuple[int, int], b: tuple[int, int]) -> float | None:
        i, j = self.index.get(a), self.index.get(b)
        if i is None or j is None:
            return None
        return float(self.similarity[i, j])


def _glyph_vector(line: np.ndarray, ink: np.ndarray, a: int, b: int) -> np.ndarray | None:
    """The glyph of cell [a, b) in grey levels, brought to GLYPH_SIZE pixels high (its
    width kept, centred), as a zero-mean unit vector."""
    import cv2

    mask = _cell_glyph(ink, a, b)
    ys, xs = np.nonzero(mask)
    if ys.size < 6:
        return None
    x_off = max(0, a - max(1, (b - a) // 4))
    y0, y1, c0, c1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    crop = 255 - line[y0:y1, x_off + c0 : x_off + c1].astype(np.float32)
    crop = crop * mask[y0:y1, c0:c1]
    height, width = crop.shape
    new_w = max(1, min(GLYPH_SIZE, round(width * GLYPH_SIZE / height)))
    resized = cv2.resize(crop, (new_w, GLYPH_SIZE), interpolation=cv2.INTER_AREA)
    canvas = np.zeros((GLYPH_SIZE, GLYPH_SIZE), np.float32)
    left = (GLYPH_SIZE - new_w) // 2
    canvas[:, left : left + new_w] = resized
    vector = canvas.ravel() - canvas.mean()
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else None


def glyph_similarity(prep: _Prepared) -> tuple[dict[tuple[int, int], int], np.ndarray]:
    """Cosine similarity between the glyphs of every character (non-filler) cell."""
    index: dict[tuple[int, int], int] = {}
    vectors: list[np.ndarray] = []
    for li, (line, mask, box) in enumerate(zip(prep.lines, prep.masks, prep.boxes, strict=True)):
        if mask is None or box is None:
            continue
        ink = _ink(line)
        for ci, ((a, b), filler) in enumerate(zip(box, mask, strict=True)):
            if filler:
                continue
            vector = _glyph_vector(line, ink, a, b)
            if vector is not None:
                index[(li, ci)] = len(vectors)
                vectors.append(vector)
    if not vectors:
        return {}, np.zeros((0, 0), np.float32)
    matrix = np.stack(vectors)
    return index, matrix @ matrix.T


def _compact_layout(
    prep: _Prepared, *, binarise: bool, scale: float
) -> tuple[np.ndarray, list[tuple[float, float]], list[list[tuple[float, float, int]]]]:
    """The compacted band (filler cells taken out) as ``stack`` draws it, with where
    each line and each character cell ended up: (image, line y ranges, per line
    (x0, x1, cell index))."""
    packed, slots = [], []
    for line, mask, box in zip(prep.lines, prep.masks, prep.boxes, strict=True):
        if mask is None or box is None:
            raise ValueError("a line without cells")
        pieces, spots, x = [], [], 0
        for ci, ((a, b), filler) in enumerate(zip(box, mask, strict=True)):
            if filler:
                continue
            pieces.append(line[:, a:b])
            spots.append((x, x + b - a, ci))
            x += b - a
        packed.append(np.hstack(pieces))
        slots.append(spots)
    image = stack(packed, binarise=binarise)
    gap = CHAR_HEIGHT
    rows = [
        (gap + i * (CHAR_HEIGHT + gap), gap + i * (CHAR_HEIGHT + gap) + CHAR_HEIGHT)
        for i in range(len(packed))
    ]
    if scale != 1.0:
        image = _scaled(image, scale)
    rows_s = [(y0 * scale, y1 * scale) for y0, y1 in rows]
    slots_s = [
        [((CHAR_HEIGHT + x0) * scale, (CHAR_HEIGHT + x1) * scale, ci) for x0, x1, ci in spots]
        for spots in slots
    ]
    return image, rows_s, slots_s


def _cell_char(char: str) -> str:
    char = char.upper()
    return char if char in _MRZ_ALPHABET else ""


def read_cells(
    engine: OcrEngine, prep: _Prepared, *, binarise: bool = False, scale: float = 1.0
) -> CellRead | None:
    """Read the compacted band once (Tesseract's symbols with their boxes and choices)
    and bind every symbol to the character cell under its centre. None when the engine
    cannot give symbols or the band has no cells."""
    from PIL import Image

    reader = getattr(engine, "read_symbols", None)
    if reader is None or not mrz_like(prep):
        return None
    image, rows, slots = _compact_layout(prep, binarise=binarise, scale=scale)
    symbols, timed_out = reader(Image.fromarray(image))
    placed: list[list[list[Any]]] = [[[] for _ in mask or ()] for mask in prep.masks]
    margin = CHAR_HEIGHT * scale / 2
    for sym in symbols:
        x0, y0, x1, y1 = sym.box
        cy, cx = (y0 + y1) / 2, (x0 + x1) / 2
        li = next((i for i, (a, b) in enumerate(rows) if a - margin <= cy < b + margin), None)
        if li is None or not slots[li]:
            continue
        near = min(slots[li], key=lambda s: abs((s[0] + s[1]) / 2 - cx))
        if not near[0] - margin / 2 <= cx < near[1] + margin / 2:
            continue  # a mark outside the characters
        placed[li][near[2]].append(sym)
    cells: list[list[Cell]] = []
    for li, mask in enumerate(prep.masks):
        row: list[Cell] = []
        for ci, filler in enumerate(mask or ()):
            found = placed[li][ci]
            if filler:
                row.append(Cell("<", count=len(found)))
                continue
            if len(found) != 1:
                merged: dict[str, float] = {}
                for sym in found:
                    for c, score in ((sym.char, sym.confidence), *sym.choices):
                        if (c := _cell_char(c)) and score > merged.get(c, -1.0):
                            merged[c] = score
                ranked = tuple(sorted(merged.items(), key=lambda kv: -kv[1]))
                row.append(Cell("", ranked, len(found)))
                continue
            sym = found[0]
            best: dict[str, float] = {}
            for c, score in sym.choices:
                if (c := _cell_char(c)) and score > best.get(c, -1.0):
                    best[c] = score
            ranked = tuple(sorted(best.items(), key=lambda kv: -kv[1]))
            row.append(Cell(_cell_char(sym.char), ranked, 1, sym.confidence))
        cells.append(row)
    index, similarity = glyph_similarity(prep)
    variant = f"cells-{'bin' if binarise else 'grey'}{'' if scale == 1.0 else f'-x{scale:g}'}"
    return CellRead(cells, variant, similarity, index, timed_out)


_EARLIER_SCORE = 50.0  # the score given to what an earlier read saw in a cell


def with_earlier(read: CellRead, earlier: Sequence[CellRead]) -> CellRead:
    """``read`` with, as alternatives, the characters earlier reads of the same band put
    in a cell without hesitating when they differ from this read's: two reads that
    disagree with full confidence leave the cell in doubt (a later read at another
    scale is not trusted over an earlier one)."""
    cells = []
    for li, line in enumerate(read.cells):
        row = []
        for ci, cell in enumerate(line):
            seen = {
                e.cells[li][ci].char
                for e in earlier
                if e.cells[li][ci].count == 1 and e.cells[li][ci].char not in ("", "<")
            }
            others = seen - {cell.char}
            if cell.char == "<" or not others:
                row.append(cell)
                continue
            scores = dict(cell.choices)
            for c in others:
                scores[c] = max(scores.get(c, 0.0), _EARLIER_SCORE)
            choices = tuple(sorted(scores.items(), key=lambda kv: -kv[1]))
            row.append(Cell(cell.char, choices, cell.count, cell.confidence))
        cells.append(row)
    return CellRead(cells, read.variant, read.similarity, read.index, read.timed_out)


def _turned(lines: list[np.ndarray]) -> list[np.ndarray]:
    return [np.ascontiguousarray(ln[::-1, ::-1]) for ln in reversed(lines)]


@dataclass(frozen=True)
class Attempt:
    """One Tesseract read of a band and the line sets it gives (``guessed``: the
    indices of candidates built by a guess, which need a second read to agree)."""

    variant: str
    candidates: tuple[tuple[str, ...], ...]
    timed_out: bool = False
    guessed: frozenset[int] = frozenset()


def mrz_like(prep: _Prepared) -> bool:
    """Every line cut into the same number of cells (30, 36 or 44) and some fillers."""
    counts = {len(m) for m in prep.masks if m is not None}
    return prep.complete and len(counts) == 1 and prep.fillers >= 3


def attempts(engine: OcrEngine, lines: list[np.ndarray]) -> Iterable[Attempt]:
    """Reads of a band, cheapest and most likely first: the compacted lines (grey, then
    binarised), then whole lines aligned on their cells, then the same upside down."""
    upright = prepare(lines)
    turned = prepare(_turned(lines))
    orders = [("", upright), ("turned-", turned)]
    if turned.complete and turned.fillers > upright.fillers + 3:
        orders.reverse()  # fillers look like '<' only one way up
    for prefix, prep in orders:
        packed = compact(prep) if mrz_like(prep) else None
        if packed is not None:
            for style in ("grey", "bin", "large"):
                image = stack(packed, binarise=style == "bin")
                if style == "large":  # another scale: Tesseract errs elsewhere
                    image = _scaled(image, 1.4)
                texts, timed_out = _ocr_lines(engine, image)
                found: list[tuple[str, ...]] = []
                guessed: set[int] = set()
                if len(texts) == len(prep.lines):
                    per_line = [
                        expand_options(t.replace("<", ""), m)
                        for t, m in zip(texts, prep.masks, strict=True)
                        if m is not None
                    ]
                    guess = any(g for _, g in per_line)
                    combos = itertools.islice(itertools.product(*(o for o, _ in per_line)), 64)
                    for combo in combos:
                        if guess:
                            guessed.add(len(found))
                        found.append(tuple(combo))
                yield Attempt(
                    f"{prefix}compact-{style}",
                    tuple(found),
                    timed_out,
                    frozenset(guessed),
                )
        texts, timed_out = _ocr_lines(engine, stack(prep.lines))
        found = []
        if texts and len(texts) == len(prep.lines) and prep.complete:
            found.append(
                tuple(align(t, m) for t, m in zip(texts, prep.masks, strict=True) if m is not None)
            )
        if texts:
            found.append(tuple(texts))
        yield Attempt(f"{prefix}lines", tuple(found), timed_out)


# accept(lines) -> (valid, needs_confirmation, key): a valid reading that holds only
# after a guessed repair is trusted once another read gives the same key.
Judge = Callable[[list[str]], tuple[bool, bool, str]]
# resolve(cell read) -> an object with ``lines`` (tuple or None) and ``sure``, or None
# (validators.mrz.resolve_cells)
Resolver = Callable[["CellRead"], Any]
# the cell-by-cell reads tried on a TD1 band, in order: (name, binarise, scale)
CELL_READS = (("grey", False, 1.0), ("bin", True, 1.0), ("x1.4", False, 1.4))


def cell_band(lines: list[np.ndarray]) -> _Prepared | None:
    """The band's lines cut into cells, the right way up, when it is a TD1 band (3 lines
    of 30 cells). Only TD1 is read cell by cell: its document number (9 free characters
    under one check digit) is where Tesseract's slips on OCR-B pass unnoticed; the other
    layouts keep the reads of ``attempts``, whose repairs their shapes make safe."""
    if len(lines) != 3:
        return None
    upright, turned = prepare(lines), prepare(_turned(lines))
    order = (turned, upright) if turned.fillers > upright.fillers + 3 else (upright, turned)
    for prep in order:
        if mrz_like(prep) and all(len(m or ()) == 30 for m in prep.masks):
            return prep
    return None


@dataclass
class _Candidate:
    page: int
    rotation: int
    lines: list[np.ndarray]
    likely: bool
    score: float


def _candidates(grays: Sequence[np.ndarray], rotation: int, max_bands: int) -> list[_Candidate]:
    found = []
    for page, gray in enumerate(grays):
        if rotation:
            gray = np.ascontiguousarray(np.rot90(gray, k=rotation // 90))
        for band in find_bands(find_lines(gray))[:max_bands]:
            lines = cut_lines(gray, band)
            if len(lines) not in (2, 3):
                continue
            likely = mrz_like(prepare(lines)) or mrz_like(prepare(_turned(lines)))
            found.append(_Candidate(page, rotation, lines, likely, band.score))
    found.sort(key=lambda c: (not c.likely, -c.score))
    return found


def read_mrz(
    images: Sequence[Image.Image],
    engine: OcrEngine,
    accept: Judge,
    *,
    resolve: Resolver | None = None,
    deadline_s: float = 20.0,
    max_bands: int = 3,
) -> MrzScan:
    """Look for an MRZ on every image (pages of a file: recto, verso): the bands that
    look most like an MRZ first, on any page; then the pages turned 90° and 270°.
    Stops at the first candidate ``accept`` trusts, or at the second independent read
    that agrees with a repaired one. With ``resolve``, a TD1 band is read cell by cell
    (``CELL_READS``) and only a reading ``resolve`` calls sure is taken; the others are
    left in ``pending``."""
    started = time.perf_counter()
    scan = MrzScan()
    provisional: dict[str, str] = {}  # key -> variant that gave it
    grays = [_gray(im) for im in images]

    def done(lines: list[str] | None, page: int | None, rotation: int) -> MrzScan:
        scan.lines, scan.page, scan.rotation = lines, page, rotation
        scan.elapsed_ms = (time.perf_counter() - started) * 1000
        if lines is None and provisional:
            scan.unconfirmed = list(provisional)
        return scan

    for rotation in (0, 90, 270):
        found = _candidates(grays, rotation, max_bands)
        if rotation == 0:
            scan.pages_with_band = sorted({c.page for c in found if c.likely})
        elif scan.pages_with_band and not any(c.likely for c in found):
            continue  # an MRZ was seen upright; turned pages show nothing better
        scan.bands_found += len(found)
        for cand in found:
            prep = cell_band(cand.lines) if resolve is not None else None
            if prep is not None and getattr(engine, "read_symbols", None) is not None:
                earlier: list[CellRead] = []
                for name, binarise, scale in CELL_READS:
                    read = read_cells(engine, prep, binarise=binarise, scale=scale)
                    if read is None:
                        break
                    read = with_earlier(read, earlier)
                    earlier.append(read)
                    scan.attempts += 1
                    scan.timed_out |= read.timed_out
                    if len(scan.candidates) < 50:
                        scan.candidates.append(read.lines())
                    result = resolve(read)
                    if result is None:
                        break
                    if result.sure and result.lines is not None:
                        scan.method = f"cells-{name}"
                        return done(list(result.lines), cand.page, rotation)
                    scan.pending.append((result, cand.page, rotation))
                    if read.timed_out or time.perf_counter() - started > deadline_s:
                        return done(None, None, 0)
                continue
            for attempt in attempts(engine, cand.lines):
                scan.attempts += 1
                scan.timed_out |= attempt.timed_out
                sure: dict[str, list[str]] = {}  # no guess at all
                fair: dict[str, list[str]] = {}  # one guess (a dropped character)
                other: dict[str, list[str]] = {}  # guesses on both sides
                for index, candidate in enumerate(attempt.candidates):
                    chosen = list(candidate)
                    if len(scan.candidates) < 50:
                        scan.candidates.append(chosen)
                    valid, unsure, key = accept(chosen)
                    if not valid:
                        continue
                    guessed = index in attempt.guessed
                    bucket = sure if not (unsure or guessed) else (fair if not unsure else other)
                    bucket.setdefault(key, chosen)
                if len(sure) == 1:
                    (chosen,) = sure.values()
                    scan.method = attempt.variant
                    return done(chosen, cand.page, rotation)
                if sure:
                    continue  # two readings verify as read: nothing to trust
                best = fair or other
                if len(best) != 1:
                    continue
                ((key, chosen),) = best.items()
                seen = provisional.get(key)
                if seen is not None and seen != attempt.variant:
                    scan.confirmed_by = seen
                    scan.method = attempt.variant
                    return done(chosen, cand.page, rotation)
                provisional.setdefault(key, attempt.variant)
                if time.perf_counter() - started > deadline_s or attempt.timed_out:
                    return done(None, None, 0)
    return done(None, None, 0)


def page_content(image: Image.Image) -> dict[str, Any]:
    """Cheap measures of what a page holds (for "is the other side there?"):
    grey-level spread, share of edge pixels, and the long side / short side ratio."""
    import cv2

    gray = _gray(image)
    h, w = gray.shape
    scale = min(1.0, 800 / max(h, w))
    small = (
        cv2.resize(
            gray, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA
        )
        if scale < 1
        else gray
    )
    edges = cv2.Canny(small, 60, 160)
    return {
        "std": float(small.std()),
        "edges": float((edges > 0).mean()),
        "aspect": max(h, w) / max(1, min(h, w)),
        "lines": len(find_lines(gray)),
    }
