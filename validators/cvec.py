"""The CVEC attestation (domain.md §3.6, the FAQ's checklist « Vous devez vérifier que »).

- it is a CVEC attestation (else ``cvec.wrong_document``, blocking);
- the attestation number: read (tolerant pattern), equal to the number in the record;
  differing only by confusable characters → the position is named (text layer: error;
  OCR: warning, the reading may be at fault);
- the academic year equals the configured campaign year (``ctx.academic_year``, never
  inferred from a date);
- surname and first name match the record, inverted order is its own error
  (``cvec.inverted_name``); the `/ NOMXX` suffix agrees with the surname (warning);
- the INE on it equals the record's (``cvec.ine``); a provisoire INE there while the
  record has a definitive one → warning (domain.md §3.3);
- paid or exempted is recorded (``fields["cvec_basis"]``).

What the text layer says is exact. What OCR says is accepted only when it is proven
(an INE key) or confirmed (two readings agree); anything else is *inconclusive*.
"""

from __future__ import annotations

import re
from typing import Any

from ocr import fields as ocr_fields
from ocr.fields import FieldSpec
from validators import documents as docs
from validators.base import Context, Document
from validators.identifiers import (
    CVEC_CONTACT,
    CvecCode,
    CvecReading,
    IneCheck,
    IneCode,
    IneFamily,
    Reading,
    compare_ine,
    compare_values,
    decide_cvec,
    describe,
    normalize_ine,
    parse_cvec,
    provisional_finding,
    render,
    suffix_matches,
)
from validators.verdict import Finding, Level, Result, Verdict, finding, inconclusive, passed

CVEC_LABELS = (
    "N° d’attestation",
    "Numéro d’attestation",
    "Numéro de l’attestation",
    "Attestation n°",
    "N° attestation",
    "Numéro CVEC",
    "attestation CVEC",
    "attestation",
)
# where the number is: after its label, 2–5 + 4–8 + 1–3 characters (what OCR makes of
# `AAAd XXXXXX dd`: a character added, lost or split off), maybe the `/ NOMXX` suffix;
# whether it is a valid number is decided later, on all its readings
CVEC_FIELD = FieldSpec(
    "cvec_number",
    CVEC_LABELS,
    re.compile(
        r"(?<![0-9A-Z])([A-Z0-9]{2,5}[ \-]?[A-Z0-9\])}|]{4,8}[ \-]?[A-Z0-9]{1,3}"
        r"(?:\s*[/|]\s*[A-Z]{2,8})?)(?![0-9A-Z])",
        re.IGNORECASE,
    ),
    accept=lambda value: (
        _mostly_upper(value.split("/")[0]) and sum(c.isdigit() for c in value) >= 2
    ),
)


def _mostly_upper(text: str) -> bool:
    """Printed codes are capitals and digits: an OCR'd word of lower-case prose that
    happens to fit the shape ("tablissement") is not one."""
    chars = [c for c in text if c.isalnum()]
    return bool(chars) and sum(c.isupper() or c.isdigit() for c in chars) >= 0.85 * len(chars)


YEAR_PATTERN = re.compile(r"(?<!\d)(\d{4})\s*[-/–—]\s*(\d{4})(?!\d)")
RECOGNISE = (
    "CVEC",
    "contribution de vie étudiante et de campus",
    "contribution vie étudiante et de campus",
    "contribution de vie étudiante",
)
EXEMPT_WORDS = ("exonéré", "exonérée", "exonération", "exonere", "exoneree")
PAID_WORDS = ("s’est acquitté", "s’est acquittée", "montant acquitté", "payé", "paiement")


def _contact(f: Finding) -> Finding:
    """The catalogue's `cvec.contact` sentence appended to a CVEC error."""
    if f.blocks and CVEC_CONTACT not in f.message:
        return Finding(f.code, f.level, f"{f.message} {CVEC_CONTACT}", f.detail, f.result)
    return f


def check(doc: Document, ctx: Context) -> Verdict:
    text = docs.read_text(doc, ctx, labels=CVEC_LABELS, max_pages=1)
    problem = docs.unreadable(text, ctx)
    if problem is not None:
        return Verdict.of([problem])
    source = docs.source_of(text)
    exact = source.exact
    body = text.text
    findings: list[Finding] = []
    fields: dict[str, Any] = {}

    if docs.contains_any(body, RECOGNISE):
        findings.append(passed(CvecCode.WRONG_DOCUMENT))
    elif exact:
        return Verdict.of([finding(CvecCode.WRONG_DOCUMENT, Level.ERROR)])
    else:
        findings.append(inconclusive(CvecCode.WRONG_DOCUMENT))

    # the two codes, re-read together on their crops when the page was OCR'd
    readings = docs.code_readings(text, ctx, (docs.INE_FIELD, CVEC_FIELD))
    ine_readings = readings["ine"]
    number = decide_cvec(readings["cvec_number"])
    findings.extend(_number_findings(number, ctx, fields))
    findings.extend(_year_findings(text, ctx, exact, fields))
    findings.extend(_name_findings(text, ctx, exact, fields, number))
    findings.extend(_ine_findings(ine_readings, ctx, fields))
    findings.append(_basis_finding(body, fields))
    return Verdict.of([_contact(f) for f in findings], fields)


