"""MRZ rules: check digits, the three layouts, repair by field type, old-card expiry.

Every specimen of domain.md §4.6 and every noisy vector of §4.7 is a test here."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from validators import mrz
from validators.mrz import DocumentType, Layout, check_digit, old_card_validity, parse

REF = dt.date(2026, 9, 1)
D = dt.date


def read(text: str) -> mrz.MrzReading:
    reading = parse(text, reference=REF)
    assert reading is not None, text
    return reading


# ------------------------------------------------------------------ §4.1


@pytest.mark.parametrize(
    ("data", "digit"),
    [
        ("L898902C3", "6"),
        ("740812", "2"),
        ("120415", "9"),
        ("ZE184226B<<<<<", "1"),
        ("D23145890", "7"),
        ("X4RTBPFW4", "6"),
        ("111111111", "3"),
    ],
)
def test_icao_check_digit_reference_values(data, digit):
    assert check_digit(data) == digit


def test_check_digit_blind_spots_are_exactly_the_multiples_of_ten():
    base = "AB1234567"
    detected = {("O", "0"), ("I", "1"), ("B", "8"), ("S", "5"), ("Z", "2"), ("D", "0")}
    invisible = {("G", "6"), ("L", "1"), ("B", "1"), ("S", "8"), ("Q", "6"), ("<", "0")}
    for a, b in detected | invisible:
        for pos in range(len(base)):
            x = base[:pos] + a + base[pos + 1 :]
            y = base[:pos] + b + base[pos + 1 :]
            same = check_digit(x) == check_digit(y)
            assert same is ((a, b) in invisible), (a, b, pos)
    with pytest.raises(ValueError):
        check_digit("AB-1")


# ------------------------------------------------------------------ §4.6 specimens

OLD_1 = "IDFRABERTHIER<<<<<<<<<<<<<<<<<<<<<<<\n9409923102854CORINNE<<<<<<<6512068F4"
OLD_2 = "IDFRABERTHIER<<<<<<<<<<<<<<<<<<<<<<<\n8806923102858CORINNE<<<<<<<6512068F6"
OLD_3 = "IDFRABERTHIER<<<<<<<<<<<<<<<<<92C001\n8806923102858CORINNE<<<<<<<6512068F8"
OLD_4 = "IDFRATEST<NAME<<<<<<<<<<<<<<<<0CHE02\n1710GVA123451ROBERTA<<<<<<<9112311F2"
CNIE_5 = (
    "IDFRAX4RTBPFW46<<<<<<<<<<<<<<<\n9007138F3002119FRA<<<<<<<<<<<6\nMARTIN<<MAELYS<GAELLE<MARIE<<<"
)
PASS_6 = (
    "P<FRAULYSSE<<CHRISTOPHE<<<<<<<<<<<<<<<<<<<<<\n08CD503380FRA6004103M1806058<<<<<<<<<<<<<<06"
)
UTO_7 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"
AUT_8 = (
    "IDAUT10000999<6<<<<<<<<<<<<<<<\n7109094F1112315AUT<<<<<<<<<<<4\nMUSTERFRAU<<ISOLDE<<<<<<<<<<<<"
)


def test_old_card_specimen_1():
    r = read(OLD_1)
    assert r.layout is Layout.CNI_OLD and r.valid and not r.repairs
    assert r.document_type is DocumentType.CNI_OLD
    assert (r.last_name, r.first_names) == ("BERTHIER", "CORINNE")
    assert r.document_number == "940992310285"
    assert r.issue_month == (1994, 9)
    assert (r.value("office"), r.value("sequence"), r.value("number_check")) == (
        "923",
        "10285",
        "4",
    )
    assert r.birth_date == D(1965, 12, 6) and r.value("birth_check") == "8"
    assert r.sex == "F" and r.value("composite") == "4"
    assert r.value("admin_code") == "<<<<<<"
    assert r.expiry_date is None and r.unknown_countries == []


def test_old_card_specimens_2_and_3_differ_by_issue_date_and_admin_code():
    two, three = read(OLD_2), read(OLD_3)
    assert two.valid and three.valid
    assert two.issue_month == (1988, 6) and two.value("composite") == "6"
    assert three.value("admin_code") == "92C001" and three.value("composite") == "8"
    # the admin code is covered by the composite: specimen 3's line 1 with 2's line 2 fails
    mixed = read(OLD_3.splitlines()[0] + "\n" + OLD_2.splitlines()[1])
    assert not mixed.valid and mixed.failed_checks == ["composite"]


def test_old_card_specimen_4_letters_in_the_office_code():
    r = read(OLD_4)
    assert r.valid
    assert r.last_name == "TEST NAME" and r.first_names == "ROBERTA"
    assert r.value("admin_code") == "0CHE02"
    assert r.document_number == "1710GVA12345" and r.value("number_check") == "1"
    assert r.birth_date == D(1991, 12, 31) and r.sex == "F" and r.value("composite") == "2"


def test_cnie_specimen_5():
    r = read(CNIE_5)
    assert r.layout is Layout.TD1 and r.valid and not r.repairs
    assert r.document_type is DocumentType.CNI_TD1
    assert r.document_number == "X4RTBPFW4"
    assert r.birth_date == D(1990, 7, 13) and r.expiry_date == D(2030, 2, 11)
    assert r.sex == "F" and r.nationality == "FRA"
    assert (r.last_name, r.first_names) == ("MARTIN", "MAELYS GAELLE MARIE")


def test_french_passport_specimen_6():
    r = read(PASS_6)
    assert r.layout is Layout.TD3 and r.valid
    assert r.document_type is DocumentType.PASSPORT
    assert r.document_number == "08CD50338" and r.nationality == "FRA"
    assert r.birth_date == D(1960, 4, 10) and r.sex == "M"
    assert r.expiry_date == D(2018, 6, 5) and r.expiry_date < REF  # expired
    assert r.value("personal") == "<" * 14 and r.value("personal_check") == "0"
    assert (r.last_name, r.first_names) == ("ULYSSE", "CHRISTOPHE")


def test_icao_utopia_passport_is_valid_but_fictitious():
    r = read(UTO_7)
    assert r.checks_ok and r.valid
    assert r.unknown_countries == ["UTO"]
    assert "UTO" in mrz.FICTITIOUS_CODES and not mrz.country_known("UTO")
    assert mrz.country_known("FRA") and mrz.country_known("D<<")


def test_austrian_td1_and_its_wrong_composite():
    r = read(AUT_8)
    assert r.valid and r.document_type is DocumentType.ID_CARD_OTHER
    assert r.value("number") == "10000999<" and r.value("number_check") == "6"
    assert r.birth_date == D(1971, 9, 9) and r.expiry_date == D(2011, 12, 31)
    assert r.value("composite") == "4"
    bad = read(AUT_8[: AUT_8.index("\n", 31) - 1] + "6" + AUT_8[AUT_8.index("\n", 31) :])
    assert bad.value("composite") == "6"
    assert not bad.valid and bad.failed_checks == ["composite"]


# ------------------------------------------------------------------ §4.7 noise


def test_noisy_old_card_is_repaired_by_field_class():
    noisy = "1DFRATE5T<NAME<<<<<<<<<<<<<<<<0CHE02\nI7I0GVA123451RO8ERTA<<<<<<<9IIZ3IIF2"
    r = read(noisy)
    assert r.valid
    assert r.lines == tuple(OLD_4.splitlines())
    kinds = {rep.kind for rep in r.repairs}
    assert kinds == {"forced"}


def test_noisy_austrian_td1_spaces_and_case():
    noisy = (
        " IDAUT10000999<6  <<<<<<<<< <<<<<< \n 7IO9O94FIi  iz3iSAUT<<<<<<<<<<<4 \n"
        " MUSTERFRA  U<<ISOLDE<<<  <<<<<<<<<"
    )
    r = read(noisy)
    assert r.valid and r.lines == tuple(AUT_8.splitlines())


def test_noisy_cnie_line_2_numeric_repair():
    lines = CNIE_5.splitlines()
    r = read("\n".join([lines[0], "9OO7I38F3OO2II9FRA<<<<<<<<<<<6", lines[2]]))
    assert r.valid and r.lines == tuple(lines)


def test_noisy_cnie_line_1_single_substitution_in_the_document_number():
    lines = CNIE_5.splitlines()
    r = read("\n".join(["IDFRAX4RT8PFW46<<<<<<<<<<<<<<<", *lines[1:]]))
    assert r.valid and r.document_number == "X4RTBPFW4"
    assert [(x.field, x.read, x.fixed, x.kind) for x in r.repairs] == [
        ("number", "X4RT8PFW4", "X4RTBPFW4", "substitution")
    ]


def test_two_verifying_substitutions_are_ambiguous_not_valid():
    # a document number whose misread value fails while two single substitutions verify
    rng = random.Random(7)
    found = 0
    lines = CNIE_5.splitlines()
    for _ in range(4000):
        body = "".join(rng.choice("0O1I5S8B2Z") for _ in range(9))
        check = check_digit(body)
        misread = list(body)
        misread[rng.randrange(9)] = rng.choice("0O1I5S8B2Z")
        misread = "".join(misread)
        if check_digit(misread) == check:
            continue
        variants = [v for v in mrz._substitutions(misread) if check_digit(v) == check]
        if len(variants) < 2:
            continue
        line1 = f"IDFRA{misread}{check}" + "<" * 15
        line2 = "9007138F3002119FRA<<<<<<<<<<<"
        composites = set()
        for v in variants:
            composites.add(check_digit(f"{v}{check}" + "<" * 15 + "9007138" + "3002119" + "<" * 11))
        if len(composites) != 1:
            continue  # the composite tells them apart
        r = read("\n".join([line1, line2 + composites.pop(), lines[2]]))
        assert not r.valid and r.ambiguous and r.alternatives >= 1
        found += 1
        if found >= 3:
            break
    assert found >= 1


def test_a_dropped_filler_is_put_back_when_the_checks_agree():
    l1, l2 = PASS_6.splitlines()
    short = l2.replace("<<<<<<<<<<<<<<", "<<<<<<<<<<<<<")
    r = read(f"{l1}\n{short}")
    assert r.valid and r.lines[1] == l2
    assert any(x.kind == "length" for x in r.repairs)
    long_names = l1 + "<<"
    assert read(f"{long_names}\n{l2}").lines[0] == l1


def test_wrong_digit_that_no_repair_explains_stays_invalid():
    l1, l2 = PASS_6.splitlines()
    r = read(f"{l1}\n{l2[:14]}1{l2[15:]}")  # birth 600410 -> 610410
    assert not r.valid and "birth_date" in r.failed_checks


def test_impossible_date_is_not_valid_even_if_the_digit_checks():
    lines = CNIE_5.splitlines()
    birth = "901313"  # month 13
    line2 = f"{birth}{check_digit(birth)}F3002119FRA<<<<<<<<<<<"
    comp = check_digit(lines[0][5:30] + line2[0:7] + line2[8:15] + line2[18:29])
    r = read("\n".join([lines[0], line2 + comp, lines[2]]))
    assert r.checks_ok and not r.valid and r.date_problems == ["naissance"]


def test_guess_layout_and_garbage():
    assert parse("hello world", reference=REF) is None
    assert parse("", reference=REF) is None
    assert parse("A" * 30 + "\n" + "B" * 30 + "\n" + "C" * 30 + "\n" + "D" * 30) is not None
    assert mrz.split_lines("ab c/DEF\nG«H") == ["ABC", "DEF", "G<<H"]
    r = read(f"some heading text here\n{PASS_6}\nfooter")
    assert r.valid


def test_old_card_layout_needs_idfra():
    l1, l2 = OLD_1.splitlines()
    assert parse(f"IDBEL{l1[5:]}\n{l2}", reference=REF) is None


def test_field_checks_and_fields():
    old = read(OLD_3).field_checks()
    assert old["last_name"] is True and old["first_names"] is True  # composite covers all
    cnie = read(CNIE_5).field_checks()
    assert cnie["last_name"] is None and cnie["document_number"] is True
    assert cnie["sex"] is None
    bad = read(AUT_8.replace("F1112315AUT<<<<<<<<<<<4", "F1112315AUT<<<<<<<<<<<6"))
    assert bad.field_checks()["birth_date"] is False
    fields = read(CNIE_5).to_fields()
    assert fields["document_type"] == "cni_td1" and fields["mrz_valid"] is True
    assert fields["birth_date"] == D(1990, 7, 13)


def test_truncated_names_are_flagged():
    r = read(CNIE_5)
    assert not r.names_truncated
    full = "MARTIN<<MAELYS<GAELLE<MARIE<AN"
    lines = CNIE_5.splitlines()
    assert read("\n".join([*lines[:2], full])).names_truncated


def test_birth_century_follows_the_reference_date():
    r = parse(CNIE_5, reference=D(2026, 9, 1))
    assert r is not None and r.birth_date == D(1990, 7, 13)
    young = "IDFRAX4RTBPFW46<<<<<<<<<<<<<<<"
    birth = "080713"
    line2 = f"{birth}{check_digit(birth)}F3002119FRA<<<<<<<<<<<"
    comp = check_digit(young[5:30] + line2[0:7] + line2[8:15] + line2[18:29])
    r = parse(f"{young}\n{line2}{comp}\nMARTIN<<LEA<<<<<<<<<<<<<<<<<<<", reference=REF)
    assert r is not None and r.birth_date == D(2008, 7, 13)


# ------------------------------------------------------------------ §4.5 old-card expiry


def test_old_card_validity_rules():
    adult = D(1960, 5, 5)
    v = old_card_validity(1994, 9, adult)  # adult, before 2004: 10 years
    assert v.rule == "adult_10" and v.earliest == D(2004, 8, 31) and v.latest == D(2004, 9, 29)
    v = old_card_validity(2010, 3, adult)  # adult 2004-2013: +5 years
    assert v.rule == "adult_10+5"
    assert v.earliest == D(2025, 2, 28) and v.latest == D(2025, 3, 30)
    assert v.printed is None  # a month of possible printed dates
    v = old_card_validity(2010, 3, adult, issue_day=D(2010, 3, 12))
    assert v.exact and v.earliest == D(2025, 3, 11) and v.printed == D(2020, 3, 11)
    v = old_card_validity(2016, 6, adult, issue_day=D(2016, 6, 1))  # adult from 2014: 15
    assert v.rule == "adult_15" and v.earliest == D(2031, 5, 31)
    minor = D(2002, 1, 15)
    v = old_card_validity(2012, 6, minor)  # minors: always 10
    assert v.rule == "minor_10" and v.latest == D(2022, 6, 29)
    v = old_card_validity(2016, 6, minor, issue_day=D(2016, 6, 1))
    assert v.rule == "minor_10" and v.earliest == D(2026, 5, 31)


def test_old_card_validity_ambiguous_cases():
    # 18th birthday in the issue month: minor (10 years) or adult (15 years)
    v = old_card_validity(2016, 6, D(1998, 6, 15))
    assert v.rule == "ambiguous" and v.latest.year - v.earliest.year == 5
    assert "18e anniversaire" in v.reasons[0]
    assert v.status_on(D(2024, 1, 1)) == "valid"
    assert v.status_on(D(2028, 1, 1)) == "unknown"
    assert v.status_on(D(2032, 1, 1)) == "expired"
    # settled by the full issue date read on the verso
    assert old_card_validity(2016, 6, D(1998, 6, 15), issue_day=D(2016, 6, 20)).rule == ("adult_15")
    assert old_card_validity(2016, 6, D(1998, 6, 15), issue_day=D(2016, 6, 10)).rule == ("minor_10")
    # January 2004: the 1st gives 10 years, from the 2nd 15
    v = old_card_validity(2004, 1, D(1970, 1, 1))
    assert v.rule == "ambiguous" and "janvier 2004" in v.reasons[0]
    assert old_card_validity(2004, 1, D(1970, 1, 1), issue_day=D(2004, 1, 1)).rule == "adult_10"
    # a verso date of another month is ignored
    assert old_card_validity(2004, 1, D(1970, 1, 1), issue_day=D(2005, 1, 1)).rule == "ambiguous"


def test_issue_date_in_verso_text():
    assert mrz.issue_date_in_text("Carte valable jusqu'au 11.03.2020\ndélivrée le 12.03.2010") == (
        D(2010, 3, 12)
    )
    assert mrz.issue_date_in_text("DELIVREE LE: 01/06/2016 par") == D(2016, 6, 1)
    assert mrz.issue_date_in_text("délivrée le 31.02.2010") is None
    assert mrz.issue_date_in_text("nothing") is None


def test_age_flags():
    assert mrz.age_flags(D(2009, 9, 2), D(2026, 9, 1)) == {
        "age_on_registration": 16,
        "needs_parental_consent": True,
        "needs_jdc": True,
    }
    assert mrz.age_flags(D(2008, 9, 1), D(2026, 9, 1))["needs_parental_consent"] is False
    assert mrz.age_flags(D(2001, 9, 2), D(2026, 9, 1))["needs_jdc"] is True
    assert mrz.age_flags(D(2001, 9, 1), D(2026, 9, 1))["needs_jdc"] is False


def test_random_single_confusions_never_give_a_wrong_protected_value():
    """Property: one OCR confusion anywhere either repairs back to the truth or leaves
    the reading not valid; a valid reading never carries a wrong value in a field a
    check digit protects (names of TD1/TD3 are not protected: the record comparison
    is their check). G/6 and L/1 are invisible to check digits (§4.1)."""
    rng = random.Random(4)
    specimens = [OLD_1, OLD_3, OLD_4, CNIE_5, PASS_6]
    pairs = [(a, b) for a, bs in mrz.CONFUSABLE.items() for b in bs]
    wrong, repaired = [], 0
    for _ in range(400):
        text = rng.choice(specimens)
        truth = read(text).to_fields()
        lines = text.splitlines()
        i = rng.randrange(len(lines))
        positions = [p for p, c in enumerate(lines[i]) if any(c == a for a, _ in pairs)]
        p = rng.choice(positions)
        before = lines[i][p]
        after = rng.choice([y for x, y in pairs if x == before])
        if {before, after} in ({"G", "6"}, {"L", "1"}):
            continue
        lines[i] = lines[i][:p] + after + lines[i][p + 1 :]
        got = read("\n".join(lines))
        if not got.valid:
            continue
        values = got.to_fields()
        repaired += values == truth
        for key, protected in got.field_checks().items():
            if protected and values[key] != truth[key]:
                wrong.append((before, after, i, p, key, values[key]))
    assert not wrong
    assert repaired > 200
