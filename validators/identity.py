"""The identity piece: an ID card recto/verso in one file, or a passport page.

What is checked (domain.md §4, issue 4):

1. an MRZ is found (text layer first, then the page images through ``ocr.mrz`` with
   ``ctx.ocr``) and every check digit and the composite verify — else a person looks
   (never an error: a reading that does not verify is a doubtful reading);
2. the document is a French ID card (old 2 × 36 or CNIe TD1) or a passport; anything
   else goes to a person (``identity.not_accepted``, inconclusive);
3. name and birth date match the enrolment record (``validators.names``: accents,
   hyphens, compound names and order tolerated; an inverted surname/first name is its
   own finding). A mismatch is an error only when every check digit verified and the
   names read are protected by a check digit or plainly different; otherwise a person
   looks;
4. the document is valid on the registration date — a **warning** for the reviewer,
   never an error (the FAQ does not require it); the old card's end of validity comes
   from its issue month and the holder's age (``validators.mrz.old_card_validity``);
5. both sides are there for an ID card (the MRZ side and another page with content).

The fields give the reading and the two FAQ consequences of the birth date: a minor on
the registration day needs a parental authorisation, anyone under 25 a JDC attestation.
"""

from __future__ import annotations

import datetime as dt
import re
import string
from dataclasses import dataclass, field
from typing import Any

from validators import mrz as rules
from validators.base import Context, Document
from validators.codes import ReasonCode
from validators.mrz import DocumentType, IdentityCode, Layout, MrzCode, MrzReading
from validators.names import NameMatch, compare_person, edit_distance, tokens
from validators.verdict import Finding, Level, Result, Verdict, finding

MAX_PAGES = 4
# the fields every identity verdict carries (issue 4), None when unknown
FIELD_KEYS = (
    *rules.FIELD_KEYS,
    "age_on_registration",
    "needs_parental_consent",
    "needs_jdc",
)
ID_CARDS = (DocumentType.CNI_OLD, DocumentType.CNI_TD1)
ACCEPTED = (*ID_CARDS, DocumentType.PASSPORT)
# the side that carries the MRZ (domain.md §4.2, §4.3): recto for the old card, verso
# for the CNIe (informative only: students do swap the pages)
MRZ_SIDE = {DocumentType.CNI_OLD: 0, DocumentType.CNI_TD1: 1}
_MRZ_TEXT_LINE = re.compile(r"^[A-Z0-9<«\s]{28,50}$")


@dataclass
class Reading:
    """What the MRZ step produced: a reading (trusted or not) and where it came from."""

    reading: MrzReading | None = None
    trusted: bool = False
    source: str = ""  # "text" | "ocr"
    page: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    images: list[Any] = field(default_factory=list)
    pages_with_band: list[int] = field(default_factory=list)


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return "?"


def _fill(template: str, detail: dict[str, Any]) -> str:
    return string.Formatter().vformat(template, (), _Blank(detail))


def passed(code: ReasonCode, **detail: Any) -> Finding:
    """A met criterion, its ok text filled from ``detail``."""
    return finding(
        code, Level.INFO, result=Result.PASS, message=_fill(code.ok_message, detail), **detail
    )


def inconclusive(code: ReasonCode, **detail: Any) -> Finding:
    """A criterion a person must judge, its text filled from ``detail``."""
    return finding(
        code,
        Level.WARNING,
        result=Result.INCONCLUSIVE,
        message=_fill(code.inconclusive_message, detail),
        **detail,
    )


# ------------------------------------------------------------------------ reading


def _text_layer(doc: Document, day: dt.date) -> Reading | None:
    for page in doc.pages[:MAX_PAGES]:
        text = page.text
        if "<" not in text:
            continue
        lines = [ln.strip() for ln in text.splitlines() if _MRZ_TEXT_LINE.match(ln.strip())]
        if len(lines) < 2:
            continue
        reading = rules.parse(lines, reference=day)
        if reading is None:
            continue
        trusted = reading.valid and not reading.needs_confirmation
        return Reading(reading, trusted, "text", page.index, {"text_lines": len(lines)})
    return None


