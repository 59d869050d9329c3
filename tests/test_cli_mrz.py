"""`justif mrz FILE_OR_TEXT [--json]`: MRZ text in-process, a file as a user runs it."""

from __future__ import annotations

import json
import subprocess

import pytest
from click.testing import CliRunner

from tests.conftest import ROOT
from web.commands.mrz import KEYS, mrz_cmd

CNIE = (
    "IDFRAX4RTBPFW46<<<<<<<<<<<<<<</9007138F3002119FRA<<<<<<<<<<<6/MARTIN<<MAELYS<GAELLE<MARIE<<<"
)
OLD_NOISY = "1DFRATE5T<NAME<<<<<<<<<<<<<<<<0CHE02\nI7I0GVA123451RO8ERTA<<<<<<<9IIZ3IIF2"


def run(*args: str):
    return CliRunner().invoke(mrz_cmd, [*args, "--registration-date", "2026-09-01"])


def test_text_with_slashes_as_json():
    done = run(CNIE, "--json")
    assert done.exit_code == 0, done.output
    out = json.loads(done.output)
    assert set(KEYS) | {"valid"} <= set(out)
    assert out["valid"] is True
    assert out["document_type"] == "cni_td1" and out["document_number"] == "X4RTBPFW4"
    assert out["birth_date"] == "1990-07-13" and out["expiry_date"] == "2030-02-11"
    assert out["age_on_registration"] == 36 and out["needs_jdc"] is False
    assert out["checks"]["document_number"] is True and out["checks"]["last_name"] is None


def test_text_table_shows_a_flag_per_field_and_repairs():
    done = run(OLD_NOISY)
    assert done.exit_code == 0, done.output
    assert "MRZ valide" in done.output
    row = next(ln for ln in done.output.splitlines() if ln.strip().startswith("document_number"))
    assert "1710GVA12345" in row and row.rstrip().endswith("ok")
    assert "issue_month" in done.output and "2017-10" in done.output
    assert "birth 9IIZ3I→911231" in done.output


def test_wrong_composite_exits_1_and_says_so():
    bad = CNIE[:-33] + "<<<<<<<<<<<5/MARTIN<<MAELYS<GAELLE<MARIE<<<"
    done = run(bad)
    assert done.exit_code == 1
    assert "NON VALIDE" in done.output
    data = json.loads(run(bad, "--json").output)
    assert data["valid"] is False and data["needs_jdc"] is None


def test_not_an_mrz():
    done = run("bonjour", "--json")
    assert done.exit_code == 1
    assert json.loads(done.output)["error"] == "pas de MRZ"


@pytest.mark.ocr
@pytest.mark.slow
def test_a_generated_card_file_through_intake(tmp_path):
    from samples.idcards import generate

    (truth,) = generate(tmp_path, n=1, seed=5, kinds=("cni_td1",), conditions=("clean",))
    student = tmp_path / "student.json"
    student.write_text(json.dumps(truth["student"]), encoding="utf-8")
    done = subprocess.run(
        [
            str(ROOT / ".venv/bin/justif"),
            "mrz",
            str(tmp_path / truth["files"]["document"]),
            "--json",
            "--registration-date",
            "2026-09-01",
            "--student",
            str(student),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = json.loads(done.stdout)
    assert out["valid"] is True and out["outcome"] == "accepted", out
    assert len(truth["expected"]) == 7  # every MRZ field, compared one by one
    for key, value in truth["expected"].items():
        assert out[key] == value, key
