"""`justif photo-fix` and `justif check --kind photo` as a user runs them."""

from __future__ import annotations

import json
import subprocess

import pytest
from PIL import Image

from tests.conftest import ROOT

JUSTIF = str(ROOT / ".venv/bin/justif")


def justif(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([JUSTIF, *args], capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    from samples import photos as generator

    out = tmp_path_factory.mktemp("photos")
    generator.generate(
        out, seed=7, only=("compliant_white", "turned_180", "two_faces"), sources=("astronaut",)
    )
    return out


def test_profile_choices_are_the_configured_profiles():
    from validators.photo import load_profiles
    from web.commands.photo import PROFILES

    assert set(PROFILES) == set(load_profiles())


@pytest.mark.opencv
@pytest.mark.slow
def test_photo_fix_turns_the_photo_and_writes_it(photos, tmp_path):
    target = tmp_path / "out" / "fixed.jpg"
    done = justif("photo-fix", str(photos / "astronaut-turned_180.jpg"), "-o", str(target))
    assert done.returncode == 0, done.stderr
    assert "demi-tour" in done.stdout and "photo réparée" in done.stdout
    assert "Vérification : conforme." in done.stdout
    with Image.open(target) as im:
        assert im.height > im.width


@pytest.mark.opencv
@pytest.mark.slow
def test_photo_fix_json_and_refusal(photos, tmp_path):
    target = tmp_path / "fixed.jpg"
    done = justif("photo-fix", str(photos / "astronaut-two_faces.jpg"), "-o", str(target), "--json")
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is False and report["reason"] == "photo.faces"
    assert "seul visage" in report["message"]
    assert not target.exists()
    done = justif(
        "photo-fix",
        str(photos / "astronaut-compliant_white.jpg"),
        "-o",
        str(target),
        "--profile",
        "ants",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] and report["output"] == str(target)
    # the repair cannot change the white wall that ANTS forbids: the check says so
    assert report["check"]["outcome"] == "rejected"
    assert [r["code"] for r in report["check"]["remaining"]] == ["photo.background"]


def test_photo_fix_refuses_a_file_intake_refuses(tmp_path):
    png = tmp_path / "photo.jpg"
    Image.new("RGB", (500, 640), "white").save(png, "PNG")
    done = justif("photo-fix", str(png), "-o", str(tmp_path / "out.jpg"))
    assert done.returncode == 1
    assert "file.unsupported_type" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_photo_fix_usage_errors_exit_2(tmp_path):
    assert justif("photo-fix", str(tmp_path / "missing.jpg"), "-o", "x.jpg").returncode == 2
    source = tmp_path / "a.jpg"
    Image.new("RGB", (10, 10)).save(source, "JPEG")
    assert justif("photo-fix", str(source)).returncode == 2  # no -o
    assert justif("photo-fix", str(source), "-o", "x.jpg", "--profile", "x").returncode == 2


@pytest.mark.opencv
@pytest.mark.slow
def test_check_kind_photo_json_gives_every_criterion(photos):
    done = justif(
        "check", "--kind", "photo", "--json", str(photos / "astronaut-compliant_white.jpg")
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Infinity" not in done.stdout and "NaN" not in done.stdout  # strict JSON
    (result,) = json.loads(done.stdout)
    assert result["outcome"] == "accepted"
    codes = {f["code"] for f in result["findings"]}
    assert {
        "photo.pixels",
        "photo.aspect",
        "photo.faces",
        "photo.orientation",
        "photo.head_size",
        "photo.centring",
        "photo.background_uniform",
        "photo.background",
        "photo.colour",
        "photo.colour_cast",
        "photo.blur",
        "photo.exposure",
        "photo.lighting",
        "photo.roll",
        "photo.editing_software",
    } <= codes
    head = next(f for f in result["findings"] if f["code"] == "photo.head_size")
    assert head["detail"]["profile"] == "university"
    assert set(head["detail"]) >= {"measured", "threshold"}
    done = justif(
        "check",
        "--kind",
        "photo",
        "--profile",
        "ants",
        "--json",
        str(photos / "astronaut-compliant_white.jpg"),
    )
    (ants,) = json.loads(done.stdout)
    assert ants["outcome"] == "rejected"
    assert [f["code"] for f in ants["findings"] if f["level"] == "error"] == ["photo.background"]
