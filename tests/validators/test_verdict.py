from __future__ import annotations

import datetime as dt
import json

import pytest

from validators.codes import FileCode, KindCode, PdfCode, all_code_enums, code_from_str
from validators.verdict import (
    Finding,
    Level,
    Outcome,
    Result,
    Verdict,
    finding,
    inconclusive,
    passed,
)


def test_outcome_is_computed_from_findings():
    ok = passed(PdfCode.RESTRICTED)
    warn = finding(FileCode.DUPLICATE, Level.WARNING, where="")
    unsure = inconclusive(KindCode.NOT_CHECKED)
    error = finding(FileCode.EMPTY)
    info_fail = finding(FileCode.DUPLICATE, Level.INFO, where="")
    assert Verdict.of([]).outcome is Outcome.ACCEPTED
    assert Verdict.of([ok, info_fail]).outcome is Outcome.ACCEPTED
    assert Verdict.of([ok, warn]).outcome is Outcome.REVIEW
    assert Verdict.of([unsure]).outcome is Outcome.REVIEW
    assert Verdict.of([warn, unsure, error]).outcome is Outcome.REJECTED


def test_message_is_filled_from_detail():
    f = finding(PdfCode.TOO_MANY_PAGES, pages=300, max_pages=10)
    assert "300 pages" in f.message and "10 au plus" in f.message
    assert f.detail == {"pages": 300, "max_pages": 10}
    missing = finding(PdfCode.TOO_MANY_PAGES)
    assert "? pages" in missing.message


def test_round_trip_through_json():
    v = Verdict.of(
        [finding(FileCode.TOO_LARGE, size_mb="5.2", when=dt.date(2026, 9, 1))],
        {"birth_date": dt.date(2008, 1, 2), "ine": "0100008010J"},
    )
    data = json.loads(json.dumps(v.to_dict()))
    assert data["fields"]["birth_date"] == "2008-01-02"
    back = Verdict.from_dict(data)
    assert back.outcome is Outcome.REJECTED
    assert back.findings[0].code is FileCode.TOO_LARGE
    assert back.findings[0].result is Result.FAIL


def test_codes_are_unique_dotted_and_french():
    seen = {}
    for enum in all_code_enums():
        for member in enum:
            assert member.value not in seen, (member.value, enum, seen.get(member.value))
            seen[member.value] = enum
            assert "." in member.value and member.value == member.value.lower()
            assert member.message.strip(), member
    assert code_from_str("file.empty") is FileCode.EMPTY
    with pytest.raises(ValueError):
        code_from_str("no.such_code")


def test_findings_are_immutable():
    f = finding(FileCode.EMPTY, size=0)
    with pytest.raises(TypeError):
        f.detail["size"] = 1  # type: ignore[index]
    assert isinstance(f, Finding)


def test_ok_and_inconclusive_messages_are_filled_from_detail():
    from validators.codes import ReasonCode

    class Demo(ReasonCode):
        READ = "demo.read", "Lu {value}.", "Numéro {value} vérifié.", "Numéro {value} illisible."

    assert passed(Demo.READ, value="X1").message == "Numéro X1 vérifié."
    assert inconclusive(Demo.READ, value="X1").message == "Numéro X1 illisible."
