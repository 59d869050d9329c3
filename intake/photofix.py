"""The automatic repair of an ID photo (``justif photo-fix``; offered on the web pages).

Two halves:

- :func:`fix` runs **inside the limited child** (op ``photo_fix`` of intake._child): it
  opens the stored JPEG, turns it upright (a face found only after a quarter or half
  turn), straightens a tilted head from the eye line, crops 35:45 with the head at the
  profile's size and centred (the plan is :func:`validators.photo.crop_plan`, pure
  geometry) and writes the new JPEG. It never invents pixels: when the crop would need
  more than the photo holds (face too close to an edge), when there is no face or
  several, or when the result would be too small, it says why instead.
- :func:`fix_photo` is the parent side: it runs the op in a :class:`~intake.Sandbox`
  and returns a :class:`PhotoFix` whose ``actions`` are French sentences for the
  student. The output file appears atomically at ``out`` only when the repair worked.

What photo-fix cannot repair (colours, blur, light, background) needs a new photo: the
checker's findings say so.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from intake.config import Settings
from intake.sandbox import Sandbox, SandboxFailure, limits_from
from validators.codes import ReasonCode, code_from_str
from validators.photo import PhotoCode
from validators.verdict import Level, Result


@dataclass(frozen=True)
class PhotoFix:
    """What photo-fix did (``ok``) or why it could not (``reason``, ``message``)."""

    ok: bool
    actions: tuple[str, ...] = ()
    reason: ReasonCode | None = None
    message: str = ""
    out: Path | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "actions": list(self.actions),
            "reason": str(self.reason) if self.reason else None,
            "message": self.message,
            "out": str(self.out) if self.out else None,
            "detail": dict(self.detail),
        }


# ----------------------------------------------------------------- child side


def _refusal(code: PhotoCode, detail: dict[str, Any], **values: Any) -> dict[str, Any]:
    return {
        "ok": False,
        "actions": [],
        "reason": str(code),
        "message": code.render(values),
        "detail": {**detail, **values},
    }


def fix(
    *, path: str, out: str, profile: str = "university", max_bytes: int = 5_000_000
) -> dict[str, Any]:
    """Child op: repair the photo at ``path`` into ``out`` (see the module docstring)."""
    from PIL import Image

    from intake.parse import write_jpeg
    from ocr import vision as pix
    from validators import photo as rules

    prof = rules.get_profile(profile)
    fix_rules = prof["fix"]
    with Image.open(path, formats=["JPEG"]) as im:
        original = im.size
        # the repaired photo is at most `max_height` tall: decode a big phone photo
        # straight at 1/2, 1/4 or 1/8 scale (libjpeg), keeping twice that on each side
        keep = 2 * int(fix_rules["max_height"])
        if max(im.size) > 2 * keep:
            ratio = keep / min(im.size)
            im.draft("RGB", (round(im.width * ratio), round(im.height * ratio)))
        rgb = pix.as_rgb(im.convert("RGB"))
    detector = pix.default_detector()
    detail: dict[str, Any] = {"profile": prof.name, "input_size": list(original)}
    if original != (rgb.shape[1], rgb.shape[0]):
        detail["decoded_size"] = [rgb.shape[1], rgb.shape[0]]

    located = rules.locate(rgb, detector, prof)
    if not located.faces:
        return _refusal(PhotoCode.NO_FACE, detail)
    if len(located.faces) > 1:
        return _refusal(PhotoCode.FACES, detail, count=len(located.faces))
    actions: list[str] = []
    if located.turns:
        rgb = pix.turn(rgb, located.turns)
        actions.append(
            f"Photo tournée {rules.turn_words(located.turns)} : elle n’était pas dans le bon sens."
        )
    detail["turns"] = located.turns
    face = located.faces[0]
    eyes = rules.eye_pair(
        detector.eyes(rgb, face, enough=lambda found: rules.eyes_settled(found, face)), face
    )

    rotation = 0.0
    centre: tuple[float, float] | None = None
    if eyes:
        roll = rules.roll_degrees(eyes)
        if abs(roll) > float(fix_rules["straighten_above_degrees"]):
            rotation = roll
            centre = (face[0] + face[2] / 2, face[1] + face[3] / 2)
            # rotating about the face centre keeps the face box; the eyes become level
            middle = sum(e[1] for e in eyes) / 2
            eyes = tuple((ex, middle) for ex, _ in eyes)
    height, width = rgb.shape[:2]
    pixels = prof["pixels"]
    aspect = float(fix_rules["width_mm"]) / float(fix_rules["height_mm"])
    largest = (min(width, height * aspect), min(height, width / aspect))
    if largest[0] < pixels["warn_width"] or largest[1] < pixels["warn_height"]:
        return _refusal(
            PhotoCode.FIX_SMALL,
            detail,
            width=round(largest[0]),
            height=round(largest[1]),
            min_width=pixels["warn_width"],
            min_height=pixels["warn_height"],
        )
    if not rotation and _framed(width, height, rules.Head.of(face, prof, eyes), prof):
        image = Image.fromarray(rgb)
        actions.append("Photo déjà bien cadrée : aucun recadrage nécessaire.")
        size = write_jpeg(image, out, max_bytes=max_bytes)
        detail.update(size=[width, height], bytes=size, crop=None)
        return {"ok": True, "actions": actions, "reason": None, "message": "", "detail": detail}
    plan = rules.crop_plan(width, height, face, prof, rotation=rotation, centre=centre, eyes=eyes)
    if not plan.fits and rotation:
        # no room to straighten: crop as it is (the roll finding will say so)
        unrotated = rules.crop_plan(width, height, face, prof)
        if unrotated.fits:
            plan, rotation, centre = unrotated, 0.0, None
    detail.update(crop=list(plan.box), head_ratio=plan.head_ratio, rotation=round(rotation, 1))
    if not plan.fits:
        return _refusal(
            PhotoCode.FIX_EDGE,
            detail,
            sides=", ".join(plan.missing),
            missing=dict(plan.missing),
        )
    _, _, w, h = plan.box
    if w < pixels["warn_width"] or h < pixels["warn_height"]:
        return _refusal(
            PhotoCode.FIX_SMALL,
            detail,
            width=w,
            height=h,
            min_width=pixels["warn_width"],
            min_height=pixels["warn_height"],
        )
    if rotation and centre is not None:
        rgb = pix.rotate_about(rgb, rotation, centre)
        actions.append(f"Photo redressée de {abs(rotation):.0f}° : la tête était penchée.")
    plan = _settle(rgb, plan, prof, detector, rotation=rotation, centre=centre)
    h = plan.box[3]
    detail.update(crop=list(plan.box), head_ratio=plan.head_ratio)
    actions.append(
        f"Photo recadrée au format {fix_rules['width_mm']} × {fix_rules['height_mm']} : "
        f"la tête occupe {round(100 * plan.head_ratio)} % de la hauteur, visage centré."
    )
    image, _ = _render(rgb, plan, prof)
    out_w, out_h = image.size
    if out_h < h:
        actions.append(f"Photo réduite à {out_w} × {out_h} pixels.")
    size = write_jpeg(image, out, max_bytes=max_bytes)
    detail.update(size=[out_w, out_h], bytes=size)
    return {"ok": True, "actions": actions, "reason": None, "message": "", "detail": detail}


def _framed(width: int, height: int, head: Any, prof: Any) -> bool:
    """True when the photo already meets the profile's framing: aspect, head size,
    centring and (when the profile asks) eye line pass (photo-fix then leaves it as
    it is)."""
    from validators import photo as rules

    framed = (
        rules.grade(width / height, prof["aspect"]) is None
        and rules.grade(head.height / height, prof["head_size"]) is None
        and rules.grade(abs(head.centre_x - width / 2) / width, prof["centring"]) is None
    )
    if framed and prof["eye_line"].get("enabled", False):
        # the eye line sits at mid-head (the calibration of the head estimate)
        framed = rules.grade((head.crown + head.chin) / 2 / height, prof["eye_line"]) is None
    return framed


def _render(rgb: Any, plan: Any, prof: Any, quality: int = 90) -> Any:
    """The photo as it will be written: cropped, reduced to ``max_height`` at most,
    and through a JPEG round trip (what the checker will read back)."""
    import io

    import numpy as np
    from PIL import Image

    fix_rules = prof["fix"]
    x, y, w, h = plan.box
    image = Image.fromarray(rgb[y : y + h, x : x + w])
    out_h = min(h, int(fix_rules["max_height"]))
    out_w = round(out_h * float(fix_rules["width_mm"]) / float(fix_rules["height_mm"]))
    if (out_w, out_h) != image.size:
        image = image.resize((out_w, out_h), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    with Image.open(buffer) as reread:
        return image, np.asarray(reread.convert("RGB"))


def _settle(
    rgb: Any,
    plan: Any,
    prof: Any,
    detector: Any,
    *,
    rotation: float,
    centre: tuple[float, float] | None,
    rounds: int = 2,
    tolerance: float = 0.01,
) -> Any:
    """Measure the head on the result as the checker will read it, and correct the
    crop (at most ``rounds`` times) while it is off target by more than ``tolerance``
    (a Haar box on a new framing differs by a few per cent). A corrected crop must
    still fit and stay large enough; otherwise the last good one stays."""
    from validators import photo as rules

    pixels = prof["pixels"]
    target = float(prof["fix"]["head_ratio"])
    height, width = rgb.shape[:2]
    for _ in range(rounds):
        x, y, _, h = plan.box
        _, seen = _render(rgb, plan, prof)
        factor = h / seen.shape[0]  # output pixels → crop pixels
        located = rules.locate(seen, detector, prof)
        if len(located.faces) != 1 or located.turns:
            return plan
        face = located.faces[0]
        eyes = rules.eye_pair(
            detector.eyes(seen, face, enough=lambda found, f=face: rules.eyes_settled(found, f)),
            face,
        )
        head = rules.Head.of(face, prof, eyes)
        if abs(head.height / seen.shape[0] - target) <= tolerance:
            return plan
        # the same head in the full image, then a new plan around it
        full_face = (
            round(face[0] * factor) + x,
            round(face[1] * factor) + y,
            round(face[2] * factor),
            round(face[3] * factor),
        )
        full_eyes = tuple((ex * factor + x, ey * factor + y) for ex, ey in eyes)
        again = rules.crop_plan(
            width, height, full_face, prof, eyes=full_eyes, rotation=rotation, centre=centre
        )
        large = again.box[2] >= pixels["warn_width"] and again.box[3] >= pixels["warn_height"]
        if not (again.fits and large) or again.box == plan.box:
            return plan
        plan = again
    return plan


# ---------------------------------------------------------------- parent side


def fix_photo(
    stored: Path | str,
    out: Path | str,
    *,
    profile: str = "university",
    settings: Settings | None = None,
    sandbox: Sandbox | None = None,
) -> PhotoFix:
    """Repair the stored photo ``stored`` into ``out`` in the limited child. ``out`` is
    written atomically (temporary file in the same directory, then ``os.replace``) and
    only when the repair worked; a child failure is a refusal, never an exception."""
    settings = settings or Settings()
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = target.parent / f".photofix-{secrets.token_hex(8)}.jpg"
    own = sandbox is None
    sandbox = sandbox or Sandbox(limits_from(settings, check=True), max_jobs=1)
    try:
        value = sandbox.run(
            "photo_fix",
            {
                "path": str(stored),
                "out": str(scratch),
                "profile": profile,
                "max_bytes": settings.max_bytes,
            },
            timeout_s=settings.check_timeout_s,
        )
        if value.get("ok"):
            os.chmod(scratch, 0o600)
            os.replace(scratch, target)
    except SandboxFailure as failure:
        found = failure.finding(Level.WARNING, Result.INCONCLUSIVE)
        return PhotoFix(
            ok=False, reason=found.code, message=found.message, detail=dict(found.detail)
        )
    finally:
        if own:
            sandbox.close()
        scratch.unlink(missing_ok=True)
    reason = code_from_str(value["reason"]) if value.get("reason") else None
    return PhotoFix(
        ok=bool(value.get("ok")),
        actions=tuple(value.get("actions") or ()),
        reason=reason,
        message=value.get("message") or "",
        out=target if value.get("ok") else None,
        detail=value.get("detail") or {},
    )
