"""Faces, eyes and pixel measurements for ID photos: perception without rules.

:func:`default_detector` gives the OpenCV Haar detector the photo checker reads through
``ctx.vision``. Its methods take numpy arrays (RGB ``H×W×3`` or greyscale ``H×W``, uint8)
and return plain tuples of boxes ``(x, y, width, height)`` in the array's own pixels.

The cascades are the XML files shipped with ``opencv-python-headless<5`` in
``cv2.data.haarcascades`` (5.x ships none: stack.md §4); nothing is downloaded.
Detection runs on a copy scaled down to :attr:`HaarVision.max_side` pixels on its long
side (speed: a 3000-pixel phone photo is detected in the same ~30 ms as a 600-pixel one)
and boxes are scaled back.

The free functions below measure pixels (CIE L*a*b* statistics, sharpness, histograms,
metadata naming a program). They return numbers; what counts as too dark, too blurred or
not white is decided by :mod:`validators.photo` from the active profile.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np

Box = tuple[int, int, int, int]

_FACE_CASCADES = ("haarcascade_frontalface_alt2.xml", "haarcascade_frontalface_default.xml")
_EYE_CASCADES = ("haarcascade_eye_tree_eyeglasses.xml", "haarcascade_eye.xml")


def _cv2() -> Any:
    import cv2

    return cv2


def as_rgb(image: Any) -> np.ndarray:
    """An RGB uint8 array from a PIL image or an array (grey arrays are stacked)."""
    arr = np.asarray(image.convert("RGB") if hasattr(image, "convert") else image)
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, axis=-1)
    if arr.ndim != 3 or arr.shape[2] < 3:
        raise ValueError(f"not an image array: shape {arr.shape}")
    return np.ascontiguousarray(arr[:, :, :3], dtype=np.uint8)


def grey(arr: np.ndarray) -> np.ndarray:
    if arr.ndim == 2:
        return arr
    return _cv2().cvtColor(arr, _cv2().COLOR_RGB2GRAY)


def turn(arr: np.ndarray, quarter_turns: int) -> np.ndarray:
    """The image turned ``quarter_turns`` × 90° counter-clockwise (``np.rot90``)."""
    return np.ascontiguousarray(np.rot90(arr, quarter_turns % 4))


def rotate_about(arr: np.ndarray, degrees: float, centre: tuple[float, float]) -> np.ndarray:
    """The image rotated ``degrees`` counter-clockwise about ``centre`` (x, y), same size,
    borders replicated."""
    cv2 = _cv2()
    matrix = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), float(degrees), 1.0)
    h, w = arr.shape[:2]
    return cv2.warpAffine(
        arr, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def shrink(arr: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """A copy whose long side is at most ``max_side`` and the scale applied (≤ 1)."""
    h, w = arr.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    if scale >= 1.0:
        return arr, 1.0
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return _cv2().resize(arr, size, interpolation=_cv2().INTER_AREA), scale


def _scale_box(box: Any, factor: float, dx: int = 0, dy: int = 0) -> Box:
    x, y, w, h = (float(v) for v in box)
    return (
        round(x / factor) + dx,
        round(y / factor) + dy,
        round(w / factor),
        round(h / factor),
    )


class HaarVision:
    """Face and eye boxes from OpenCV's Haar cascades."""

    def __init__(
        self,
        *,
        max_side: int = 360,
        min_face_fraction: float = 0.16,
        neighbours: int = 5,
        scale_factor: float = 1.1,
    ) -> None:
        cv2 = _cv2()
        if not hasattr(cv2, "CascadeClassifier"):
            raise RuntimeError(
                "OpenCV has no CascadeClassifier: install opencv-python-headless>=4.10,<5"
            )
        self.max_side = max_side
        self.min_face_fraction = min_face_fraction
        self.neighbours = neighbours
        self.scale_factor = scale_factor
        self._faces = [self._load(name) for name in _FACE_CASCADES]
        self._eyes = [self._load(name) for name in _EYE_CASCADES]

    @staticmethod
    def _load(name: str) -> Any:
        cv2 = _cv2()
        classifier = cv2.CascadeClassifier(cv2.data.haarcascades + name)
        if classifier.empty():
            raise RuntimeError(f"Haar cascade {name} missing from {cv2.data.haarcascades}")
        return classifier

    def faces(
        self, image: np.ndarray, *, min_fraction: float | None = None, thorough: bool = True
    ) -> tuple[Box, ...]:
        """Frontal faces at least ``min_fraction`` of the short side, largest first.
        Tried in turn until one finds something: alt2 then the default cascade, on the
        grey image and then on its equalised histogram (each misses some faces the
        others find: strong light, a tilted head). ``thorough=False`` tries alt2 on the
        grey image only (a quick look, e.g. at each quarter turn)."""
        cv2 = _cv2()
        small, scale = shrink(grey(image), self.max_side)
        fraction = self.min_face_fraction if min_fraction is None else min_fraction
        side = max(24, round(min(small.shape[:2]) * fraction))
        equalised = None
        for equalise in (False, True) if thorough else (False,):
            if equalise:
                equalised = cv2.equalizeHist(small) if equalised is None else equalised
            src = equalised if equalise else small
            for cascade in self._faces if thorough else self._faces[:1]:
                found = cascade.detectMultiScale(
                    src,
                    scaleFactor=self.scale_factor,
                    minNeighbors=self.neighbours,
                    minSize=(side, side),
                )
                if len(found):
                    refined = [self._refine(src, cascade, b) for b in found]
                    boxes = [_scale_box(b, scale) for b in refined]
                    return tuple(sorted(boxes, key=lambda b: b[2] * b[3], reverse=True))
        return ()

    def _refine(self, src: np.ndarray, cascade: Any, box: Any) -> Any:
        """The same face searched again around ``box`` with 3 % scale steps: the first
        pass steps by 10 %, so its box size is only known to about ±5 %."""
        x, y, w, h = (int(v) for v in box)
        pad = round(0.3 * w)
        x0, y0 = max(0, x - pad), max(0, y - pad)
        roi = src[y0 : y + h + pad, x0 : x + w + pad]
        found = cascade.detectMultiScale(
            roi,
            scaleFactor=1.03,
            minNeighbors=self.neighbours,
            minSize=(round(0.85 * w), round(0.85 * h)),
            maxSize=(round(1.18 * w), round(1.18 * h)),
        )
        if not len(found):
            return box
        best = max(found, key=lambda b: -abs(int(b[2]) - w))
        bx, by, bw, bh = (int(v) for v in best)
        return (bx + x0, by + y0, bw, bh)

    # (cascade index, ROI width, scale factor, neighbours): cheap first; the
    # glasses-tolerant cascade at finer scales finds eyes behind frames (chosen on the
    # sample photos: at 240 px it alone found a pair on 42 of 45 Grace Hopper crops)
    EYE_STAGES = (
        (1, 120, 1.1, 3),
        (0, 120, 1.1, 3),
        (0, 160, 1.05, 2),
        (0, 240, 1.05, 2),
        (0, 300, 1.05, 2),
        (0, 200, 1.05, 2),
    )

    def eyes(
        self,
        image: np.ndarray,
        face: Box,
        *,
        enough: Callable[[tuple[Box, ...]], bool] | None = None,
    ) -> tuple[Box, ...]:
        """Eye candidates in the upper part of ``face``, in image coordinates
        (duplicates included: choosing the pair is the caller's rule). Stages run from
        the cheapest on; with ``enough`` the search stops as soon as it returns True on
        the candidates found so far."""
        x, y, w, h = face
        gray = grey(image)
        top = max(0, y)
        bottom = min(gray.shape[0], y + int(h * 0.62))
        left, right = max(0, x), min(gray.shape[1], x + w)
        roi = gray[top:bottom, left:right]
        if roi.size == 0:
            return ()
        found: list[Box] = []
        scaled: dict[int, tuple[np.ndarray, float]] = {}
        for index, width, factor, neighbours in self.EYE_STAGES:
            if width not in scaled:
                scaled[width] = shrink(roi, width)
            small, scale = scaled[width]
            low, high = round(small.shape[1] * 0.12), round(small.shape[1] * 0.45)
            boxes = self._eyes[index].detectMultiScale(
                small,
                scaleFactor=factor,
                minNeighbors=neighbours,
                minSize=(max(8, low), max(8, low)),
                maxSize=(max(9, high), max(9, high)),
            )
            found.extend(_scale_box(b, scale, left, top) for b in boxes)
            if enough is not None and enough(tuple(found)):
                break
        return tuple(found)


