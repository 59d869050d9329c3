"""The photo checker: profiles, geometry rules, each criterion on built images (fake
face detector), and every labelled sample variant with the real Haar detector."""

from __future__ import annotations

import datetime as dt
import io
import math

import numpy as np
import pytest
from PIL import Image

from ocr import vision as pix
from validators import photo
from validators.base import Context, Kind, StaticDocument
from validators.photo import PhotoCode
from validators.verdict import Level, Outcome, Result

DAY = dt.date(2026, 9, 1)


def ctx(profile: str = "university", vision=None, **options) -> Context:
    return Context(DAY, "2026-2027", photo_profile=profile, vision=vision, options=options)


def doc(image) -> StaticDocument:
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    return StaticDocument.of_images(Kind.PHOTO, image)


def by_code(verdict):
    return {str(f.code): f for f in verdict.findings}


def flagged(verdict) -> set[str]:
    return {
        str(f.code)
        for f in verdict.findings
        if f.result in (Result.FAIL, Result.INCONCLUSIVE) and f.level is not Level.INFO
    }


# --------------------------------------------------------------- built images


def portrait(
    width: int = 630,
    height: int = 810,
    *,
    background=(250, 250, 250),
    skin=(214, 160, 130),
    face=(80, 190, 470, 470),
) -> np.ndarray:
    """A flat background with a skin-coloured head, two dark eyes, red lips and a
    textured cheek (so that sharpness and colour variety are those of a photo)."""
    rng = np.random.default_rng(3)
    img = np.empty((height, width, 3), np.float32)
    img[:] = background
    x, y, w, h = face
    yy, xx = np.ogrid[:height, :width]
    head = ((xx - (x + w / 2)) / (0.52 * w)) ** 2 + ((yy - (y + 0.45 * h)) / (0.68 * h)) ** 2 <= 1
    img[head] = skin
    import cv2

    # skin is not one flat colour: blotches of redder and yellower tone
    texture = cv2.GaussianBlur(
        rng.normal(0, 1, size=(height, width, 3)).astype(np.float32), (0, 0), 3
    )
    texture *= 9.0 / texture.std()
    img[head] += texture[head]
    for ex in (x + 0.3 * w, x + 0.7 * w):
        eye = ((xx - ex) / (0.07 * w)) ** 2 + ((yy - (y + 0.38 * h)) / (0.035 * h)) ** 2 <= 1
        img[eye] = (40, 30, 25)
    lips = ((xx - (x + w / 2)) / (0.13 * w)) ** 2 + ((yy - (y + 0.78 * h)) / (0.03 * h)) ** 2 <= 1
    img[lips] = (170, 60, 70)
    hair = ((xx - (x + w / 2)) / (0.5 * w)) ** 2 + ((yy - (y + 0.05 * h)) / (0.2 * h)) ** 2 <= 1
    img[hair & (yy < y + 0.12 * h)] = (90, 60, 35)
    return np.clip(img, 0, 255).astype(np.uint8)


class FakeVision:
    """Answers with fixed boxes, and only for the image it was told is upright
    (``upright`` = the photo turned ``turns`` quarter turns anticlockwise)."""

    def __init__(self, faces=(), eyes=(), *, image=None, turns=0):
        self.face_boxes = tuple(faces)
        self.eye_boxes = tuple(eyes)
        self.upright = None if image is None else pix.grey(pix.turn(image, turns))
        self.calls = 0

    def faces(self, image, *, min_fraction=None, thorough=True):
        self.calls += 1
        gray = pix.grey(image)
        if self.upright is not None and not (
            gray.shape == self.upright.shape and np.array_equal(gray, self.upright)
        ):
            return ()
        return self.face_boxes

    def eyes(self, image, face, *, enough=None):
        return self.eye_boxes


FACE = (80, 190, 470, 470)  # head ≈ 0.755 of 810 px, centred in 630
EYES = ((174, 322, 94, 94), (362, 322, 94, 94))  # centres (221, 369) and (409, 369)


def fake(image=None, **kw) -> FakeVision:
    return FakeVision([FACE], EYES, image=image, **kw)


# ------------------------------------------------------------------- profiles