def _page_images(doc: Document) -> list[Any]:
    """The pages as images: a scan's own pixels when the page is one (cheap), else a
    rendering at 300 dpi; never above ~5000 px on the long side."""
    images = []
    for page in doc.pages[:MAX_PAGES]:
        try:
            image = page.image(100)
            if max(image.size) < 1400:
                image = page.image(300)
        except ValueError:
            continue
        if max(image.size) > 5000:
            image = image.copy()
            image.thumbnail((5000, 5000))
        images.append(image)
    return images


def _ocr(doc: Document, ctx: Context, day: dt.date) -> Reading:
    from ocr.mrz import read_mrz

    images = _page_images(doc)
    if not images:
        return Reading(detail={"reason": "aucune image de page"})
    if ctx.ocr is None:
        return Reading(detail={"reason": "pas de moteur OCR"}, images=images)
    scan = read_mrz(
        images,
        ctx.ocr,
        lambda lines: rules.judge(lines, day),
        resolve=lambda cells: rules.resolve_cells(cells, reference=day),
    )
    detail = {
        "bands": scan.bands_found,
        "attempts": scan.attempts,
        "ocr_ms": round(scan.elapsed_ms),
    }
    if scan.timed_out:
        detail["timed_out"] = True
    if scan.method:
        detail["read"] = scan.method
    out = Reading(
        source="ocr", detail=detail, images=images, pages_with_band=list(scan.pages_with_band)
    )
    if scan.lines is not None:
        out.reading = rules.parse(scan.lines, reference=day)
        out.trusted = out.reading is not None and out.reading.valid
        out.page = scan.page
        if scan.rotation:
            detail["rotation"] = scan.rotation
        if scan.confirmed_by:
            detail["confirmed_by"] = scan.confirmed_by
        legacy = bool(scan.method) and not scan.method.startswith("cells-")
        if out.trusted and out.reading.layout is Layout.TD1 and legacy:
            # a TD1 band whose cells could not be cut: its reading is Tesseract's text
            # alone, where a slip verifies one time in ten; the other side must print
            # the same number and names
            out.trusted = _printed_on_other_side(ctx, out, scan.lines, scan.page)
            detail["other_side"] = out.trusted
            if not out.trusted:
                detail["unconfirmed_cells"] = True
        return out
    if scan.pending:
        return _confirm_elsewhere(ctx, day, scan.pending, out)
    if scan.unconfirmed:
        # valid only after a guessed repair that no second read confirmed
        out.reading = rules.parse(scan.unconfirmed[0].split("\n"), reference=day)
        detail["unconfirmed_repair"] = True
        return out
    best = None
    for candidate in scan.candidates[:12]:
        reading = rules.parse(candidate, reference=day)
        if reading is not None and (best is None or _checks_passed(reading) > _checks_passed(best)):
            best = reading
    out.reading = best
    return out


def _other_side_texts(ctx: Context, out: Reading, page: int | None, rotation: int):
    """OCR of the pages other than the MRZ's (or of the MRZ page when it is the only
    one), read sparse like codes, turned like the MRZ page: (text, timed out)."""
    if ctx.ocr is None or page is None:
        return
    for index in [i for i in range(len(out.images)) if i != page] or [page]:
        image = out.images[index]
        if rotation:
            image = image.rotate(rotation, expand=True)
        text = ctx.ocr.read_field(image, lang="eng", psm=11)
        if text.timed_out:
            out.detail["timed_out"] = True
            continue
        yield text.text


def _printed_on_other_side(ctx: Context, out: Reading, lines: list[str], page: int | None) -> bool:
    rotation = out.detail.get("rotation", 0)
    return any(
        rules.printed_elsewhere(lines, text) for text in _other_side_texts(ctx, out, page, rotation)
    )


