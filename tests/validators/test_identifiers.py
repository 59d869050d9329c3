"""INE and CVEC identifier rules: every test vector of domain.md §3.5, for a value read
by OCR and for a typed value (rule 5), plus keys, repairs, comparison and CVEC parsing."""

from __future__ import annotations

import pytest

from validators.identifiers import (
    CvecCode,
    IneCode,
    IneFamily,
    Reading,
    Repair,
    Source,
    base36_invisible,
    base36_key,
    bea_key,
    check_cvec,
    check_ine,
    compare_cvec,
    compare_ine,
    decide_cvec,
    decide_ine,
    describe,
    family_of,
    is_valid_ine,
    normalize_ine,
    parse_cvec,
    rnie_key,
    split_cvec_reading,
)
from validators.verdict import Level, Result

PASS, FAIL, UNSURE = Result.PASS, Result.FAIL, Result.INCONCLUSIVE

# value → (family, code, level, result, value retained) for a value read by OCR
OCR_VECTORS: dict[str, tuple] = {
    # BEA: API Particulier staging data, then other valid keys
    "0100008010J": (IneFamily.BEA, IneCode.VALID, Level.INFO, PASS, "0100008010J"),
    "0100007108D": (IneFamily.BEA, IneCode.VALID, Level.INFO, PASS, "0100007108D"),
    "1234567890V": (IneFamily.BEA, IneCode.VALID, Level.INFO, PASS, "1234567890V"),
    "0612345678D": (IneFamily.BEA, IneCode.VALID, Level.INFO, PASS, "0612345678D"),
    "2501234567A": (IneFamily.BEA, IneCode.VALID, Level.INFO, PASS, "2501234567A"),
    "9912345678F": (IneFamily.BEA, IneCode.VALID, Level.INFO, PASS, "9912345678F"),
    "0000000001B": (IneFamily.BEA, IneCode.VALID, Level.INFO, PASS, "0000000001B"),
    # BEA key fails (expected V)
    "1234567890A": (IneFamily.BEA, IneCode.KEY, Level.WARNING, UNSURE, None),
    "1234567890Y": (IneFamily.BEA, IneCode.KEY, Level.WARNING, UNSURE, None),
    # Base 36
    "12345678900": (IneFamily.BASE36, IneCode.VALID, Level.INFO, PASS, "12345678900"),
    "0A1B2C3D4E0": (IneFamily.BASE36, IneCode.VALID, Level.INFO, PASS, "0A1B2C3D4E0"),
    "075AB123453": (IneFamily.BASE36, IneCode.VALID, Level.INFO, PASS, "075AB123453"),
    "ZZ123456786": (IneFamily.BASE36, IneCode.VALID, Level.INFO, PASS, "ZZ123456786"),
    # ten letters: refused
    "AAAAAAAAAA1": (None, IneCode.FORMAT, Level.ERROR, FAIL, None),
    "AAAAAAAAAA5": (None, IneCode.FORMAT, Level.ERROR, FAIL, None),
    # RNIE, hypothesis agrees: pass on format
    "223456789HE": (IneFamily.RNIE, IneCode.RNIE_KEY, Level.INFO, PASS, "223456789HE"),
    "123456789FJ": (IneFamily.RNIE, IneCode.RNIE_KEY, Level.INFO, PASS, "123456789FJ"),
    "070123456HF": (IneFamily.RNIE, IneCode.RNIE_KEY, Level.INFO, PASS, "070123456HF"),
    "100000001BF": (IneFamily.RNIE, IneCode.RNIE_KEY, Level.INFO, PASS, "100000001BF"),
    "012345678KE": (IneFamily.RNIE, IneCode.RNIE_KEY, Level.INFO, PASS, "012345678KE"),
    "000000000KH": (IneFamily.RNIE, IneCode.RNIE_KEY, Level.INFO, PASS, "000000000KH"),
    # RNIE, hypothesis disagrees: a warning only (never an error)
    "123456789AB": (IneFamily.RNIE, IneCode.RNIE_KEY, Level.WARNING, FAIL, "123456789AB"),
    "675773666AD": (IneFamily.RNIE, IneCode.RNIE_KEY, Level.WARNING, FAIL, "675773666AD"),
    "012345678AA": (IneFamily.RNIE, IneCode.RNIE_KEY, Level.WARNING, FAIL, "012345678AA"),
    # SIFA: format only (info)
    "1234A56789B": (IneFamily.SIFA, IneCode.SIFA, Level.INFO, PASS, "1234A56789B"),
    "1111A11111A": (IneFamily.SIFA, IneCode.SIFA, Level.INFO, PASS, "1111A11111A"),
    # provisoire: its own message
    "1234D56789B": (IneFamily.PROVISIONAL, IneCode.PROVISIONAL, Level.WARNING, FAIL, "1234D56789B"),
    "0000D00000A": (IneFamily.PROVISIONAL, IneCode.PROVISIONAL, Level.WARNING, FAIL, "0000D00000A"),
    # no family verifies
    "123456789AL": (IneFamily.BASE36, IneCode.KEY, Level.WARNING, UNSURE, None),
    "1234B56789C": (IneFamily.BEA, IneCode.KEY, Level.WARNING, UNSURE, None),
    "1234E56789B": (IneFamily.BASE36, IneCode.KEY, Level.WARNING, UNSURE, None),
    "1234567890I": (IneFamily.BASE36, IneCode.KEY, Level.WARNING, UNSURE, None),
    # repairs proven by a key
    "O1OOOO8O1OJ": (IneFamily.BEA, IneCode.REPAIRED, Level.INFO, PASS, "0100008010J"),
    "01000071080": (IneFamily.BEA, IneCode.REPAIRED, Level.INFO, PASS, "0100007108D"),
    "1234567890O": (IneFamily.BASE36, IneCode.REPAIRED, Level.INFO, PASS, "12345678900"),
    # rule (d): the only verifying 0↔O / 1↔I swap: pass with a warning
    "123456789II": (IneFamily.BASE36, IneCode.SWAPPED, Level.WARNING, FAIL, "12345678911"),
    "O75AB123453": (IneFamily.BASE36, IneCode.SWAPPED, Level.WARNING, FAIL, "075AB123453"),
    # BEA-shaped, key fails: inconclusive + "INE provisoire probable"
    "1234056789B": (IneFamily.BEA, IneCode.KEY, Level.WARNING, UNSURE, None),
    # RNIE after a forced repair: unverifiable → inconclusive
    "2234567B9HE": (None, IneCode.UNVERIFIED, Level.WARNING, UNSURE, None),
    # two families verify: inconclusive
    "0100OO7108D": (None, IneCode.AMBIGUOUS, Level.WARNING, UNSURE, None),
    # invisible substitutions: both readings verify
    "ZZ12345G786": (IneFamily.BASE36, IneCode.VALID, Level.INFO, PASS, "ZZ12345G786"),
    "AB3S5678902": (IneFamily.BASE36, IneCode.VALID, Level.INFO, PASS, "AB3S5678902"),
    "AB385678902": (IneFamily.BASE36, IneCode.VALID, Level.INFO, PASS, "AB385678902"),
}


