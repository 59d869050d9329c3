"""Reading labelled fields off a document: perception only, no rules.

1. **Text layer first.** A born-digital PDF (the CVEC attestation) carries its text:
   exact and about 1 ms a page; its lines are used as they are (source ``text_layer``).
2. **Otherwise OCR.** The page image (a JPEG's pixels, the scan embedded in a PDF, or a
   rendering) is read once in French (``read_page``, psm 3) at about 150 dpi; its words
   are grouped into visual rows (Tesseract's own lines, joined across large gaps with
   the page's skew taken into account). When no expected label is found, the page is
   turned (the engine's orientation detection, or 180°, 90°, 270° in turn).
3. **Fields by their labels.** ``find`` looks for a label ("N° d'attestation", "INE",
   "Identifiant national"…) with tolerant matching (accents, case, punctuation, one
   slip on long words) and takes the value after it on the same row, or on the next row.
4. **Codes re-read on a crop.** ``reread`` cuts each located value out of the
   full-resolution image, straightens it by the measured skew, scales it to a
   comfortable letter height and reads all the crops in **one** engine call
   (``read_field``, English, dictionaries off): one process start instead of one per
   field (stack.md §2.3: ~150 ms each).

Validators call these functions with ``ctx.ocr``; they never import pytesseract or cv2.
A field that cannot be found or read is simply absent from the result: the validator
turns that into an *inconclusive* finding.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import statistics
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ocr.engine import OcrText, OcrWord

if TYPE_CHECKING:
    from PIL import Image

    from ocr.engine import OcrEngine

TEXT_LAYER = "text_layer"
OCR = "ocr"
NONE = "none"

# page OCR resolution: about A4 at 150 dpi (2.2 Mpx); enough for labels and names, and
# ~40 % faster than 200 dpi on these machines
PAGE_AREA = 1240 * 1754
# letter height wanted on a field crop (pixels, from Tesseract's word-box height)
FIELD_HEIGHT = 40
MIN_TEXT_LAYER_LETTERS = 20

# -- folding and tolerant matching -----------------------------------------------------------

_NON_ALNUM = re.compile(r"[^A-Z0-9]+")


def fold(text: str) -> str:
    """Upper-case A–Z/0–9 with single spaces: accents removed, anything else a space."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NON_ALNUM.sub(" ", plain.upper()).strip()


def _close(a: str, b: str) -> bool:
    """Equal, or one edit apart when both have at least 5 characters."""
    if a == b:
        return True
    if min(len(a), len(b)) < 5 or abs(len(a) - len(b)) > 1:
        return False
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1] <= 1