@cache
def default_detector() -> HaarVision:
    """The detector of the service (built once per process: loading the cascades costs
    tens of milliseconds)."""
    return HaarVision()


# ----------------------------------------------------------------- measurements


def lab(arr: np.ndarray) -> np.ndarray:
    """CIE L*a*b* as float32: L* 0–100, a* and b* roughly −128…127 (D65)."""
    cv2 = _cv2()
    return cv2.cvtColor(arr.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)


def colour_stats(lab_image: np.ndarray, mask: np.ndarray | None = None) -> dict[str, float]:
    """Mean and spread of L*, mean a*, b* and the chroma of the mean colour
    C* = √(ā² + b̄²) over ``mask`` (all pixels when None)."""
    pixels = lab_image.reshape(-1, 3) if mask is None else lab_image[mask]
    if pixels.size == 0:
        return {"pixels": 0}
    l_, a, b = pixels[:, 0], pixels[:, 1], pixels[:, 2]
    a_mean, b_mean = float(a.mean()), float(b.mean())
    return {
        "pixels": len(pixels),
        "l_mean": float(l_.mean()),
        "l_std": float(l_.std()),
        "a_mean": a_mean,
        "b_mean": b_mean,
        "chroma": float(np.hypot(a_mean, b_mean)),
    }