@pytest.mark.parametrize("value", sorted(OCR_VECTORS))
def test_domain_vector_read_by_ocr(value):
    family, code, level, result, retained = OCR_VECTORS[value]
    check = check_ine(value, Source.OCR)
    assert check.code is code, (value, check.code, check.message)
    assert check.level is level, (value, check.level)
    assert check.result is result, (value, check.result)
    assert check.value == retained
    assert check.valid is (retained is not None)
    if family is not None:
        assert check.family is family
    assert check.message and "{" not in check.message


# For a typed value (rule 5): valid values stay valid; any repair is an error that
# carries the corrected value; an unverified key is an error.
TYPED_ERRORS = {
    "1234567890A": (IneCode.KEY, None),
    "1234567890Y": (IneCode.KEY, None),
    "123456789AL": (IneCode.KEY, None),
    "1234B56789C": (IneCode.KEY, None),
    "1234E56789B": (IneCode.KEY, None),
    "1234567890I": (IneCode.KEY, None),
    "1234056789B": (IneCode.KEY, None),
    "AAAAAAAAAA1": (IneCode.FORMAT, None),
    "AAAAAAAAAA5": (IneCode.FORMAT, None),
    "O1OOOO8O1OJ": (IneCode.TYPO, "0100008010J"),
    "01000071080": (IneCode.TYPO, "0100007108D"),
    "1234567890O": (IneCode.TYPO, "12345678900"),
    "123456789II": (IneCode.TYPO, "12345678911"),
    "O75AB123453": (IneCode.TYPO, "075AB123453"),
    "2234567B9HE": (IneCode.TYPO, "223456789HE"),
    "0100OO7108D": (IneCode.TYPO, "0100007108D"),
}