def test_profiles_load_with_common_thresholds_merged():
    profiles = photo.load_profiles()
    assert set(profiles) == {"university", "ants"}
    assert photo.default_profile_name() == "university"
    uni, ants = profiles["university"], profiles["ants"]
    # shared sections come from [common]
    assert uni["blur"]["pass"] == ants["blur"]["pass"]
    assert uni["detector"]["head_factor"] == pytest.approx(1.3)
    # national rule: head 32–36 mm of 45
    assert ants["head_size"]["pass"] == [0.71, 0.80]
    assert uni["background_colour"]["advice"] == "white_wanted"
    assert ants["background_colour"]["advice"] == "white_forbidden"
    with pytest.raises(ValueError, match="unknown photo profile"):
        photo.get_profile("passport")


def test_profiles_judge_white_and_grey_walls_oppositely():
    """Same background measurements, opposite verdicts: the rules in the TOML."""
    uni = photo.get_profile("university")["background_colour"]["rules"]
    ants = photo.get_profile("ants")["background_colour"]["rules"]

    def decide(rules, lightness, chroma):
        for rule in rules:
            if "l_below" in rule and not lightness < rule["l_below"]:
                continue
            if "c_above" in rule and not chroma > rule["c_above"]:
                continue
            return rule["level"]
        raise AssertionError("no rule matched")

    assert decide(uni, 97, 1) == "pass" and decide(ants, 97, 1) == "error"
    assert decide(uni, 83, 1) == "warning" and decide(ants, 83, 1) == "pass"
    assert decide(uni, 75, 1) == "error" and decide(ants, 65, 1) == "warning"
    assert decide(ants, 93, 10) == "pass"  # tinted light blue is fine for ANTS
    assert decide(uni, 93, 10) == "warning"


def test_grade_ranges():
    section = {"pass": [0.5, 0.85], "warn": [0.3, 0.95]}
    assert photo.grade(0.6, section) is None
    assert photo.grade(0.4, section) is Level.WARNING
    assert photo.grade(0.2, section) is Level.ERROR
    assert photo.grade(0.99, section) is Level.ERROR
    assert photo.grade(0.2, {"pass": [0.5, 0.85]}) is Level.WARNING  # no warn range
    assert photo.grade(math.inf, {"pass": [100.0, math.inf]}) is None


# ------------------------------------------------------------------- geometry


def test_keep_faces_ignores_small_and_nested_boxes():
    kept, ignored = photo.keep_faces(
        [(0, 0, 40, 40), (100, 100, 200, 200), (150, 150, 100, 100)], 0.2
    )
    assert kept == ((100, 100, 200, 200),)
    assert ignored == 1  # 40² < 20 % of 200²; the 100² box is a double of the big one
    two, _ = photo.keep_faces([(0, 0, 200, 200), (300, 0, 190, 190)], 0.2)
    assert len(two) == 2


def test_eye_pair_merges_candidates_and_rejects_implausible_ones():
    face = (100, 100, 200, 200)
    pair = photo.eye_pair([(130, 160, 40, 40), (132, 162, 36, 36), (230, 160, 40, 40)], face)
    assert pair == ((150.0, 180.0), (250.0, 180.0))
    assert photo.eye_pair([(130, 160, 40, 40)], face) == ()  # one eye
    assert photo.eye_pair([(130, 160, 40, 40), (150, 160, 40, 40)], face) == ()  # same side
    assert photo.eye_pair([(130, 270, 40, 40), (230, 270, 40, 40)], face) == ()  # mouth level
    assert not photo.eyes_settled([(130, 160, 40, 40), (230, 160, 40, 40)], face)
    assert photo.eyes_settled(
        [(130, 160, 40, 40), (131, 161, 40, 40)] * 1 + [(230, 160, 40, 40)] * 2, face
    )


def test_roll_sign_and_turn_words():
    assert photo.roll_degrees(((0, 0), (100, 0))) == 0
    assert photo.roll_degrees(((0, 0), (100, 10))) == pytest.approx(5.71, abs=0.01)
    assert "gauche" in photo.turn_words(1) and "droite" in photo.turn_words(3)
    assert "demi-tour" in photo.turn_words(2)


def test_head_estimate_uses_box_and_eye_line():
    prof = photo.get_profile("ants")
    head = photo.Head.of((100, 200, 300, 300), prof)
    assert head.chin == 500 and head.height == pytest.approx(390)
    # eyes at mid-head of the box estimate: the two estimates agree
    eye_y = 500 - 390 / 2.06
    same = photo.Head.of((100, 200, 300, 300), prof, ((180, eye_y), (320, eye_y)))
    assert same.height == pytest.approx(390)
    higher = photo.Head.of((100, 200, 300, 300), prof, ((180, 250), (320, 250)))
    assert higher.height > 390