# -- what a page says ---------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One visual line: its words (boxes in full-resolution pixels; none for a text
    layer) and their text."""

    text: str
    page: int
    words: tuple[OcrWord, ...] = ()
    pieces: tuple[str, ...] = ()  # the row split into words (text layer: on spaces)

    @property
    def tokens(self) -> tuple[str, ...]:
        return self.pieces or tuple(self.text.split())

    @functools.cached_property
    def folded(self) -> list[tuple[str, int]]:
        """(folded token, index of the word it comes from), computed once."""
        out = []
        for i, piece in enumerate(self.tokens):
            for t in fold(piece).split():
                out.append((t, i))
        return out


@dataclass
class PageText:
    index: int
    source: str
    rows: list[Row] = field(default_factory=list)
    image: Any = None  # upright full-resolution image (OCR pages only)
    rotation: int = 0  # degrees the original was turned (counter-clockwise) to be upright
    skew: float = 0.0  # measured text slope, radians (y grows downwards)
    confidence: float | None = None
    timed_out: bool = False
    elapsed_ms: float = 0.0

    @property
    def text(self) -> str:
        return "\n".join(r.text for r in self.rows)


@dataclass
class DocumentText:
    pages: list[PageText] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(p.text for p in self.pages)

    @property
    def rows(self) -> list[Row]:
        return [r for p in self.pages for r in p.rows]

    @property
    def source(self) -> str:
        """``text_layer`` when every read page had one, ``ocr`` when any page was
        read by OCR, ``none`` when nothing was read."""
        sources = {p.source for p in self.pages if p.rows}
        if not sources:
            return NONE
        return OCR if OCR in sources else TEXT_LAYER

    @property
    def timed_out(self) -> bool:
        return any(p.timed_out for p in self.pages)

    @property
    def confidence(self) -> float | None:
        values = [p.confidence for p in self.pages if p.confidence is not None]
        return sum(values) / len(values) if values else None

    def page(self, index: int) -> PageText | None:
        return next((p for p in self.pages if p.index == index), None)


def _letters(text: str) -> int:
    return sum(c.isalpha() for c in text)


def text_layer_rows(text: str, page: int) -> list[Row]:
    rows = []
    for line in text.splitlines():
        line = " ".join(line.split())
        if line:
            rows.append(Row(line, page, (), tuple(line.split(" "))))
    return rows


def read_document(
    doc: Any,
    engine: OcrEngine | None,
    *,
    labels: Sequence[Sequence[str] | str] = (),
    max_pages: int = 2,
    page_area: int = PAGE_AREA,
) -> DocumentText:
    """The text of the first ``max_pages`` pages: each page's text layer when it has
    one, otherwise OCR through ``engine`` (nothing when ``engine`` is None).
    ``labels`` are the field labels expected on the document: when none is found on an
    OCR page, the page is turned and read again."""
    out = DocumentText()
    wanted = [_label_tokens(lab) for lab in labels]
    for page in list(doc.pages)[:max_pages]:
        text = page.text or ""
        if _letters(text) >= MIN_TEXT_LAYER_LETTERS:
            out.pages.append(PageText(page.index, TEXT_LAYER, text_layer_rows(text, page.index)))
            continue
        if engine is None:
            out.pages.append(PageText(page.index, NONE))
            continue
        try:
            image = page.image(300)
        except (ValueError, OSError):
            out.pages.append(PageText(page.index, NONE))
            continue
        out.pages.append(ocr_page(image, engine, page.index, labels=wanted, page_area=page_area))
    return out


def _grey(image: Image.Image) -> Image.Image:
    return image if image.mode == "L" else image.convert("L")


def _for_engine(image: Image.Image) -> Image.Image:
    """Marked BMP: pytesseract writes its temporary copy in the image's own format,
    and an uncompressed BMP costs ~1 ms where the default PNG costs ~40 ms a page."""
    image.format = "BMP"
    return image


def _downscale(image: Image.Image, area: int) -> tuple[Image.Image, float]:
    """The image reduced to about ``area`` pixels; returns it and full/small scale."""
    from PIL import Image as PILImage

    w, h = image.size
    if w * h <= area * 1.15:
        return image, 1.0
    factor = math.sqrt(area / (w * h))
    small = image.resize(
        (max(1, round(w * factor)), max(1, round(h * factor))),
        PILImage.Resampling.BILINEAR,
        reducing_gap=2.0,
    )
    return small, w / small.width


def ocr_page(
    image: Image.Image,
    engine: OcrEngine,
    index: int = 0,
    *,
    labels: Sequence[tuple[str, ...]] = (),
    page_area: int = PAGE_AREA,
) -> PageText:
    """OCR one page image, turning it when the expected labels are not found."""
    started = time.perf_counter()
    full = _grey(image)
    best: PageText | None = None
    tried: list[int] = []
    for rotation in _rotations(engine, full, labels):
        if rotation in tried:
            continue
        tried.append(rotation)
        upright = full if rotation == 0 else full.rotate(rotation, expand=True)
        small, scale = _downscale(upright, page_area)
        result = engine.read_page(_for_engine(flatten(small)), lang="fra", psm=3)
        page = _page_from(result, index, upright, scale, rotation)
        if best is None or _score(page, labels) > _score(best, labels):
            best = page
        if result.timed_out or not labels or _has_label(page.rows, labels):
            break
        if rotation == 0 and _legible(page):
            break  # upright and well read: just not the expected document
    if best is None:  # pragma: no cover - _rotations always yields 0 first
        raise RuntimeError("no page reading")
    best.elapsed_ms = (time.perf_counter() - started) * 1000
    return best


def _legible(page: PageText) -> bool:
    """Plenty of confidently read text: the page is the right way up."""
    return _letters(page.text) >= 300 and (page.confidence or 0) >= 80


def flatten(image: Image.Image, factor: int = 8) -> Image.Image:
    """Uneven lighting (a phone photo, a shadow) taken out: each pixel divided by the
    paper's local brightness, estimated on a reduced copy with a maximum filter (which
    keeps the paper, not the ink). A flat background is returned unchanged."""
    import numpy as np
    from PIL import Image as PILImage
    from PIL import ImageFilter

    grey = _grey(image)
    if min(grey.size) < 8 * factor:
        factor = max(1, min(grey.size) // 8)
    small = grey.reduce(factor) if factor > 1 else grey
    paper = small.filter(ImageFilter.MaxFilter(5)).filter(ImageFilter.GaussianBlur(2))
    low, high = paper.getextrema()
    if high - low < 24:
        return grey
    paper = paper.resize(grey.size, PILImage.Resampling.BILINEAR)
    ink = np.asarray(grey, dtype=np.float32)
    light = np.maximum(np.asarray(paper, dtype=np.float32), 1.0)
    return PILImage.fromarray(np.clip(ink * 255.0 / light, 0, 255).astype(np.uint8))


def _rotations(engine: Any, image: Image.Image, labels: Sequence[tuple[str, ...]]) -> Iterable[int]:
    """0 first; then the engine's orientation detection when it has one; then the
    other right angles. Lazy: later values are computed only when asked for."""
    yield 0
    if not labels:
        return
    guess = None
    orientation = getattr(engine, "orientation", None)
    if callable(orientation):
        small, _ = _downscale(image, PAGE_AREA)
        guess = orientation(_for_engine(small))
    if guess:
        # OSD says how far to rotate clockwise; PIL rotates counter-clockwise
        yield (-int(guess)) % 360
        return
    yield from (180, 90, 270)


def _score(page: PageText, labels: Sequence[tuple[str, ...]]) -> tuple[int, int]:
    return (int(_has_label(page.rows, labels)), len(page.text))


def _page_from(result: OcrText, index: int, image: Any, scale: float, rotation: int) -> PageText:
    words = [
        replace(
            w,
            box=(
                round(w.box[0] * scale),
                round(w.box[1] * scale),
                round(w.box[2] * scale),
                round(w.box[3] * scale),
            ),
        )
        for w in result.words
        if w.text.strip()
    ]
    skew = measure_skew(words)
    rows = group_rows(words, index, skew)
    if not rows and result.text.strip():  # an engine without word boxes
        rows = text_layer_rows(result.text, index)
    return PageText(
        index=index,
        source=OCR,
        rows=rows,
        image=image,
        rotation=rotation,
        skew=skew,
        confidence=result.confidence,
        timed_out=result.timed_out,
    )


def _center(w: OcrWord) -> tuple[float, float]:
    x, y, bw, bh = w.box
    return x + bw / 2, y + bh / 2


def measure_skew(words: Sequence[OcrWord]) -> float:
    """The median slope (radians) of Tesseract lines with at least three words."""
    lines: dict[int, list[OcrWord]] = {}
    for w in words:
        lines.setdefault(w.line, []).append(w)
    slopes = []
    for ws in lines.values():
        if len(ws) < 3:
            continue
        xs, ys = zip(*(_center(w) for w in ws), strict=True)
        span = max(xs) - min(xs)
        if span < 200:
            continue
        mx, my = statistics.fmean(xs), statistics.fmean(ys)
        var = sum((x - mx) ** 2 for x in xs)
        if var:
            slopes.append(sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var)
    if not slopes:
        return 0.0
    return math.atan(statistics.median(slopes))


def group_rows(words: Sequence[OcrWord], page: int, skew: float = 0.0) -> list[Row]:
    """Tesseract's lines, with lines on the same visual row (a label far left, its
    value far right) joined; rows ordered top to bottom."""
    lines: dict[int, list[OcrWord]] = {}
    for w in words:
        lines.setdefault(w.line, []).append(w)
    groups = [sorted(ws, key=lambda w: w.box[0]) for ws in lines.values()]
    slope = math.tan(skew)

    def level(ws: list[OcrWord]) -> float:
        # the row's height, brought back to x = 0 along the skew
        x, y = _center(ws[0])
        return y - slope * x

    def height(ws: list[OcrWord]) -> float:
        return statistics.median(w.box[3] for w in ws)

    groups.sort(key=level)
    rows: list[list[OcrWord]] = []
    for ws in groups:
        target = None
        for row in rows:
            if abs(level(row) - level(ws)) < 0.6 * max(height(row), height(ws)):
                overlap = not (
                    ws[0].box[0] > row[-1].box[0] + row[-1].box[2]
                    or ws[-1].box[0] + ws[-1].box[2] < row[0].box[0]
                )
                if not overlap:
                    target = row
                    break
        if target is None:
            rows.append(list(ws))
        else:
            target.extend(ws)
            target.sort(key=lambda w: w.box[0])
    rows.sort(key=level)
    return [
        Row(" ".join(w.text for w in r), page, tuple(r), tuple(w.text for w in r)) for r in rows
    ]


# -- labelled fields -----------------------------------------------------------------------


def _label_tokens(label: Sequence[str] | str) -> tuple[str, ...]:
    if isinstance(label, str):
        return tuple(fold(label).split())
    return tuple(t for part in label for t in fold(part).split())


def _flatten(row: Row) -> list[tuple[str, int]]:
    """(folded token, index of the word it comes from)."""
    return row.folded


def _find_label(row: Row, label: tuple[str, ...], *, start_only: bool = False) -> int | None:
    """Index of the first word after ``label`` on ``row``, or None."""
    flat = _flatten(row)
    n = len(label)
    for start in range(len(flat) - n + 1 if not start_only else min(1, len(flat) - n + 1)):
        if all(_close(flat[start + k][0], label[k]) for k in range(n)):
            return flat[start + n - 1][1] + 1
    return None


def _has_label(rows: Sequence[Row], labels: Sequence[tuple[str, ...]]) -> bool:
    return any(_find_label(r, lab) is not None for r in rows for lab in labels if lab)


@dataclass(frozen=True)
class FieldSpec:
    """A field: its labels (each a phrase, folded before matching), a pattern the
    text after the label must contain, and whether the value is a code to re-read."""

    name: str
    labels: tuple[str, ...]
    pattern: re.Pattern[str]
    code: bool = True
    next_row: bool = True
    accept: Callable[[str], bool] | None = None  # a last check on the matched value
    start_only: bool = False  # the label must open its row ("Nom :", not "au nom de")


@dataclass(frozen=True)
class FieldHit:
    name: str
    label: str
    value: str  # the text matched by the pattern
    tail: str  # everything after the label on its row
    row: Row
    words: tuple[OcrWord, ...] = ()  # the words holding the value (OCR)
    source: str = TEXT_LAYER

    @property
    def page(self) -> int:
        return self.row.page


_LEAD = re.compile(r"^[\s:;.,=\-–—|_»>]+")


def find(text: DocumentText, spec: FieldSpec) -> list[FieldHit]:
    """Every place ``spec``'s value follows one of its labels (same row first, then the
    next row), in reading order, best label first."""
    hits: list[FieldHit] = []
    seen: set[tuple[int, str]] = set()
    for page in text.pages:
        rows = page.rows
        for label in spec.labels:
            tokens = _label_tokens(label)
            for i, row in enumerate(rows):
                after = _find_label(row, tokens, start_only=spec.start_only)
                if after is None:
                    continue
                candidates = [(row, after)]
                if spec.next_row and i + 1 < len(rows):
                    candidates.append((rows[i + 1], 0))
                for source_row, start in candidates:
                    hit = _value_in(source_row, start, spec, label, page.source)
                    if hit is not None and (id(source_row), hit.value) not in seen:
                        seen.add((id(source_row), hit.value))
                        hits.append(hit)
                        break
    return hits


def _value_in(row: Row, start: int, spec: FieldSpec, label: str, source: str) -> FieldHit | None:
    pieces = row.tokens[start:]
    tail = _LEAD.sub("", " ".join(pieces)).strip()
    if not tail:
        return None
    for match in spec.pattern.finditer(tail):
        value = next((g for g in match.groups() if g), None) or match.group(0)
        if spec.accept is None or spec.accept(value):
            break
    else:
        return None
    words: tuple[OcrWord, ...] = ()
    if row.words:
        # the words whose characters fall inside the match (offsets in `tail`)
        lead = len(" ".join(pieces)) - len(_LEAD.sub("", " ".join(pieces)))
        chosen = []
        pos = 0
        for w in row.words[start:]:
            begin, end = pos - lead, pos - lead + len(w.text)
            if end > match.start() and begin < match.end():
                chosen.append(w)
            pos += len(w.text) + 1
        words = _extend(tuple(chosen), row.words)
    return FieldHit(spec.name, label, value.strip(), tail, row, words, source)


def _extend(chosen: tuple[OcrWord, ...], row: Sequence[OcrWord]) -> tuple[OcrWord, ...]:
    """The matched words plus the words that follow them closely on the row (a code's
    last group or its `/ NOMXX` suffix that the page reading split or garbled)."""
    if not chosen:
        return chosen
    out = list(chosen)
    letter = statistics.median(w.box[3] for w in chosen) or 10
    after = [w for w in row if w.box[0] > chosen[-1].box[0]]
    for w in sorted(after, key=lambda w: w.box[0]):
        if w in out:
            continue
        gap = w.box[0] - (out[-1].box[0] + out[-1].box[2])
        if gap > 2.5 * letter:
            break
        out.append(w)
    return tuple(out)


# -- re-reading codes on crops ---------------------------------------------------------------


@dataclass(frozen=True)
class Reread:
    """A located code read again on its crop; ``crop`` is kept for glyph measures."""

    name: str
    text: str
    confidence: float | None
    engine: str
    timed_out: bool = False
    crop: Any = None


def crop_for(page: PageText, words: Sequence[OcrWord], *, height: int = FIELD_HEIGHT) -> Any:
    """The words' line cut out of the full-resolution page: straightened by the page's
    skew, reduced to the band of rows holding the line (a neighbour line above or
    below is left out), grey, scaled so capitals are about ``height`` pixels tall,
    with a white margin."""
    from PIL import Image as PILImage
    from PIL import ImageOps

    if page.image is None or not words:
        return None
    x0 = min(w.box[0] for w in words)
    y0 = min(w.box[1] for w in words)
    x1 = max(w.box[0] + w.box[2] for w in words)
    y1 = max(w.box[1] + w.box[3] for w in words)
    letter = min(w.box[3] for w in words) or 10
    pad_x, pad_y = int(letter * 0.3), int(letter * 0.5)
    image = page.image
    box = (
        max(0, x0 - pad_x),
        max(0, y0 - pad_y),
        min(image.width, x1 + pad_x),
        min(image.height, y1 + pad_y),
    )
    if box[2] - box[0] < 4 or box[3] - box[1] < 4:
        return None
    crop = flatten(_grey(image.crop(box)), factor=4)
    angle = math.degrees(page.skew)
    if abs(angle) > 0.2:
        crop = crop.rotate(angle, resample=PILImage.Resampling.BICUBIC, expand=True, fillcolor=255)
    crop, band = _main_band(crop)
    if crop is None:
        return None
    factor = max(0.5, min(4.0, height / max(band, 1)))
    if abs(factor - 1) > 0.05:
        crop = crop.resize(
            (max(1, round(crop.width * factor)), max(1, round(crop.height * factor))),
            PILImage.Resampling.LANCZOS,
        )
    return ImageOps.expand(crop, border=max(8, height // 2), fill=255)


def otsu(values: Any) -> int:
    """Otsu's threshold of a uint8 array."""
    import numpy as np

    hist = np.bincount(values.ravel(), minlength=256).astype(np.float64)
    weight = np.cumsum(hist)
    mass = np.cumsum(hist * np.arange(256))
    total_w, total_m = weight[-1], mass[-1]
    between = (total_m * weight - mass * total_w) ** 2 / np.maximum(weight * (total_w - weight), 1)
    return int(between.argmax())