@pytest.mark.parametrize("value", sorted(OCR_VECTORS))
def test_domain_vector_typed(value):
    check = check_ine(value, Source.TYPED)
    if value in TYPED_ERRORS:
        code, suggestion = TYPED_ERRORS[value]
        assert check.code is code, (value, check.code)
        assert check.level is Level.ERROR and check.result is Result.FAIL
        assert not check.valid
        if suggestion:
            assert suggestion in check.message
    else:
        ocr = check_ine(value, Source.OCR)
        assert (check.code, check.level, check.result, check.value) == (
            ocr.code,
            ocr.level,
            ocr.result,
            ocr.value,
        )


def test_typed_message_names_the_confused_character_and_position():
    check = check_ine("010O008010J", Source.TYPED)
    assert check.code is IneCode.TYPO
    assert check.message.startswith(
        "Vous avez saisi la lettre O à la place du chiffre 0 (position 4)."
    )
    assert "0100008010J" in check.message
    several = check_ine("O1OOOO8O1OJ", Source.TYPED)
    assert "(positions 1, 3, 4, 5, 6, 8 et 10)" in several.message


def test_text_layer_is_exact_but_worded_for_the_document():
    check = check_ine("1234567890O", Source.TEXT_LAYER)
    assert check.code is IneCode.TYPO and check.level is Level.ERROR
    assert check.message.startswith("Le document porte la lettre O à la place du chiffre 0")


def test_provisional_probable_is_said():
    check = check_ine("1234056789B", Source.OCR)
    assert "1234D56789B" in check.message and "provisoire" in check.message
    assert check.expected_key == "A"


def test_rule_e_accepts_an_unverifiable_repair_equal_to_the_record():
    alone = check_ine("2234567B9HE", Source.OCR)
    assert alone.result is Result.INCONCLUSIVE and alone.alternatives == ("223456789HE",)
    with_record = check_ine("2234567B9HE", Source.OCR, expected="223456789HE")
    assert with_record.valid and with_record.value == "223456789HE"
    assert with_record.repairs == (Repair(8, "B", "8"),)


def test_keys():
    assert bea_key("0100008010") == "J"
    assert bea_key("1234567890") == "V"
    assert base36_key("1234567890") == "0"
    assert base36_key("075AB12345") == "3"
    assert rnie_key("223456789") == "HE"
    # any single wrong digit changes the BEA key
    digits = "0100008010"
    for i in range(10):
        for d in "0123456789":
            if d != digits[i]:
                changed = digits[:i] + d + digits[i + 1 :]
                assert bea_key(changed) != "J", changed


def test_base36_invisible_pairs():
    assert base36_invisible("G", "6", 3) and base36_invisible("L", "1", 10)
    assert base36_invisible("S", "8", 2)
    assert base36_invisible("Z", "0", 4) and not base36_invisible("Z", "0", 10)
    for a, b in ("O0", "I1", "B8", "S5", "Z2", "D0"):
        for pos in (1, 9, 10):
            assert not base36_invisible(a, b, pos), (a, b, pos)


def test_normalisation_and_helpers():
    assert normalize_ine(" 01 00-008.010j ") == "0100008010J"
    assert normalize_ine("0100\u2011008\u2013010J") == "0100008010J"
    assert family_of("1234D56789B") is IneFamily.PROVISIONAL
    assert family_of("1234A56789B") is IneFamily.SIFA
    assert family_of("12345678900") is IneFamily.BASE36
    assert is_valid_ine("0100008010J") and not is_valid_ine("O1OOOO8O1OJ")
    short = check_ine("0100008010", Source.OCR)
    assert short.code is IneCode.FORMAT and "10 caractères" in short.message


