"""`justif check` / `justif merge` as a user runs them (a real subprocess)."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from tests import badfiles
from tests.conftest import ROOT

JUSTIF = str(ROOT / ".venv/bin/justif")


def justif(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([JUSTIF, *args], capture_output=True, text=True, cwd=cwd, timeout=120)


@pytest.fixture(scope="module")
def bad_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    paths = {}
    for name, (declared, build, _, _) in badfiles.BAD_INPUTS.items():
        ext = "." + declared.rsplit(".", 1)[-1]
        path = d / f"{name}{ext}"
        path.write_bytes(build())
        paths[name] = path
    return paths


def test_check_json_on_every_bad_input(bad_dir):
    names = sorted(bad_dir)
    started = time.perf_counter()
    done = justif("check", "--json", *(str(bad_dir[n]) for n in names))
    elapsed = time.perf_counter() - started
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    results = json.loads(done.stdout)
    assert len(results) == len(names)
    for name, result in zip(names, results, strict=True):
        _, _, outcome, code = badfiles.BAD_INPUTS[name]
        assert set(result) >= {
            "file",
            "kind",
            "outcome",
            "findings",
            "fields",
            "mime",
            "pages",
            "sha256",
            "elapsed_ms",
        }
        assert result["outcome"] == outcome, (name, result)
        assert code in [f["code"] for f in result["findings"]], (name, result)
        for f in result["findings"]:
            assert set(f) >= {"code", "level", "message", "detail"}
        assert result["elapsed_ms"] < 2000, (name, result["elapsed_ms"])
    assert elapsed < 2 * len(names)


def test_check_accepts_good_files_and_exit_zero(tmp_path):
    good_pdf, good_jpg = tmp_path / "attestation.pdf", tmp_path / "scan.jpg"
    good_pdf.write_bytes(badfiles.pdf())
    good_jpg.write_bytes(badfiles.jpeg())
    done = justif("check", str(good_pdf), str(good_jpg))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "accepted" in done.stdout


def test_kind_without_checker_is_review(tmp_path):
    path = tmp_path / "contrat.pdf"
    path.write_bytes(badfiles.pdf())
    done = justif("check", "--json", "--kind", "rse_proof", str(path))
    assert done.returncode == 1
    (result,) = json.loads(done.stdout)
    assert result["outcome"] == "review"
    assert "kind.not_checked" in [f["code"] for f in result["findings"]]


def test_usage_errors_exit_2(tmp_path):
    assert justif("check").returncode == 2
    assert justif("check", str(tmp_path / "missing.pdf")).returncode == 2
    assert justif("check", "--kind", "passport_photo", str(tmp_path)).returncode == 2


def test_merge_command(tmp_path):
    recto, verso = tmp_path / "recto.jpg", tmp_path / "verso.jpg"
    recto.write_bytes(badfiles.noisy_jpeg(1800, 1200, quality=95, seed=3))
    verso.write_bytes(badfiles.noisy_jpeg(1800, 1200, quality=95, seed=4))
    out = tmp_path / "cni.pdf"
    done = justif("merge", str(recto), str(verso), "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "2 pages" in done.stdout and "qualité" in done.stdout
    assert out.stat().st_size <= 5_000_000
    from pypdf import PdfReader

    assert len(PdfReader(out).pages) == 2


def test_merge_refuses_a_bad_side(tmp_path):
    recto, verso = tmp_path / "recto.jpg", tmp_path / "verso.png"
    recto.write_bytes(badfiles.jpeg())
    verso.write_bytes(badfiles.png())
    done = justif("merge", str(recto), str(verso), "-o", str(tmp_path / "out.pdf"))
    assert done.returncode == 1
    assert "file.extension" in done.stderr or "file.unsupported_type" in done.stderr
    assert not (tmp_path / "out.pdf").exists()


def test_every_area_command_is_listed_for_lazy_loading():
    import importlib

    from web.cli import LAZY_COMMANDS

    for module in set(LAZY_COMMANDS.values()):
        for command in importlib.import_module(module).COMMANDS:
            assert LAZY_COMMANDS.get(command.name) == module, command.name


def test_cli_starts_without_the_service_stack():
    import sys as _sys

    code = (
        "import web.cli, sys; "
        "print(sorted(m for m in ('sqlalchemy', 'cv2', 'pytesseract') if m in sys.modules))"
    )
    done = subprocess.run([_sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