# -- number -------------------------------------------------------------------------------


def _number_findings(
    number: CvecReading | None, ctx: Context, fields: dict[str, Any]
) -> list[Finding]:
    if number is None or not number.value:
        return [inconclusive(CvecCode.NUMBER, read="non trouvé")]
    fields["cvec_number"] = number.value
    out: list[Finding] = []
    detail = {"read": number.display, "cvec_number": number.value}
    if not number.format_ok:
        code = CvecCode.NUMBER_FORMAT
        if number.source.exact:
            out.append(finding(code, Level.WARNING, value=number.value, suggestion_text=""))
        else:
            out.append(inconclusive(code, value=number.display))
    recorded = ctx.student.cvec_number if ctx.student else None
    if not recorded:
        if not number.confident:
            out.append(inconclusive(CvecCode.NUMBER, **detail, alternatives=number.alternatives))
        return out
    typed = parse_cvec(recorded).normalized
    comparison = compare_values(typed, number.value)
    if comparison.equal:
        if number.confident:
            out.append(passed(CvecCode.NUMBER, **detail))
        else:
            # one reading agrees with the record: likely right, but not proven
            out.append(inconclusive(CvecCode.NUMBER, **detail, typed=typed))
        return out
    sentence = " " + describe(comparison.changes) if comparison.confusable_only else ""
    message = render(CvecCode.NUMBER.message, {"differences": sentence})
    if number.source.exact:
        out.append(
            finding(
                CvecCode.NUMBER,
                Level.ERROR,
                message=message,
                **detail,
                typed=typed,
                differences=[c.to_dict() for c in comparison.changes],
            )
        )
    elif number.confident and comparison.confusable_only:
        # FAQ table: read by OCR → warning (the reading, not the student, may be wrong)
        out.append(
            finding(
                CvecCode.NUMBER,
                Level.WARNING,
                message=message,
                **detail,
                typed=typed,
                differences=[c.to_dict() for c in comparison.changes],
            )
        )
    else:
        out.append(inconclusive(CvecCode.NUMBER, **detail, typed=typed))
    return out


# -- academic year -------------------------------------------------------------------------


def years_on(text: str) -> list[str]:
    """Every "YYYY-YYYY" (or "/") printed, as "2024-2025"; only consecutive years."""
    out = []
    for m in YEAR_PATTERN.finditer(text):
        first, second = int(m.group(1)), int(m.group(2))
        if second == first + 1 and 1990 < first < 2100:
            out.append(f"{first}-{second}")
    return out


def _year_findings(
    text: ocr_fields.DocumentText, ctx: Context, exact: bool, fields: dict[str, Any]
) -> list[Finding]:
    expected = ctx.academic_year
    labelled = [r.text for r in text.rows if "UNIVERSITAIRE" in docs.fold(r.text)]
    found = years_on("\n".join(labelled)) or years_on(text.text)
    distinct = list(dict.fromkeys(found))
    if not distinct:
        return [inconclusive(CvecCode.YEAR, expected=expected)]
    if len(distinct) > 1:
        if exact:
            return [
                finding(CvecCode.YEAR, Level.ERROR, expected=expected, read=", ".join(distinct))
            ]
        return [inconclusive(CvecCode.YEAR, expected=expected, read=", ".join(distinct))]
    year = distinct[0]
    fields["academic_year"] = year
    if year == expected:
        return [passed(CvecCode.YEAR, academic_year=year)]
    # a clean YYYY-(YYYY+1) that differs is the wrong year, OCR or not: one misread
    # digit cannot keep the two years consecutive (an error on both would be needed)
    if exact or len(found) >= 2:
        return [finding(CvecCode.YEAR, Level.ERROR, expected=expected, read=year)]
    return [inconclusive(CvecCode.YEAR, expected=expected, read=year)]


# -- names and birth date --------------------------------------------------------------------