# the shape `justif ine --json` promises (issue 3): one object per value
INE_JSON_KEYS = frozenset(
    {"input", "valid", "family", "normalized", "repaired_from", "code", "level", "message"}
)


def test_to_json_shape():
    data = check_ine("O1OOOO8O1OJ", Source.OCR).to_json()
    assert set(data) >= INE_JSON_KEYS
    assert data["valid"] and data["normalized"] == "0100008010J" and data["family"] == "bea"
    assert data["repaired_from"][0] == {"position": 1, "read": "O", "meant": "0"}


def test_finding_from_check():
    f = check_ine("1234567890A", Source.OCR).finding()
    assert f.code is IneCode.KEY and f.result is Result.INCONCLUSIVE and f.flags
    f = check_ine("1234567890A", Source.TYPED).finding()
    assert f.blocks and f.detail["expected_key"] == "V"


# -- comparison ------------------------------------------------------------------------


def test_compare_and_describe():
    c = compare_ine("010O008010J", "0100008010J")
    assert not c.equal and c.confusable_only
    assert c.sentence() == "Vous avez saisi la lettre O à la place du chiffre 0 (position 4)."
    assert compare_ine("0100008010J", "01 00 008 010 J").equal
    other = compare_ine("0100008010J", "0100008011J")
    assert not other.confusable_only and other.sentence() == ""
    assert compare_ine("0100008010J", "0100008010").changes == ()
    assert describe([Repair(2, "1", "I")]) == (
        "Vous avez saisi le chiffre 1 à la place de la lettre I (position 2)."
    )


# -- CVEC numbers ---------------------------------------------------------------------------


def test_parse_cvec_tolerant():
    p = parse_cvec("VER5 ABCDEF 12")
    assert p.valid and p.normalized == "VER5ABCDEF12" and p.suffix is None
    p = parse_cvec("aix0-xxxxxx-1 / Lefèvre")
    assert p.valid and p.normalized == "AIX0XXXXXX1" and p.suffix == "LEFEVRE"
    p = parse_cvec("AMI4 K8O1TZ 27 / N’Dia")
    assert p.valid and p.suffix == "NDIA"
    assert not parse_cvec("AIX0-XXXXXX-XX").valid
    assert parse_cvec("AIX0 XXXXXX 12").display == "AIX0 XXXXXX 12"


def test_cvec_slot_repair_is_only_a_suggestion():
    check = check_cvec("AM14 K8O1TZ 2I", Source.OCR)
    assert not check.valid and check.result is Result.INCONCLUSIVE
    assert check.parsed.suggestion == "AMI4K8O1TZ21"
    assert [(r.position, r.read, r.meant) for r in check.repairs] == [(3, "1", "I"), (12, "I", "1")]
    typed = check_cvec("AM14 K8O1TZ 2I", Source.TYPED)
    assert typed.level is Level.WARNING and typed.result is Result.FAIL  # format unconfirmed
    assert "Numéro probable : AMI4K8O1TZ21" in typed.message
    assert check_cvec("VER5 ABCDEF 12").valid
    assert check_cvec("VER5 ABCDEF 12").code is CvecCode.NUMBER_FORMAT


def test_compare_cvec_names_the_position():
    c = compare_cvec("AMI4 K8O1TZ 27", "AMI4K801TZ27 / DUPON")
    assert c.confusable_only
    assert c.sentence() == "Vous avez saisi la lettre O à la place du chiffre 0 (position 7)."


def test_split_cvec_reading_when_ocr_lost_the_slash():
    p = split_cvec_reading("VER4 ABCDEF 12 DUPON")
    assert p.valid and p.normalized == "VER4ABCDEF12" and p.suffix == "DUPON"


# -- several readings -----------------------------------------------------------------------


def _ocr(text, origin="page", shape=None):
    return Reading(text, Source.OCR, origin, shape)


def test_decide_ine_text_layer_alone():
    check = decide_ine([Reading("O1OOOO8O1OJ", Source.TEXT_LAYER)])
    assert check.code is IneCode.TYPO and check.level is Level.ERROR