def _confirm_elsewhere(ctx: Context, day: dt.date, pending: list[Any], out: Reading) -> Reading:
    """A CNIe's MRZ read with doubts on its document number or names, which the other
    side prints too (another print, another font). Read that side once and keep the
    reading only if what it prints settles every doubt (``validators.mrz.
    confirm_elsewhere``); otherwise show the best reading, untrusted."""
    first, page, rotation = pending[0]
    out.page = page
    out.detail["unsure_cells"] = len(first.doubtful)
    confirmable = any(rules.can_confirm(r) for r, p, t in pending if (p, t) == (page, rotation))
    if confirmable:
        for text in _other_side_texts(ctx, out, page, rotation):
            lines = rules.confirm_elsewhere(
                [r for r, p, t in pending if (p, t) == (page, rotation)], text, reference=day
            )
            if lines is not None:
                out.reading = rules.parse(list(lines), reference=day)
                out.trusted = out.reading is not None and out.reading.valid
                out.detail["confirmed_by"] = "numéro et noms imprimés sur l’autre face"
                if rotation:
                    out.detail["rotation"] = rotation
                return out
    shown = first.lines or first.top
    out.reading = rules.parse(list(shown), reference=day)
    out.detail["unconfirmed_cells"] = True
    return out


def _checks_passed(reading: MrzReading) -> int:
    return sum(reading.checks.values())


def read_identity(doc: Document, ctx: Context) -> Reading:
    day = ctx.registration_date
    found = _text_layer(doc, day)
    if found is not None and found.trusted:
        return found
    read = _ocr(doc, ctx, day)
    if (
        found is not None
        and not read.trusted
        and (read.reading is None or _checks_passed(found.reading) >= _checks_passed(read.reading))
    ):
        found.images = read.images
        return found
    return read


# ---------------------------------------------------------------------- the checks


def check(doc: Document, ctx: Context) -> Verdict:
    read = read_identity(doc, ctx)
    reading = read.reading
    findings: list[Finding] = []
    fields: dict[str, Any] = {}
    if reading is None:
        findings.append(inconclusive(MrzCode.NOT_FOUND, pages=len(doc.pages), **read.detail))
        fields.update(dict.fromkeys(FIELD_KEYS[:7]), mrz_valid=False)
        fields.update(_age_fields(None, ctx))
        return Verdict.of(findings, fields)

    fields.update(_fields(reading, read))
    if read.trusted:
        findings.append(passed(MrzCode.CHECK_DIGITS, source=read.source, **read.detail))
        repairs = [str(r) for r in reading.repairs]
        if repairs:
            findings.append(
                finding(
                    MrzCode.REPAIRED,
                    Level.INFO,
                    result=Result.PASS,
                    message=MrzCode.REPAIRED.ok_message.format(repairs=", ".join(repairs)),
                    repairs=repairs,
                )
            )
    else:
        failed = _doubts(reading, read)
        findings.append(
            inconclusive(
                MrzCode.CHECK_DIGITS,
                failed=", ".join(failed),
                lines=list(reading.lines),
                **read.detail,
            )
        )
    findings.extend(_country(reading))
    findings.extend(_document_type(reading))
    findings.extend(_sides(doc, reading, read))
    findings.extend(_person(reading, read.trusted, ctx))
    expiry_findings, expiry_fields = _expiry(reading, read, ctx, doc)
    findings.extend(expiry_findings)
    fields.update(expiry_fields)
    birth = reading.birth_date if read.trusted else None
    fields.update(_age_fields(birth, ctx))
    findings.extend(_age_finding(fields, from_mrz=birth is not None and _record_birth(ctx) is None))
    return Verdict.of(findings, fields)


def _doubts(reading: MrzReading, read: Reading) -> list[str]:
    labels = {
        "document_number": "numéro du document",
        "birth_date": "date de naissance",
        "expiry_date": "date d’expiration",
        "personal_number": "numéro personnel",
        "composite": "chiffre de contrôle global",
    }
    out = [labels.get(name, name) for name in reading.failed_checks]
    if reading.ambiguous:
        out.append("plusieurs corrections possibles")
    if read.detail.get("unconfirmed_repair"):
        out.append("correction non confirmée par une seconde lecture")
    if read.detail.get("unconfirmed_cells"):
        out.append("caractères incertains, non confirmés par l’autre face de la carte")
    if reading.date_problems:
        out.append("date impossible : " + ", ".join(reading.date_problems))
    if not reading.names_plausible:
        out.append("nom illisible")
    if not reading.sex_ok:
        out.append("sexe illisible")
    return out or ["lecture incertaine"]


