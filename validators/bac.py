"""The bac transcript or diploma (FAQ: « votre relevé de notes du baccalauréat ou votre
diplôme de baccalauréat »), and the INE printed on it, which is the student's real
identifier (« Le numéro NNE / INE ou INES est celui inscrit sur votre relevé de notes
du baccalauréat »).

- the document is a bac transcript or diploma (else ``bac.wrong_document``, blocking);
- the INE is found and valid (a transcript without a readable INE → inconclusive; a
  diploma often has none, which is not a fault);
- it equals the record's INE: a difference is ``ine.mismatch`` naming the confused
  characters (« Vous avez saisi la lettre O à la place du chiffre 0 (position 4). »);
  a provisoire "D" INE in the record while the transcript shows the real one is
  ``ine.provisional`` (domain.md §3.3);
- the student's name is on it.
"""

from __future__ import annotations

from typing import Any

from validators import documents as docs
from validators.base import Context, Document
from validators.documents import DocCode
from validators.identifiers import (
    IneCheck,
    IneCode,
    IneFamily,
    compare_ine,
    describe,
    family_of,
    render,
)
from validators.verdict import Finding, Level, Result, Verdict, finding, inconclusive, passed

RECOGNISE = ("baccalauréat", "bac général", "bac technologique", "bac professionnel")
TRANSCRIPT = ("relevé de notes", "relevé des notes", "notes obtenues", "épreuves")
DIPLOMA = ("diplôme", "diplome")


def check(doc: Document, ctx: Context) -> Verdict:
    text = docs.read_text(doc, ctx, labels=(*docs.INE_FIELD.labels, "baccalauréat"), max_pages=2)
    problem = docs.unreadable(text, ctx)
    if problem is not None:
        return Verdict.of([problem])
    exact = docs.source_of(text).exact
    body = text.text
    findings: list[Finding] = []
    fields: dict[str, Any] = {}

    is_bac = docs.contains_any(body, RECOGNISE) and (
        docs.contains_any(body, TRANSCRIPT) or docs.contains_any(body, DIPLOMA)
    )
    if is_bac:
        findings.append(passed(DocCode.BAC_WRONG))
    elif exact:
        return Verdict.of([finding(DocCode.BAC_WRONG, Level.ERROR)])
    else:
        findings.append(inconclusive(DocCode.BAC_WRONG))
    transcript = docs.contains_any(body, TRANSCRIPT)

    readings = docs.code_readings(text, ctx, (docs.INE_FIELD,))["ine"]
    check_ = docs.ine_check(readings, ctx)
    findings.extend(_ine_findings(check_, ctx, fields, transcript=transcript))

    person = docs.person_on(text)
    if person is not None and person.last_name:
        fields["last_name"] = person.last_name
        if person.first_name:
            fields["first_name"] = person.first_name
    born = docs.birth_date_on(text)
    if born is not None:
        fields["birth_date"] = born.isoformat()
    names = docs.person_finding(
        person, text, ctx, match_code=DocCode.BAC_NAME, inverted_code=None, exact=exact
    )
    if names is not None:
        findings.append(names)
    return Verdict.of(findings, fields)


def _ine_findings(
    check: IneCheck | None, ctx: Context, fields: dict[str, Any], *, transcript: bool
) -> list[Finding]:
    if check is None:
        if transcript:
            return [inconclusive(IneCode.MISSING)]
        return [
            finding(
                IneCode.MISSING,
                Level.INFO,
                result=Result.SKIPPED,
                message="Aucun INE lu sur le diplôme (il n’y figure pas toujours).",
            )
        ]
    out, typed = docs.ine_against_record(check, ctx, fields, IneCode.MISMATCH)
    if typed is None:
        return out
    if check.value == typed:
        out.append(
            finding(
                IneCode.MISMATCH,
                Level.INFO,
                result=Result.PASS,
                message=render(IneCode.MISMATCH.ok_message, {"ine": typed}),
                ine=typed,
            )
        )
        return out
    if family_of(typed) is IneFamily.PROVISIONAL and check.family is not IneFamily.PROVISIONAL:
        # the record holds the CROUS/CVEC number; the transcript shows the real one
        out.append(
            Finding(
                IneCode.PROVISIONAL,
                Level.ERROR,
                f"{IneCode.PROVISIONAL.message} (INE du relevé : {check.value}).",
                {"ine": typed, "suggestion": check.value},
            )
        )
        return out
    comparison = compare_ine(typed, check.value)
    sentence = " " + describe(comparison.changes) if comparison.confusable_only else ""
    suggestion = f" L’INE du relevé est {check.value}."
    out.append(
        finding(
            IneCode.MISMATCH,
            Level.ERROR,
            message=render(IneCode.MISMATCH.message, {"differences": sentence + suggestion}),
            read=check.value,
            expected=typed,
            differences=[c.to_dict() for c in comparison.changes],
        )
    )
    return out