def _main_band(crop: Any) -> tuple[Any, int]:
    """The crop reduced to its densest band of text rows (with a margin) and trimmed
    left and right to the ink; returns it with the band's height in pixels."""
    import numpy as np

    arr = np.asarray(crop, dtype=np.uint8)
    if arr.size == 0:
        return None, 0
    ink = arr < min(otsu(arr), 200)
    rows = ink.sum(axis=1)
    on = rows > max(1, 0.01 * arr.shape[1])
    runs: list[list[int]] = []  # [start, end, mass]
    for y, flag in enumerate(on):
        if not flag:
            continue
        if runs and y - runs[-1][1] <= 2:
            runs[-1][1] = y
            runs[-1][2] += int(rows[y])
        else:
            runs.append([y, y, int(rows[y])])
    if not runs:
        return None, 0
    top, bottom, _ = max(runs, key=lambda r: r[2])
    band = bottom - top + 1
    margin = max(2, int(band * 0.35))
    top, bottom = max(0, top - margin), min(arr.shape[0], bottom + margin + 1)
    cols = np.nonzero(ink[top:bottom].sum(axis=0))[0]
    if cols.size == 0:
        return None, 0
    left = max(0, cols[0] - margin)
    right = min(arr.shape[1], cols[-1] + margin + 1)
    return crop.crop((left, top, right, bottom)), band


