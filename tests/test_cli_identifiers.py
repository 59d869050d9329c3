"""`justif ine`, `justif cvec` and `justif check --kind cvec|bac --student` as a user
runs them (a real subprocess)."""

from __future__ import annotations

import json
import random
import subprocess

import pytest

from samples import documents as gen
from tests.conftest import ROOT
from tests.validators.test_identifiers import INE_JSON_KEYS, OCR_VECTORS, TYPED_ERRORS

JUSTIF = str(ROOT / ".venv/bin/justif")


def justif(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([JUSTIF, *args], capture_output=True, text=True, timeout=180)


def test_every_domain_vector_through_justif_ine():
    values = sorted(OCR_VECTORS)
    done = justif("ine", "--json", *values)
    assert done.returncode == 1, done.stderr  # some are not valid
    results = json.loads(done.stdout)
    assert [r["input"] for r in results] == values
    for r in results:
        family, code, level, result, retained = OCR_VECTORS[r["input"]]
        assert set(r) >= INE_JSON_KEYS
        assert r["code"] == str(code), r
        assert r["level"] == str(level), r
        assert r["result"] == str(result), r
        assert r["valid"] is (retained is not None), r
        if retained:
            assert r["normalized"] == retained
        if family is not None:
            assert r["family"] == str(family)


def test_repaired_from_lists_each_change():
    done = justif("ine", "--json", "O1OOOO8O1OJ")
    assert done.returncode == 0, done.stdout
    (r,) = json.loads(done.stdout)
    assert r["valid"] and r["normalized"] == "0100008010J"
    assert r["repaired_from"] == [
        {"position": p, "read": "O", "meant": "0"} for p in (1, 3, 4, 5, 6, 8, 10)
    ]


def test_typed_values_follow_rule_5():
    values = sorted(TYPED_ERRORS)
    done = justif("ine", "--json", "--source", "typed", *values)
    assert done.returncode == 1
    for r in json.loads(done.stdout):
        code, suggestion = TYPED_ERRORS[r["input"]]
        assert r["code"] == str(code) and r["level"] == "error" and not r["valid"]
        if suggestion:
            assert suggestion in r["message"]


@pytest.mark.slow
def test_exit_codes_and_text_output():
    ok = justif("ine", "0100008010J", "01 00 008 010 J")
    assert ok.returncode == 0, ok.stdout
    assert "valide" in ok.stdout and "ine.valid" in ok.stdout
    assert justif("ine").returncode == 2
    assert justif("ine", "--source", "nowhere", "0100008010J").returncode == 2


@pytest.mark.slow
def test_justif_cvec():
    done = justif("cvec", "--json", "AMI4 K8O1TZ 27 / DUPON", "AM14-K8O1TZ-2I")
    assert done.returncode == 1
    good, bad = json.loads(done.stdout)
    assert good["valid"] and good["normalized"] == "AMI4K8O1TZ27" and good["suffix"] == "DUPON"
    assert not bad["valid"] and bad["suggestion"] == "AMI4K8O1TZ21"
    assert [c["position"] for c in bad["repaired_from"]] == [3, 12]
    assert justif("cvec", "VER5 ABCDEF 12").returncode == 0


# -- the whole pipeline on generated documents ------------------------------------------------


def _write(tmp_path, kind, form, degradation="clean", scenario="ok", seed=3):
    sample, data, ext = gen.make_sample(
        random.Random(seed),
        name="doc",
        kind=kind,
        form=form,
        degradation=degradation,
        scenario=scenario,
    )
    path = tmp_path / f"doc.{ext}"
    path.write_bytes(data)
    student = tmp_path / "student.json"
    student.write_text(json.dumps(sample.student), encoding="utf-8")
    return sample, path, student


@pytest.mark.slow
def test_check_born_digital_cvec(tmp_path):
    sample, path, student = _write(tmp_path, "cvec", "digital")
    done = justif("check", "--json", "--kind", "cvec", "--student", str(student), str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    (result,) = json.loads(done.stdout)
    assert result["outcome"] == "accepted"
    for key in ("ine", "cvec_number", "academic_year", "birth_date", "cvec_basis"):
        assert result["fields"][key] == sample.fields[key], key


@pytest.mark.slow
def test_check_born_digital_cvec_with_a_typed_confusable(tmp_path):
    sample, path, student = _write(tmp_path, "cvec", "digital", scenario="typed_cvec_confusable")
    assert sample.expected["outcome"] != "accepted"
    done = justif("check", "--json", "--kind", "cvec", "--student", str(student), str(path))
    assert done.returncode == 1
    (result,) = json.loads(done.stdout)
    assert result["outcome"] == "rejected"
    (number,) = [f for f in result["findings"] if f["code"] == "cvec.number"]
    assert "à la place" in number["message"] and "(position" in number["message"]


@pytest.mark.ocr
@pytest.mark.slow
def test_check_scanned_cvec(tmp_path):
    sample, path, student = _write(tmp_path, "cvec", "scan_jpg", seed=5)
    done = justif("check", "--json", "--kind", "cvec", "--student", str(student), str(path))
    (result,) = json.loads(done.stdout)
    assert result["outcome"] in ("accepted", "review"), result
    # whatever the outcome, a value given is never a wrong one when accepted
    if result["outcome"] == "accepted":
        for key in ("ine", "cvec_number", "academic_year"):
            assert result["fields"][key] == sample.fields[key], key
    assert result["fields"].get("ine") == sample.fields["ine"]
    assert not [f for f in result["findings"] if f["level"] == "error" and f["result"] == "fail"]


@pytest.mark.ocr
@pytest.mark.slow
def test_check_scanned_bac_pdf(tmp_path):
    sample, path, student = _write(tmp_path, "bac", "scan_pdf", seed=2)
    done = justif("check", "--json", "--kind", "bac", "--student", str(student), str(path))
    (result,) = json.loads(done.stdout)
    assert result["fields"].get("ine") == sample.fields["ine"], result
    assert result["outcome"] in ("accepted", "review")
