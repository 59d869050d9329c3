"""photo-fix through the limited child: what it repairs, what it refuses, and that the
repaired photo passes the checker."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from intake import analyse, check_context, receive
from intake.photofix import PhotoFix, fix_photo
from intake.sandbox import SandboxFailure
from validators.codes import SandboxCode
from validators.photo import PhotoCode

REPAIRABLE = ("turned_90", "turned_180", "off_centre", "wrong_aspect", "tilted", "face_small")
REFUSED = ("two_faces", "face_large", "few_pixels")


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    from samples import photos as generator

    out = tmp_path_factory.mktemp("photos")
    entries = generator.generate(out, seed=7, only=("compliant_white", *REPAIRABLE, *REFUSED))
    return out, {e["file"]: e for e in entries}


def stored(path, settings, sandbox):
    received = receive(
        io.BytesIO(path.read_bytes()), path.name, "photo", settings=settings, sandbox=sandbox
    )
    assert received.stored is not None, received.verdict.codes
    return received.stored


def flagged(verdict) -> set[str]:
    return {
        str(f.code)
        for f in verdict.findings
        if (f.result == "fail" and f.level != "info") or f.result == "inconclusive"
    }


@pytest.mark.opencv
@pytest.mark.slow
@pytest.mark.parametrize("variant", REPAIRABLE)
def test_repairable_variants_come_out_passing(variant, photos, settings, sandbox, tmp_path):
    out_dir, truth = photos
    name = f"astronaut-{variant}.jpg" if variant != "face_small" else "hopper-face_small.jpg"
    entry = truth[name]
    profile = "university"
    target = tmp_path / "fixed.jpg"
    result = fix_photo(
        stored(out_dir / name, settings, sandbox),
        target,
        profile=profile,
        settings=settings,
        sandbox=sandbox,
    )
    assert result.ok, result
    assert result.out == target and target.is_file()
    assert result.reason is None and result.actions
    assert all("’" in a or "'" not in a for a in result.actions)
    with Image.open(target) as im:
        assert im.format == "JPEG"
        assert im.width / im.height == pytest.approx(35 / 45, abs=0.01)
    verdict = analyse(
        target,
        "image/jpeg",
        "photo",
        check_context(settings, photo_profile=profile),
        settings=settings,
        sandbox=sandbox,
    )
    assert flagged(verdict) == set(entry["after_fix"][profile]), variant
    if variant.startswith("turned"):
        assert "tournée" in result.actions[0]
    if variant == "tilted":
        assert any("redressée" in a for a in result.actions)


@pytest.mark.opencv
@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("astronaut-two_faces.jpg", PhotoCode.FACES),
        ("hopper-face_large.jpg", PhotoCode.FIX_EDGE),
        ("astronaut-few_pixels.jpg", PhotoCode.FIX_SMALL),
    ],
)
def test_unrepairable_photos_say_why_and_write_nothing(
    name, reason, photos, settings, sandbox, tmp_path
):
    out_dir, truth = photos
    assert truth[name]["repair"] == str(reason)
    target = tmp_path / "fixed.jpg"
    result = fix_photo(
        stored(out_dir / name, settings, sandbox),
        target,
        profile="ants",
        settings=settings,
        sandbox=sandbox,
    )
    assert not result.ok and result.reason is reason
    assert result.message and "?" not in result.message
    assert result.out is None and not target.exists()
    assert not list(tmp_path.glob(".photofix-*"))  # no scratch left behind
    if reason is PhotoCode.FIX_EDGE:
        assert result.detail["missing"]


@pytest.mark.opencv
def test_a_compliant_photo_is_left_as_it_is(photos, settings, sandbox, tmp_path):
    out_dir, _ = photos
    result = fix_photo(
        stored(out_dir / "astronaut-compliant_white.jpg", settings, sandbox),
        tmp_path / "same.jpg",
        settings=settings,
        sandbox=sandbox,
    )
    assert result.ok
    assert result.actions == ("Photo déjà bien cadrée : aucun recadrage nécessaire.",)
    assert result.detail["crop"] is None


def test_a_child_failure_is_a_refusal_not_an_exception(tmp_path):
    class Dead:
        def run(self, *args, **kwargs):
            raise SandboxFailure("timeout", {"limit_s": 1})

    result = fix_photo(tmp_path / "in.jpg", tmp_path / "out.jpg", sandbox=Dead())
    assert isinstance(result, PhotoFix)
    assert not result.ok and result.reason is SandboxCode.TIMEOUT
    assert not (tmp_path / "out.jpg").exists()
    assert result.to_dict()["reason"] == "sandbox.timeout"


@pytest.mark.opencv
def test_no_face_is_refused_in_the_child(settings, sandbox, tmp_path):
    blank = tmp_path / "wall.jpg"
    Image.new("RGB", (600, 780), (240, 240, 238)).save(blank, "JPEG")
    result = fix_photo(
        stored(blank, settings, sandbox), tmp_path / "out.jpg", settings=settings, sandbox=sandbox
    )
    assert not result.ok and result.reason is PhotoCode.NO_FACE
    assert "Aucun visage" in result.message