def _fields(reading: MrzReading, read: Reading) -> dict[str, Any]:
    data = reading.to_fields()
    data["mrz_checks"] = reading.field_checks()
    data["mrz_valid"] = read.trusted
    data["mrz_source"] = read.source
    if read.page is not None:
        data["mrz_page"] = read.page + 1
    return data


def _country(reading: MrzReading) -> list[Finding]:
    unknown = reading.unknown_countries
    if not unknown:
        return [passed(MrzCode.COUNTRY, issuer=reading.issuer)]
    code = unknown[0]
    return [
        finding(
            MrzCode.COUNTRY,
            Level.WARNING,
            country=code,
            fictitious=code in rules.FICTITIOUS_CODES,
            countries=unknown,
        )
    ]


def _document_type(reading: MrzReading) -> list[Finding]:
    kind = reading.document_type
    if kind in ACCEPTED:
        return [passed(IdentityCode.NOT_ACCEPTED, document=str(kind))]
    label = {
        DocumentType.ID_CARD_OTHER: f"carte d’identité délivrée par {reading.issuer}",
        DocumentType.OTHER: f"document de type {reading.document_code}",
    }.get(kind, str(kind))
    return [inconclusive(IdentityCode.NOT_ACCEPTED, document=label, type=str(kind))]


# -------------------------------------------------------------------------- sides


def _sides(doc: Document, reading: MrzReading, read: Reading) -> list[Finding]:
    kind = reading.document_type
    if kind not in ID_CARDS:
        return [passed(IdentityCode.SIDES, pages=len(doc.pages))] if kind in ACCEPTED else []
    pages = list(doc.pages[:MAX_PAGES])
    mrz_page = read.page if read.page is not None else 0
    if len(pages) >= 2:
        others = [i for i in range(len(pages)) if i != mrz_page]
        filled = [i for i in others if _has_content(doc, read, i)]
        twice = [i for i in read.pages_with_band if i != mrz_page]
        detail = {"pages": len(pages), "mrz_page": mrz_page + 1}
        if not filled:
            return [
                finding(
                    IdentityCode.SIDES,
                    Level.ERROR,
                    hint=" L’autre page du fichier est vide.",
                    **detail,
                )
            ]
        if twice and len(others) == 1:
            # the MRZ side appears on both pages: the same side twice?
            return [inconclusive(IdentityCode.SIDES, same_side_twice=True, **detail)]
        expected = MRZ_SIDE.get(kind)
        if expected is not None and mrz_page != expected and len(pages) == 2:
            detail["swapped"] = True  # informative: verso first
        return [passed(IdentityCode.SIDES, **detail)]
    # one page: one side of a card photographed or scanned alone, or both on one page?
    shape = _shape(read, 0)
    if shape is not None and 1.2 <= shape <= 1.9 and _landscape(read, 0):
        return [
            finding(
                IdentityCode.SIDES,
                Level.ERROR,
                pages=1,
                aspect=round(shape, 2),
                hint=" Seule la face portant la bande de lecture a été reçue.",
            )
        ]
    return [inconclusive(IdentityCode.SIDES, pages=1)]


def _has_content(doc: Document, read: Reading, index: int) -> bool:
    page = doc.pages[index]
    if page.text.strip():
        return True
    if index >= len(read.images):
        return False
    from ocr.mrz import page_content

    measures = page_content(read.images[index])
    return measures["std"] > 12 and measures["edges"] > 0.01


def _shape(read: Reading, index: int) -> float | None:
    if index >= len(read.images):
        return None
    w, h = read.images[index].size
    return max(w, h) / max(1, min(w, h))


def _landscape(read: Reading, index: int) -> bool:
    w, h = read.images[index].size
    return w >= h


# ------------------------------------------------------------------------- person


def _record_birth(ctx: Context) -> dt.date | None:
    return ctx.student.birth_date if ctx.student is not None else None