def test_crop_plan_centres_the_head_at_the_profile_ratio():
    prof = photo.get_profile("ants")
    plan = photo.crop_plan(1200, 1600, (450, 600, 300, 300), prof)
    assert plan.fits
    x, y, w, h = plan.box
    assert w / h == pytest.approx(35 / 45, abs=0.01)
    assert 390 / h == pytest.approx(0.755, abs=0.01)
    assert x + w / 2 == pytest.approx(600, abs=2)
    assert (600 + 300 - 390 - y) / h == pytest.approx(0.07, abs=0.01)


def test_crop_plan_says_which_edge_is_missing():
    prof = photo.get_profile("ants")
    plan = photo.crop_plan(600, 800, (0, 300, 300, 300), prof)  # face on the left edge
    assert not plan.fits
    assert "gauche" in plan.missing and "droite" not in plan.missing
    # a full-frame photo that fits unrotated no longer fits once straightened by 10°
    tight = photo.crop_plan(500, 643, (62, 150, 375, 375), prof)
    rotated = photo.crop_plan(500, 643, (62, 150, 375, 375), prof, rotation=10, centre=(250, 337))
    assert not rotated.fits and (tight.fits or tight.missing != rotated.missing)


# ------------------------------------------------- criteria with a fake detector


def test_compliant_built_portrait_passes_every_criterion_for_its_profile():
    image = portrait()
    verdict = photo.check(doc(image), ctx("university", fake(image)))
    assert verdict.outcome is Outcome.ACCEPTED, flagged(verdict)
    found = by_code(verdict)
    every = {str(c) for c in PhotoCode if not str(c).startswith("photo.fix")}
    assert set(found) == every - {"photo.no_face"}  # one face: photo.faces answers
    for code in ("photo.pixels", "photo.head_size", "photo.blur", "photo.background"):
        detail = found[code].detail
        assert "measured" in detail and "threshold" in detail, code
        assert detail["profile"] == "university"
    assert found["photo.eye_line"].result is Result.SKIPPED  # not a university criterion
    assert verdict.fields["faces"] == [list(FACE)]


def test_same_photo_two_profiles_differ_only_on_background_colour():
    white, grey = portrait(), portrait(background=(205, 206, 206))
    for image, accepted_by in ((white, "university"), (grey, "ants")):
        results = {p: photo.check(doc(image), ctx(p, fake(image))) for p in ("university", "ants")}
        assert results[accepted_by].outcome is Outcome.ACCEPTED
        other = "ants" if accepted_by == "university" else "university"
        assert flagged(results[other]) == {"photo.background"}


def test_no_face_is_an_error_and_face_criteria_are_skipped():
    verdict = photo.check(doc(portrait()), ctx("university", FakeVision()))
    found = by_code(verdict)
    assert verdict.outcome is Outcome.REJECTED
    assert found["photo.no_face"].blocks
    for code in ("photo.head_size", "photo.blur", "photo.roll", "photo.background"):
        assert found[code].result is Result.SKIPPED
    assert found["photo.colour"].result is Result.PASS  # judged without a face


def test_no_detector_or_a_broken_one_is_inconclusive_not_a_rejection():
    class Broken:
        def faces(self, image, *, min_fraction=None, thorough=True):
            raise RuntimeError("cascade failed")

    for vision in (None, Broken()):
        verdict = photo.check(doc(portrait()), ctx("university", vision))
        assert verdict.outcome is Outcome.REVIEW
        assert by_code(verdict)["photo.no_face"].result is Result.INCONCLUSIVE


def test_two_faces_have_their_own_code():
    vision = FakeVision([FACE, (350, 20, 260, 260)], EYES)
    verdict = photo.check(doc(portrait()), ctx("university", vision))
    found = by_code(verdict)
    assert found["photo.faces"].blocks and found["photo.faces"].detail["count"] == 2
    assert "photo.no_face" not in found
    assert found["photo.head_size"].result is Result.SKIPPED  # which face? none judged
    # a much smaller second face (a poster, a reflection) is ignored: 20 % rule
    small = FakeVision([FACE, (450, 20, 150, 150)], EYES)
    alone = by_code(photo.check(doc(portrait()), ctx("university", small)))
    assert alone["photo.faces"].result is Result.PASS
    assert alone["photo.faces"].detail["ignored_small"] == 1