def dominant_colour(
    lab_image: np.ndarray, mask: np.ndarray, *, step: float = 5.0, radius: float = 8.0
) -> dict[str, float]:
    """The most common colour of a region (mode of a 5-unit L*a*b* grid) and the share
    of the region within ``radius`` (ΔE*ab) of it, with the median L*, a*, b* of those
    pixels and the chroma of that median. A plain wall gives a share near 1 even when
    hair or a shoulder enters the region; a cluttered background a small one."""
    pixels = lab_image[mask]
    if len(pixels) == 0:
        return {"pixels": 0}
    cells = np.floor(pixels / step).astype(np.int64) + 64  # L* ≥ 0, a*/b* ≥ −320
    keys = (cells[:, 0] * 256 + cells[:, 1]) * 256 + cells[:, 2]
    values, counts = np.unique(keys, return_counts=True)
    top = int(values[int(np.argmax(counts))])
    cell = np.array([top // 65536, (top // 256) % 256, top % 256], np.float64) - 64
    mode = (cell + 0.5) * step
    close = np.linalg.norm(pixels - mode, axis=1) <= radius
    inliers = pixels[close]
    l_, a, b = (float(v) for v in np.median(inliers, axis=0))
    return {
        "pixels": len(pixels),
        "share": float(close.mean()),
        "l": l_,
        "a": a,
        "b": b,
        "chroma": float(np.hypot(a, b)),
        "l_std_all": float(pixels[:, 0].std()),
    }


def gradient_mean(channel: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean Sobel gradient magnitude of a single-channel float image over ``mask``."""
    cv2 = _cv2()
    src = channel.astype(np.float32)
    gx = cv2.Sobel(src, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(src, cv2.CV_32F, 0, 1, ksize=3)
    magnitude = np.hypot(gx, gy) / 8.0  # Sobel 3×3 weights sum to 8: units per pixel
    values = magnitude if mask is None else magnitude[mask]
    return float(values.mean()) if values.size else 0.0


def sharpness(gray_crop: np.ndarray, width: int) -> float:
    """Variance of the Laplacian of ``gray_crop`` resized to ``width`` pixels wide."""
    cv2 = _cv2()
    h, w = gray_crop.shape[:2]
    if w == 0 or h == 0:
        return 0.0
    size = (width, max(1, round(h * width / w)))
    method = cv2.INTER_AREA if w > width else cv2.INTER_CUBIC
    resized = cv2.resize(gray_crop, size, interpolation=method)
    return float(cv2.Laplacian(resized, cv2.CV_64F).var())


def histogram_intersection(first: np.ndarray, second: np.ndarray, bins: int = 32) -> float:
    """Intersection (0–1) of the normalised grey-level histograms of two regions."""
    if first.size == 0 or second.size == 0:
        return 0.0
    h1, _ = np.histogram(first, bins=bins, range=(0, 256))
    h2, _ = np.histogram(second, bins=bins, range=(0, 256))
    return float(np.minimum(h1 / h1.sum(), h2 / h2.sum()).sum())


def monochrome_spread(lab_image: np.ndarray, mask: np.ndarray | None = None) -> float:
    """How much the colour varies among pixels of the same lightness: the mean, over
    L* bins of 2, of the a*/b* standard deviation (chroma units). Near 0 for greyscale,
    sepia or any single-tone filter (colour is then a function of lightness), several
    units for a real colour photo (skin, lips, eyes, clothes and background differ)."""
    pixels = lab_image.reshape(-1, 3) if mask is None else lab_image[mask]
    if len(pixels) < 50:
        return 0.0
    bins = np.clip((pixels[:, 0] // 2).astype(np.int64), 0, 50)
    count = np.bincount(bins, minlength=51).astype(np.float64)
    spread = np.zeros(51)
    for channel in (1, 2):
        values = pixels[:, channel].astype(np.float64)
        total = np.bincount(bins, values, minlength=51)
        squares = np.bincount(bins, values * values, minlength=51)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = total / count
            spread += np.maximum(squares / count - mean * mean, 0.0)
    used = count >= 20
    if not used.any():
        return 0.0
    return float(np.average(np.sqrt(spread[used]), weights=count[used]))


_XMP_TOOL = re.compile(rb"CreatorTool(?:>|=\")([^<\"]{1,120})")


def metadata_software(image: Any) -> list[str]:
    """Program names an image's own metadata mentions: EXIF Software and
    ProcessingSoftware, XMP CreatorTool, a Photoshop resource block, the JPEG comment.
    Empty for the JPEGs intake stores (it rebuilds them without metadata)."""
    names: list[str] = []
    info = getattr(image, "info", None) or {}
    try:
        exif = image.getexif()
    except Exception:  # a PIL image without EXIF support, or broken EXIF
        exif = {}
    for tag in (0x0131, 0x000B):  # Software, ProcessingSoftware
        value = exif.get(tag) if exif else None
        if value:
            names.append(str(value).strip("\x00 ").strip())
    xmp = info.get("xmp") or info.get("XML:com.adobe.xmp") or b""
    if isinstance(xmp, str):
        xmp = xmp.encode("utf-8", "replace")
    names.extend(m.decode("utf-8", "replace").strip() for m in _XMP_TOOL.findall(xmp))
    if info.get("photoshop"):
        names.append("Adobe Photoshop (bloc de ressources)")
    comment = info.get("comment")
    if isinstance(comment, bytes):
        comment = comment.decode("utf-8", "replace")
    if comment:
        names.append(str(comment)[:120])
    return [n for n in names if n]