def _names_equal(document: str, record: str) -> bool:
    """Every token of the shorter side is found *exactly* on the other side."""
    doc, rec = tokens(document), tokens(record)
    if not doc or not rec:
        return False
    if "".join(doc) == "".join(rec):
        return True
    short, long_ = (doc, rec) if len(doc) <= len(rec) else (rec, doc)
    return all(t in long_ for t in short)


def _far(document: str, record: str) -> bool:
    """Plainly another name: no token within two letters of one on the other side."""
    doc, rec = tokens(document), tokens(record)
    return not any(edit_distance(a, b, 2) <= 2 for a in doc for b in rec)


def _untruncated(value: str, truncated: bool) -> str:
    """A name field that filled its zone may end with a cut name: drop that part."""
    parts = value.split()
    return " ".join(parts[:-1]) if truncated and len(parts) > 1 else value


def _person(reading: MrzReading, trusted: bool, ctx: Context) -> list[Finding]:
    student = ctx.student
    if student is None or not (student.last_name or student.first_name):
        return []
    out: list[Finding] = []
    doc_last = _untruncated(reading.last_name, reading.surname_truncated)
    doc_first = _untruncated(reading.first_names, reading.names_truncated)
    compared = compare_person(doc_last, doc_first, student.last_name, student.first_name)
    checks = reading.field_checks()
    protected = bool(checks.get("last_name")) and bool(checks.get("first_names"))
    detail = {"document": compared.document, "record": compared.record}
    if compared.result is NameMatch.MATCH:
        exact = _names_equal(doc_last, student.last_name) and (
            not student.first_name or not doc_first or _names_equal(doc_first, student.first_name)
        )
        if exact or (protected and trusted):
            out.append(passed(IdentityCode.NAME_MISMATCH, **detail))
        else:  # matched only with a slip on names no check digit protects
            out.append(inconclusive(IdentityCode.NAME_MISMATCH, approximate=True, **detail))
    elif compared.result is NameMatch.INVERTED:
        if trusted:
            out.append(finding(IdentityCode.INVERTED_NAME, Level.WARNING, **detail))
        else:
            out.append(inconclusive(IdentityCode.INVERTED_NAME, **detail))
    elif compared.result is NameMatch.UNKNOWN:
        out.append(inconclusive(IdentityCode.NAME_MISMATCH, **detail))
    else:
        plainly = _far(f"{doc_last} {doc_first}", f"{student.last_name} {student.first_name}")
        if compared.result is NameMatch.FIRST_NAME_DIFFERS:
            plainly = _far(doc_first, student.first_name)
        elif compared.result is NameMatch.LAST_NAME_DIFFERS:
            plainly = _far(doc_last, student.last_name)
        if trusted and (protected or plainly):
            out.append(
                finding(
                    IdentityCode.NAME_MISMATCH, Level.ERROR, which=str(compared.result), **detail
                )
            )
        else:
            out.append(
                inconclusive(IdentityCode.NAME_MISMATCH, which=str(compared.result), **detail)
            )
    record_birth = student.birth_date
    birth = reading.birth_date
    if record_birth is not None:
        bd = {"document": _fr(birth), "record": _fr(record_birth)}
        if birth is None or not trusted:
            out.append(inconclusive(IdentityCode.BIRTH_DATE, **bd))
        elif birth == record_birth:
            out.append(passed(IdentityCode.BIRTH_DATE, **bd))
        else:
            out.append(finding(IdentityCode.BIRTH_DATE, Level.ERROR, **bd))
    return out