def test_face_found_only_after_turning_gives_the_turn_and_judges_the_turned_photo():
    upright = portrait()
    sideways = pix.turn(upright, 3)  # lying on its side: a quarter turn clockwise
    vision = fake(sideways, turns=1)  # upright again after a quarter turn anticlockwise
    verdict = photo.check(doc(sideways), ctx("university", vision))
    found = by_code(verdict)
    assert found["photo.orientation"].blocks
    assert found["photo.orientation"].detail["rotate_ccw_degrees"] == 90
    assert "quart de tour vers la gauche" in found["photo.orientation"].message
    assert found["photo.aspect"].result is Result.PASS  # measured on the turned photo
    assert flagged(verdict) == {"photo.orientation"}
    assert verdict.fields["turns"] == 1


def test_without_eyes_the_roll_is_inconclusive():
    image = portrait()
    verdict = photo.check(doc(image), ctx("university", FakeVision([FACE], ())))
    found = by_code(verdict)
    assert found["photo.roll"].result is Result.INCONCLUSIVE
    assert found["photo.pixels"].detail["ied_source"] == "estimée"
    assert verdict.outcome is Outcome.REVIEW


def test_each_defect_is_named():
    base = portrait()
    grey = np.repeat(base.mean(axis=2, keepdims=True), 3, axis=2).astype(np.uint8)
    dark = (base.astype(np.float32) * 0.18).astype(np.uint8)
    blurred = np.asarray(
        Image.fromarray(base).filter(__import__("PIL.ImageFilter").ImageFilter.GaussianBlur(9))
    )
    blue = np.clip(base * 0.6 + np.array([20, 60, 160]), 0, 255).astype(np.uint8)
    small = portrait(240, 309, face=(46, 88, 148, 148))
    cases = {
        "photo.colour": grey,
        "photo.exposure": dark,
        "photo.blur": blurred,
        "photo.colour_cast": blue,
    }
    for code, image in cases.items():
        verdict = photo.check(doc(image), ctx("university", fake()))
        assert code in flagged(verdict), (code, flagged(verdict))
    tiny = photo.check(doc(small), ctx("university", FakeVision([(46, 88, 148, 148)])))
    assert by_code(tiny)["photo.pixels"].blocks


def test_head_size_centring_and_aspect_from_geometry():
    image = portrait(1000, 1286, face=(600, 300, 200, 200))  # small and off to the right
    box = (600, 300, 200, 200)
    verdict = photo.check(doc(image), ctx("ants", FakeVision([box])))
    found = by_code(verdict)
    assert found["photo.head_size"].blocks  # 0.2 of the height, ANTS wants 0.71–0.80
    assert found["photo.centring"].blocks and found["photo.centring"].detail["side"] == "droite"
    square = portrait(810, 810, face=(210, 200, 390, 390))
    found = by_code(photo.check(doc(square), ctx("university", FakeVision([(210, 200, 390, 390)]))))
    assert found["photo.aspect"].level is Level.WARNING
    assert "non rognée" not in found["photo.aspect"].message  # square is not landscape
    wide = portrait(1000, 700, face=(300, 150, 390, 390))
    found = by_code(photo.check(doc(wide), ctx("university", FakeVision([(300, 150, 390, 390)]))))
    assert "non rognée" in found["photo.aspect"].message


def test_editing_software_is_info_from_metadata_or_the_caller():
    image = Image.fromarray(portrait())
    exif = Image.Exif()
    exif[0x0131] = "Adobe Photoshop 25.0 (Windows)"
    buf = io.BytesIO()
    image.save(buf, "JPEG", exif=exif.tobytes())
    with Image.open(io.BytesIO(buf.getvalue())) as edited:
        edited.load()
        verdict = photo.check(doc(edited), ctx("university", fake()))
    found = by_code(verdict)["photo.editing_software"]
    assert found.level is Level.INFO and found.result is Result.FAIL
    assert "Photoshop" in found.message
    assert verdict.outcome is Outcome.ACCEPTED  # information for the reviewer only
    # stored JPEGs carry no metadata: the caller may pass what it saw at upload
    plain = photo.check(doc(portrait()), ctx("university", fake()))
    assert by_code(plain)["photo.editing_software"].result is Result.SKIPPED
    told = photo.check(doc(portrait()), ctx("university", fake(), source_software="Snapseed 2.0"))
    assert "Snapseed" in by_code(told)["photo.editing_software"].message
    camera = photo.check(doc(portrait()), ctx("university", fake(), source_software="HDR+ 1.0"))
    assert by_code(camera)["photo.editing_software"].result is Result.PASS