def stack(crops: Sequence[Any], gap: int = 30) -> tuple[Any, list[tuple[int, int]]]:
    """Crops one above the other on white, left-aligned; returns the image and each
    crop's vertical span."""
    from PIL import Image as PILImage

    width = max(c.width for c in crops) + 2 * gap
    height = sum(c.height for c in crops) + gap * (len(crops) + 1)
    sheet = PILImage.new("L", (width, height), 255)
    spans = []
    y = gap
    for c in crops:
        sheet.paste(c, (gap, y))
        spans.append((y, y + c.height))
        y += c.height + gap
    return sheet, spans


def hit_crop(text: DocumentText, hit: FieldHit) -> Any:
    """The crop of an OCR hit's value (None for a text-layer hit or without words)."""
    if hit.source != OCR or not hit.words:
        return None
    page = text.page(hit.page)
    return crop_for(page, hit.words) if page is not None else None


def read_crops(crops: Sequence[tuple[str, Any]], engine: OcrEngine | None) -> dict[str, Reread]:
    """Named crops read in one engine call: English, psm 7 for a single crop, psm 6 on
    the crops stacked one above the other otherwise (one process start, not one per
    field: ~150 ms each on these machines)."""
    jobs = [(name, crop) for name, crop in crops if crop is not None]
    if engine is None or not jobs:
        return {}
    if len(jobs) == 1:
        name, crop = jobs[0]
        result = engine.read_field(_for_engine(crop), lang="eng", psm=7)
        return {
            name: Reread(
                name, result.text.strip(), result.confidence, result.engine, result.timed_out, crop
            )
        }
    sheet, spans = stack([c for _, c in jobs])
    result = engine.read_field(_for_engine(sheet), lang="eng", psm=6)
    out: dict[str, Reread] = {}
    for (name, crop), (top, bottom) in zip(jobs, spans, strict=True):
        mine = [w for w in result.words if top - 5 <= w.box[1] + w.box[3] / 2 <= bottom + 5]
        mine.sort(key=lambda w: w.box[0])
        confs = [w.confidence for w in mine if w.confidence >= 0]
        out[name] = Reread(
            name,
            " ".join(w.text for w in mine).strip(),
            sum(confs) / len(confs) if confs else None,
            result.engine,
            result.timed_out,
            crop,
        )
    if not result.words and result.text.strip():
        # an engine that gives no boxes: lines in order
        lines = [ln for ln in result.text.splitlines() if ln.strip()]
        if len(lines) == len(jobs):
            for (name, crop), line in zip(jobs, lines, strict=True):
                out[name] = Reread(name, line.strip(), result.confidence, result.engine, crop=crop)
    return out