def _fr(day: dt.date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else "?"


# ------------------------------------------------------------------------- expiry


def _expiry(
    reading: MrzReading, read: Reading, ctx: Context, doc: Document
) -> tuple[list[Finding], dict]:
    day = ctx.registration_date
    if not read.trusted:
        return [], {}
    if reading.layout is not Layout.CNI_OLD:
        expiry = reading.expiry_date
        if expiry is None:
            return [inconclusive(IdentityCode.EXPIRED, reason="date illisible")], {}
        fields = {"expiry_basis": "mrz"}
        if expiry < day:
            return [
                finding(IdentityCode.EXPIRED, Level.WARNING, expiry=_fr(expiry), hint=_EXPIRED_HINT)
            ], fields
        return [passed(IdentityCode.EXPIRED, expiry=_fr(expiry))], fields
    issue = reading.issue_month
    birth = reading.birth_date
    if issue is None or birth is None:
        return [inconclusive(IdentityCode.EXPIRED, reason="date de délivrance illisible")], {}
    validity = rules.old_card_validity(issue[0], issue[1], birth)
    basis = "issue_month"
    if validity.status_on(day) == "unknown":
        # read the full issue date on the other side (« délivrée le »), when there is one
        issued = _issue_date_on_verso(doc, read, ctx)
        if issued is not None:
            settled = rules.old_card_validity(issue[0], issue[1], birth, issue_day=issued)
            if settled.earliest != validity.earliest or settled.latest != validity.latest:
                validity, basis = settled, "issue_date"
    fields: dict[str, Any] = {
        "expiry_date": validity.earliest,
        "expiry_latest": validity.latest,
        "expiry_basis": basis,
        "expiry_rule": validity.rule,
    }
    status = validity.status_on(day)
    shown = (
        _fr(validity.earliest)
        if validity.exact
        else (f"entre le {_fr(validity.earliest)} et le {_fr(validity.latest)}")
    )
    detail = {"expiry": shown, "rule": validity.rule}
    if status == "valid":
        return [passed(IdentityCode.EXPIRED, **detail)], fields
    if status == "expired":
        hint = _EXPIRED_HINT
        return [finding(IdentityCode.EXPIRED, Level.WARNING, hint=hint, **detail)], fields
    reason = "; ".join(validity.reasons) or "jour de délivrance inconnu"
    return [inconclusive(IdentityCode.EXPIRED, reason=reason, **detail)], fields


_EXPIRED_HINT = (
    " Si vous avez une pièce d’identité en cours de validité, déposez-la ; sinon, "
    "expliquez votre situation (par exemple un renouvellement en cours)."
)


def _issue_date_on_verso(doc: Document, read: Reading, ctx: Context) -> dt.date | None:
    """« délivrée le JJ.MM.AAAA » on another page: its text layer, else OCR (French,
    whole page: about a second, only for the rare ambiguous cards)."""
    for page in doc.pages[:MAX_PAGES]:
        if page.index == read.page:
            continue
        found = rules.issue_date_in_text(page.text)
        if found is None and ctx.ocr is not None:
            try:
                image = (
                    read.images[page.index] if page.index < len(read.images) else (page.image(300))
                )
            except ValueError:
                continue
            found = rules.issue_date_in_text(ctx.ocr.read_page(image, lang="fra", psm=3).text)
        if found is not None:
            return found
    return None


# ---------------------------------------------------------------------------- age


def _age_fields(mrz_birth: dt.date | None, ctx: Context) -> dict[str, Any]:
    birth = _record_birth(ctx) or mrz_birth
    if birth is None:
        return {"age_on_registration": None, "needs_parental_consent": None, "needs_jdc": None}
    return rules.age_flags(birth, ctx.registration_date)


def _age_finding(fields: dict[str, Any], *, from_mrz: bool) -> list[Finding]:
    age = fields.get("age_on_registration")
    if age is None:
        return []
    parts = []
    if fields["needs_parental_consent"]:
        parts.append(
            " Vous êtes mineur le jour de votre inscription : l’autorisation parentale est "
            "obligatoire."
        )
    if fields["needs_jdc"]:
        parts.append(
            " L’attestation de Journée Défense et Citoyenneté (JDC) est obligatoire pour les "
            "moins de 25 ans."
        )
    source = " (date de naissance lue sur la pièce d’identité)" if from_mrz else ""
    return [
        finding(
            IdentityCode.AGE,
            Level.INFO,
            result=Result.PASS,
            message=IdentityCode.AGE.ok_message.format(age=age, consequences="".join(parts))
            + source,
            age=age,
            needs_parental_consent=fields["needs_parental_consent"],
            needs_jdc=fields["needs_jdc"],
            from_mrz=from_mrz,
        )
    ]