def test_decide_ine_two_readings_agree_or_one_fails():
    check = decide_ine([_ocr("0100008010J"), _ocr("01OOOO8010J", "field")])
    assert check.valid and check.value == "0100008010J"
    one_bad = decide_ine([_ocr("0100008010J"), _ocr("0100003010J", "field")])
    assert one_bad.valid and one_bad.value == "0100008010J"
    assert decide_ine([]) is None


def test_decide_ine_two_valid_values_is_ambiguous():
    check = decide_ine([_ocr("0100008010J"), _ocr("0100007108D", "field")])
    assert check.code is IneCode.AMBIGUOUS and check.result is Result.INCONCLUSIVE
    assert not check.valid and check.value is None


def test_decide_ine_unverifiable_family_needs_two_readings_or_the_record():
    alone = decide_ine([_ocr("223456789HE")])
    assert alone.result is Result.INCONCLUSIVE
    two = decide_ine([_ocr("223456789HE"), _ocr("223456789HE", "field")])
    assert two.valid
    record = decide_ine([_ocr("223456789HE")], expected="223456789HE")
    assert record.valid


def test_decide_ine_base36_invisible_characters_need_the_glyphs():
    value = "ZZ12345G786"
    unsure = decide_ine([_ocr(value), _ocr(value, "field")])
    assert unsure.result is Result.INCONCLUSIVE and "ZZ123456786" in unsure.alternatives
    shape = tuple(c if c in "G61L" else None for c in value)
    sure = decide_ine([_ocr(value, shape=shape), _ocr(value, "field")])
    assert sure.valid and sure.value == value


def test_decide_ine_shape_settles_a_correlated_misreading():
    truth = "0100008010J"
    misread = "01OO008O1OJ"  # forced repairs recover it anyway (BEA digits)
    assert decide_ine([_ocr(misread)]).value == truth
    # a Base-36 body: O read for 0 by both engines, the glyphs say 0
    base36 = "8S88MT40C04"
    wrong = "8S88MT4OC04"
    shape = tuple("0" if i == 7 else None for i in range(11))
    check = decide_ine([_ocr(wrong, shape=shape), _ocr(wrong, "field", shape=shape)])
    assert check.value == base36


def test_decide_cvec():
    assert decide_cvec([]) is None
    exact = decide_cvec([Reading("AMI4 K8O1TZ 27 / DUPON", Source.TEXT_LAYER)])
    assert exact.confident and exact.value == "AMI4K8O1TZ27" and exact.suffix == "DUPON"
    value = "AMI4K8O1TZ27"
    # two readings agree but the confusable characters are not confirmed: not confident
    plain = decide_cvec([_ocr("AMI4 K8O1TZ 27"), _ocr("AMI4 K8O1TZ 27 / DUPON", "field")])
    assert plain.value == value and not plain.confident
    shape = tuple(c if c in "0OQD1IL8B5S2Z6G" else None for c in value)
    sure = decide_cvec(
        [_ocr("AMI4 K8O1TZ 27", shape=shape), _ocr("AMI4 K8O1TZ 27 / DUPON", "field")]
    )
    assert sure.confident and sure.suffix == "DUPON"
    split = decide_cvec(
        [_ocr("AMI4 K8O1TZ 27", shape=shape), _ocr("AMI4 K801TZ 27", "field", shape=shape)]
    )
    assert split.value == value and split.confident  # the glyph says O for both
    disagree = decide_cvec([_ocr("AMI4 K8O1TZ 27"), _ocr("AMI4 K8Q1TZ 27", "field")])
    assert not disagree.confident and disagree.alternatives


def test_ocr_code_cleans_look_alikes():
    from validators.identifiers import ocr_code

    assert ocr_code("8647082837)") == "8647082837J"
    assert ocr_code("REN4 GY468J] 28") == "REN4 GY468J 28"  # the J's descender read twice
    assert ocr_code("LIL4 BX9KM8& 15 / TRAOR") == "LIL4 BX9KM8 15 / TRAOR"
    assert ocr_code("1080CG1AX|4") == "1080CG1AXI4"