def reread(
    text: DocumentText, hits: Sequence[FieldHit], engine: OcrEngine | None
) -> dict[str, Reread]:
    """Each OCR hit's value read again on its crop (see ``read_crops``)."""
    return read_crops([(hit.name, hit_crop(text, hit)) for hit in hits], engine)


# -- glyph shapes: settling the confusable pairs -------------------------------------------------
#
# Both OCR engines confuse 0/O, 1/I, 8/B, 5/S, 2/Z, 6/G inside codes, where no word
# gives context; their errors are correlated (the same page, similar models). The
# glyphs themselves differ in ways that hold for most typefaces: O is wider than 0
# (digits share one width), I is a bare stem much narrower than 1, B, D and L have a
# straight left stem that 8, 0 and 1 lack, 5 and Z have a square top-left corner that
# S and 2 round off, G is wider than 6. ``arbitrate`` measures each glyph of a located
# code against the code's own digits and says, for a character of a confusable pair,
# which one of the pair the glyph is, or nothing when the measure is not clear. It
# never invents a character outside the pair the reading proposed.

PAIRS: dict[str, str] = {}
for _group in ("0OQD", "1IL", "8B", "5S", "2Z", "6G"):
    for _c in _group:
        PAIRS[_c] = _group


@dataclass(frozen=True)
class Glyph:
    box: tuple[int, int, int, int]  # x, y, w, h in the crop
    corner: float  # ink share of the top-left corner (rows 0–10 %, columns 0–18 %)
    left_top: float  # leftmost ink (÷ width), rows 5–20 %
    left_bottom: float  # leftmost ink (÷ width), rows 80–95 %
    left_wobble: float  # spread of the leftmost ink, rows 10–45 %
    slant: float  # top third's ink centre minus the bottom third's (÷ width)
    span: float = 1.0  # mean width of a row's ink (÷ width): small for a thin stroke