def test_messages_are_french_with_typographic_apostrophes():
    for code in PhotoCode:
        for text in (code.message, code.ok_message, code.inconclusive_message):
            assert "'" not in text, code
    assert "fond blanc" in photo.BACKGROUND_ADVICE["white_wanted"]
    assert "fond blanc est interdit" in photo.BACKGROUND_ADVICE["white_forbidden"]
    assert "dans le bon sens" in PhotoCode.ORIENTATION.message
    assert set(photo.CATALOGUE) >= set(PhotoCode) - {PhotoCode.FIX_EDGE, PhotoCode.FIX_SMALL}


# ------------------------------------------- the labelled samples, real detector


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    from samples import photos as generator

    out = tmp_path_factory.mktemp("photos")
    return out, generator.generate(out, seed=7)


@pytest.mark.opencv
@pytest.mark.slow
def test_every_sample_variant_is_flagged_with_its_expected_codes(samples):
    out, entries = samples
    detector = pix.default_detector()
    problems = []
    for entry in entries:
        with Image.open(out / entry["file"]) as im:
            image = im.convert("RGB")
        for profile in ("university", "ants"):
            verdict = photo.check(doc(image), ctx(profile, detector))
            got = flagged(verdict)
            expected = set(entry["expected"][profile])
            missing = expected - got
            extra = got - expected - set(entry["allowed"])
            if missing or extra:
                problems.append((entry["file"], profile, sorted(missing), sorted(extra)))
            if profile in entry["compliant_for"]:
                assert verdict.outcome is Outcome.ACCEPTED, (entry["file"], profile, got)
            for f in verdict.findings:
                assert_filled(f)
    assert not problems


def assert_filled(f) -> None:
    """Every {placeholder} of the message used was in the finding's detail."""
    import string

    if f.result is Result.SKIPPED or (f.result is Result.FAIL and f.level is Level.INFO):
        return  # messages written for the case (skipped criteria, hints for the reviewer)
    template = {
        Result.PASS: f.code.ok_message,
        Result.INCONCLUSIVE: f.code.inconclusive_message,
    }.get(f.result, f.code.message)
    names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    assert names <= set(f.detail), (f.code, names - set(f.detail))
    assert "{" not in f.message, f.message


@pytest.mark.opencv
def test_profiles_disagree_exactly_on_background_colour_on_real_samples(samples):
    out, _ = samples
    detector = pix.default_detector()
    for name in ("astronaut-compliant_white.jpg", "hopper-compliant_grey.jpg"):
        with Image.open(out / name) as im:
            image = im.convert("RGB")
        uni = photo.check(doc(image), ctx("university", detector))
        ants = photo.check(doc(image), ctx("ants", detector))
        assert flagged(uni) ^ flagged(ants) == {"photo.background"}, name
        assert {uni.outcome, ants.outcome} & {Outcome.ACCEPTED}


def test_a_big_photo_is_measured_reduced_but_reported_at_its_own_size():
    big = Image.fromarray(portrait()).resize((2520, 3240))  # 4 ×: reduced by 2 to work
    double = tuple(2 * v for v in FACE)
    eyes = tuple(tuple(2 * v for v in e) for e in EYES)
    verdict = photo.check(doc(big), ctx("university", FakeVision([double], eyes)))
    found = by_code(verdict)
    assert verdict.fields["size"] == [2520, 3240]
    measured = found["photo.pixels"].detail["measured"]
    assert (measured["width"], measured["height"]) == (2520, 3240)
    assert measured["ied"] == pytest.approx(2 * 2 * 188, abs=2)  # eyes 188 px apart at 1×
    assert found["photo.head_size"].detail["measured"] == pytest.approx(
        by_code(photo.check(doc(portrait()), ctx("university", fake())))["photo.head_size"].detail[
            "measured"
        ],
        abs=0.01,
    )