def _name_findings(
    text: ocr_fields.DocumentText,
    ctx: Context,
    exact: bool,
    fields: dict[str, Any],
    number: CvecReading | None,
) -> list[Finding]:
    out: list[Finding] = []
    person = docs.person_on(text)
    if person is not None and person.last_name:
        fields["last_name"] = person.last_name
        if person.first_name:
            fields["first_name"] = person.first_name
    born = docs.birth_date_on(text)
    if born is not None:
        fields["birth_date"] = born.isoformat()
    student = ctx.student
    names = docs.person_finding(
        person,
        text,
        ctx,
        match_code=CvecCode.NAME,
        inverted_code=CvecCode.INVERTED_NAME,
        exact=exact,
    )
    if names is not None:
        out.append(names)
    if student is not None and student.birth_date is not None:
        if born is None:
            out.append(inconclusive(CvecCode.BIRTH_DATE))
        elif born == student.birth_date:
            out.append(passed(CvecCode.BIRTH_DATE))
        else:
            detail = {
                "read": born.strftime("%d/%m/%Y"),
                "expected": student.birth_date.strftime("%d/%m/%Y"),
            }
            if exact:
                out.append(finding(CvecCode.BIRTH_DATE, Level.ERROR, **detail))
            else:
                out.append(inconclusive(CvecCode.BIRTH_DATE, **detail))
    if number is not None and number.suffix and student is not None and student.last_name:
        expected = docs.fold(student.last_name).replace(" ", "")[: len(number.suffix)]
        if suffix_matches(number.suffix, student.last_name):
            out.append(passed(CvecCode.SUFFIX, suffix=number.suffix))
        elif not (names is not None and names.code is CvecCode.INVERTED_NAME):
            level = Level.WARNING
            if exact:
                out.append(finding(CvecCode.SUFFIX, level, suffix=number.suffix, expected=expected))
            else:
                out.append(inconclusive(CvecCode.SUFFIX, suffix=number.suffix, expected=expected))
    return out


# -- INE -----------------------------------------------------------------------------------


def _ine_findings(readings: list[Reading], ctx: Context, fields: dict[str, Any]) -> list[Finding]:
    check: IneCheck | None = docs.ine_check(readings, ctx)
    if check is None:
        return [inconclusive(IneCode.MISSING)]
    out, typed = docs.ine_against_record(check, ctx, fields, CvecCode.INE)
    if typed is None:
        return out
    detail = {"read": check.value, "expected": typed, "ine": check.value}
    if check.value == typed:
        out.append(passed(CvecCode.INE, **detail))
        if check.family is IneFamily.PROVISIONAL:
            out[0] = provisional_finding(typed, bac_after_1995=ctx.student.bac_after_1995)
        return out
    if check.family is IneFamily.PROVISIONAL:
        # a provisoire INE on the attestation, a definitive one in the record: the
        # administration reconciles them (domain.md §3.3)
        out[0] = Finding(
            IneCode.PROVISIONAL,
            Level.INFO,
            render("INE provisoire {ine} sur l’attestation.", {"ine": check.value}),
            {"ine": check.value},
            Result.PASS,
        )
        out.append(finding(CvecCode.INE_PROVISIONAL, Level.WARNING, **detail))
        return out
    comparison = compare_ine(typed, check.value)
    sentence = " " + describe(comparison.changes) if comparison.confusable_only else ""
    message = render(CvecCode.INE.message, {**detail, "differences": sentence})
    # the document's INE is exact (text layer) or proven by its key: an error
    out.append(finding(CvecCode.INE, Level.ERROR, message=message, **detail))
    own = record_provisional(ctx)
    if own is not None:
        out.append(own)
    return out


def record_provisional(ctx: Context) -> Finding | None:
    """The record's own INE is a provisoire one (FAQ: « S’il comporte un D »)."""
    if ctx.student is None or not ctx.student.ine:
        return None
    typed = normalize_ine(ctx.student.ine)
    from validators.identifiers import family_of

    if family_of(typed) is IneFamily.PROVISIONAL:
        return provisional_finding(typed, bac_after_1995=ctx.student.bac_after_1995)
    return None


# -- paid or exempted -------------------------------------------------------------------------


def _basis_finding(body: str, fields: dict[str, Any]) -> Finding:
    if docs.contains_any(body, EXEMPT_WORDS) or "EXONER" in docs.fold(body):
        fields["cvec_basis"] = "exempt"
        return finding(
            CvecCode.BASIS,
            Level.INFO,
            result=Result.PASS,
            message=render(CvecCode.BASIS.ok_message, {"basis_label": "exonération"}),
            basis="exempt",
        )
    if docs.contains_any(body, PAID_WORDS):
        fields["cvec_basis"] = "paid"
        return finding(
            CvecCode.BASIS,
            Level.INFO,
            result=Result.PASS,
            message=render(CvecCode.BASIS.ok_message, {"basis_label": "contribution payée"}),
            basis="paid",
        )
    return finding(
        CvecCode.BASIS,
        Level.INFO,
        result=Result.SKIPPED,
        message=CvecCode.BASIS.inconclusive_message,
    )