def _leftmost(mask: Any, a: float, b: float) -> Any:
    import numpy as np

    h, w = mask.shape
    rows = mask[int(h * a) : max(int(h * a) + 1, int(h * b))]
    return np.array([np.argmax(r) / w if r.any() else 1.0 for r in rows])


def _components(ink: Any) -> list[list[tuple[int, int, int]]]:
    """8-connected components of a boolean image as lists of runs (row, x0, x1):
    runs of ink per row, joined with the overlapping runs of the row above. (Plain
    numpy and Python: OpenCV would add ~300 MB of address space to the limited child.)"""
    import numpy as np

    padded = np.zeros((ink.shape[0], ink.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = ink
    edges = np.diff(padded, axis=1)
    runs: list[tuple[int, int, int]] = []
    by_row: list[list[int]] = []
    for y in range(ink.shape[0]):
        starts = np.nonzero(edges[y] == 1)[0]
        ends = np.nonzero(edges[y] == -1)[0]
        ids = []
        for x0, x1 in zip(starts.tolist(), ends.tolist(), strict=True):
            ids.append(len(runs))
            runs.append((y, x0, x1))
        by_row.append(ids)
    parent = list(range(len(runs)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for y in range(1, len(by_row)):
        above = by_row[y - 1]
        j = 0
        for i in by_row[y]:
            _, x0, x1 = runs[i]
            while j < len(above) and runs[above[j]][2] < x0:  # ends before (8-connected)
                j += 1
            k = j
            while k < len(above) and runs[above[k]][1] <= x1:
                a, b = root(i), root(above[k])
                if a != b:
                    parent[a] = b
                k += 1
    groups: dict[int, list[tuple[int, int, int]]] = {}
    for i, run in enumerate(runs):
        groups.setdefault(root(i), []).append(run)
    return list(groups.values())


def _split_touching(box: list[Any], tall: float) -> list[list[Any]]:
    """A component much wider than a capital is two glyphs touching (blur, a bold
    "TV"): cut it at its thinnest column in the middle part, when that column is thin."""
    x0, y0, x1, y1, _area, comp = box
    width = x1 - x0
    if width < 1.6 * tall:
        return [box]
    columns = [0] * width
    for _, a, b in comp:
        for x in range(a - x0, b - x0):
            columns[x] += 1
    lo, hi = int(width * 0.3), int(width * 0.7)
    cut = min(range(lo, hi), key=lambda x: columns[x])
    if columns[cut] > max(2, 0.2 * (y1 - y0)):
        return [box]
    cut += x0
    left = [(y, a, min(b, cut)) for y, a, b in comp if a < cut]
    right = [(y, max(a, cut), b) for y, a, b in comp if b > cut]
    out = []
    for runs in (left, right):
        if runs:
            out.append(
                [
                    min(r[1] for r in runs),
                    min(r[0] for r in runs),
                    max(r[2] for r in runs),
                    max(r[0] for r in runs) + 1,
                    sum(r[2] - r[1] for r in runs),
                    runs,
                ]
            )
    return [part for half in out for part in _split_touching(half, tall)]


def glyphs_of(crop: Any) -> list[Glyph]:
    """The glyphs of a one-line crop, left to right: connected ink components, specks
    dropped, pieces stacked above each other (accents, dots) joined."""
    import numpy as np

    arr = np.asarray(_grey(crop), dtype=np.uint8)
    if arr.size == 0:
        return []
    ink = arr < min(otsu(arr), 200)
    boxes = []
    for comp in _components(ink):
        ys = [r[0] for r in comp]
        x0 = min(r[1] for r in comp)
        x1 = max(r[2] for r in comp)
        area = sum(r[2] - r[1] for r in comp)
        boxes.append([x0, min(ys), x1, max(ys) + 1, area, comp])
    if not boxes:
        return []
    heights = sorted(b[3] - b[1] for b in boxes)
    tall = heights[len(heights) * 3 // 4]
    boxes = [b for b in boxes if b[4] >= max(6, 0.02 * tall * tall)]
    boxes = [part for b in boxes for part in _split_touching(b, tall)]
    boxes.sort(key=lambda b: b[0])
    merged: list[list[Any]] = []
    for b in boxes:
        if merged:
            m = merged[-1]
            x_overlap = min(m[2], b[2]) - max(m[0], b[0])
            y_overlap = min(m[3], b[3]) - max(m[1], b[1])
            narrow = min(m[2] - m[0], b[2] - b[0])
            short = min(m[3] - m[1], b[3] - b[1])
            if x_overlap > 0.5 * narrow and y_overlap < 0.3 * short:  # stacked pieces
                m[0], m[1] = min(m[0], b[0]), min(m[1], b[1])
                m[2], m[3] = max(m[2], b[2]), max(m[3], b[3])
                m[4] += b[4]
                m[5] = m[5] + b[5]
                continue
        merged.append(b)
    out = []
    for x0, y0, x1, y1, _area, comp in merged:
        if y1 - y0 < 0.4 * tall:
            continue
        h, w = y1 - y0, x1 - x0
        mask = np.zeros((h, w), dtype=bool)
        for y, a, b in comp:
            mask[y - y0, a - x0 : b - x0] = True
        third = max(1, h // 3)
        positions = np.arange(w)

        def centre(part: Any, positions: Any = positions, w: int = w) -> float:
            weight = part.sum(axis=0)
            total = weight.sum()
            return float((weight * positions).sum() / total / w) if total else 0.5

        out.append(
            Glyph(
                box=(int(x0), int(y0), int(w), int(h)),
                corner=float(mask[: max(1, int(h * 0.1)), : max(1, int(w * 0.18))].mean()),
                left_top=float(_leftmost(mask, 0.05, 0.2).mean()),
                left_bottom=float(_leftmost(mask, 0.8, 0.95).mean()),
                left_wobble=float(_leftmost(mask, 0.1, 0.45).std()),
                slant=centre(mask[:third]) - centre(mask[-third:]),
                span=_row_span(mask),
            )
        )
    return out


def _row_span(mask: Any) -> float:
    import numpy as np

    rows = mask[mask.any(axis=1)]
    if rows.size == 0:
        return 1.0
    width = mask.shape[1]
    first = rows.argmax(axis=1)
    last = width - 1 - rows[:, ::-1].argmax(axis=1)
    return float(np.mean((last - first + 1) / width))


def _is_slash(g: Glyph, cap: float) -> bool:
    """A thin stroke rising to the right: its rows are short and move right."""
    _, _, w, h = g.box
    return w < 0.8 * h and g.slant > 0.45 and g.span < 0.5 and h > 0.7 * cap


def _decide(
    group: str, g: Glyph, ratio: float | None, cap: float, proportional: bool
) -> str | None:
    """Which character of ``group`` the glyph is, or None when unclear. ``ratio`` is
    its ink width ÷ the code's digits'. Verdicts a monospaced face cannot produce (a
    glyph much wider or narrower than a digit: O, G, I) need no more; verdicts for the
    digit-like member (0, 6, 1, L, 2, Z) need a proportional face."""
    h = g.box[3]
    if group == "8B":
        if g.corner >= 0.35 and g.left_top <= 0.045:
            return "B"
        if g.corner <= 0.2 and g.left_top >= 0.05:
            return "8"
        return None
    if group == "5S":
        if g.corner >= 0.3 and g.left_top <= 0.09:
            return "5"
        if g.corner <= 0.17 and g.left_top >= 0.05:
            return "S"
        return None
    if group == "0OQD":
        if g.corner >= 0.5 and g.left_top <= 0.05 and g.left_bottom <= 0.05:
            return "D"
        if h >= 1.15 * cap:
            return "Q"
        if ratio is None:
            return None
        if ratio >= 1.22:
            return "O"
        if ratio <= 1.15 and proportional:
            return "0"
        return None
    if ratio is None:
        return None
    if group == "1IL":
        if ratio <= 0.6:
            return "I"
        if ratio >= 0.75 and proportional:
            if g.left_wobble <= 0.05 and g.left_top <= 0.05:
                return "L"
            if g.left_wobble >= 0.09:
                return "1"
        return None
    if group == "6G":
        if ratio >= 1.13:
            return "G"
        if ratio <= 1.10 and proportional:
            return "6"
        return None
    if group == "2Z" and proportional:
        if g.left_wobble <= 0.25 and ratio >= 1.04:
            return "Z"
        if g.left_wobble >= 0.265 and ratio <= 1.03:
            return "2"
    return None


def arbitrate(crop: Any, reading: str) -> list[str | None] | None:
    """For each character of ``reading`` (a code without spaces or suffix, as read off
    ``crop``), the member of its confusable pair that the glyph's shape shows, or None
    (not a confusable character, or not clear). None when the glyphs cannot be
    matched one to one with the reading (a character lost, two glyphs touching)."""
    if crop is None or not reading:
        return None
    code = code_glyphs(crop)
    if not code or len(code) != len(reading):
        return None
    cap = statistics.median(g.box[3] for g in code)
    digits = [g.box[2] for g, c in zip(code, reading, strict=True) if c in "23456789"]
    ref = statistics.median(digits) if len(digits) >= 2 else None
    # a monospaced face gives 0 and O the same width: only a proportional one lets a
    # glyph as wide as a digit be called a digit
    proportional = ref is not None and _proportional(code, reading, ref)
    out: list[str | None] = []
    for g, c in zip(code, reading, strict=True):
        group = PAIRS.get(c)
        if group is None:
            out.append(None)
            continue
        ratio = g.box[2] / ref if ref else None
        out.append(_decide(group, g, ratio, cap, proportional))
    return out


def _proportional(code: Sequence[Glyph], reading: str, ref: float) -> bool:
    """Is the face proportional (O wider than 0, I narrower than 1)? Told by the pitch
    from glyph to glyph inside the code's groups (spread > 0.10 for proportional faces,
    ≤ 0.09 for monospaced ones: DejaVu and Liberation, measured on crops), by a round
    or wide capital ≥ 1.2 × a digit (monospaced: ≤ 1.12), or, for a spread between 0.07
    and 0.10, by capitals wider than digits (median ≥ 1.10, M and W left out).
    Measured: 37/37 proportional codes, 0/215 monospaced ones."""
    centres = [g.box[0] + g.box[2] / 2 for g in code]
    pitches = [b - a for a, b in itertools.pairwise(centres)]
    if len(pitches) < 3:
        return False
    typical = statistics.median(pitches)
    inside = [p for p in pitches if p < 1.5 * typical]
    if len(inside) < 3:
        return False
    spread = statistics.pstdev(inside) / statistics.fmean(inside)
    if spread > 0.10:
        return True
    # a round or wide capital clearly wider than a digit (monospaced faces: ≤ 1.12)
    if any(c in "CDGHNOQU" and g.box[2] / ref >= 1.2 for g, c in zip(code, reading, strict=True)):
        return True
    letters = [
        g.box[2] / ref
        for g, c in zip(code, reading, strict=True)
        if c.isalpha() and c not in PAIRS and c not in "JMW"
    ]
    return spread > 0.07 and len(letters) >= 2 and statistics.median(letters) >= 1.10


def code_glyphs(crop: Any) -> list[Glyph]:
    """The glyphs of the code on a crop: those before a slash (the `/ NOMXX` suffix)."""
    if crop is None:
        return []
    found = glyphs_of(crop)
    if not found:
        return []
    cap = statistics.median(g.box[3] for g in found)
    code = []
    for g in found:
        if _is_slash(g, cap):
            break
        code.append(g)
    return code


# characters OCR puts for the letters of a code (J read as a bracket, I as a bar)
_CODE_LOOKALIKES = str.maketrans({")": "J", "]": "J", "}": "J", "|": "I", "$": "S", "§": "S"})
# a bracket next to a J is the J's descender read twice
_BRACKET_BY_J = re.compile(r"(?<=[Jj])[\])}]|[\])}](?=[Jj])")
# marks OCR adds inside a code ("&", "'", "*"); separators and the suffix slash stay
_CODE_JUNK = re.compile(r"[^0-9A-Za-z/\s.\-\u2010-\u2014]")


def clean_code(text: str) -> str:
    """An OCR'd code with bracket and bar look-alikes turned into letters (a bracket
    next to a J dropped) and any other stray mark removed."""
    text = _BRACKET_BY_J.sub("", text or "").translate(_CODE_LOOKALIKES)
    return _CODE_JUNK.sub("", text).strip()
