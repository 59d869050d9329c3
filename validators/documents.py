"""Document checkers for the JDC certificate, the access diploma, the parental consent
and the apprenticeship contract, and the reading helpers shared with the CVEC and bac
checkers (validators.cvec, validators.bac).

Every checker answers three questions: is it the expected kind of document, does it
name the student, is anything else required (a signature, a condition)? What a text
layer says is exact; what OCR says may be wrong, so a doubt there is *inconclusive*
(a person looks), never an error. A signature cannot be verified offline: it is always
left to a person.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from ocr import fields as ocr_fields
from ocr.fields import DocumentText, FieldSpec
from validators.base import Context, Document
from validators.codes import ReasonCode
from validators.identifiers import IneCheck, Reading, Source, decide_ine, normalize_ine
from validators.names import NameMatch, compare_person, fold, name_in_text
from validators.verdict import Finding, Level, Result, Verdict, finding, inconclusive, passed


class DocCode(ReasonCode):
    """Reading and recognising documents (bac, JDC, diploma, consent, contract)."""

    UNREADABLE = (
        "doc.unreadable",
        "Document illisible ou flou : déposez un scan ou une photo nette de l’ensemble "
        "du document.",
        "Document lu.",
        "Le document n’a pas pu être lu automatiquement ({reason}) : un gestionnaire va "
        "le vérifier.",
    )
    BAC_WRONG = (
        "bac.wrong_document",
        "Déposez votre relevé de notes du baccalauréat ou votre diplôme de baccalauréat.",
        "Relevé de notes ou diplôme du baccalauréat reconnu.",
        "Le document n’a pas pu être reconnu comme un relevé de notes ou un diplôme du "
        "baccalauréat : un gestionnaire va le vérifier.",
    )
    BAC_NAME = (
        "bac.name",
        "Le nom figurant sur le document ({document}) ne correspond pas à celui de votre "
        "dossier ({record}).",
        "Nom et prénom conformes au dossier.",
        "Le nom figurant sur le document n’a pas pu être lu ou comparé avec certitude : "
        "un gestionnaire va le vérifier.",
    )
    JDC_MISSING = (
        "jdc.missing",
        "L’attestation de Journée Défense et Citoyenneté (JDC, ex JAPD) est obligatoire "
        "pour les moins de 25 ans : le document déposé n’en est pas une.",
        "Attestation de Journée Défense et Citoyenneté reconnue.",
        "Le document n’a pas pu être reconnu comme une attestation JDC (ex JAPD) : un "
        "gestionnaire va le vérifier.",
    )
    JDC_NAME = (
        "jdc.name",
        "Le nom figurant sur l’attestation JDC ne correspond pas à celui de votre dossier "
        "({record}).",
        "Nom et prénom conformes au dossier.",
        "Le nom figurant sur l’attestation JDC n’a pas pu être lu avec certitude : un "
        "gestionnaire va le vérifier.",
    )
    JDC_NOT_REQUIRED = (
        "jdc.not_required",
        "L’attestation JDC n’est demandée qu’aux moins de 25 ans ({age} ans le jour de "
        "l’inscription).",
    )
    DIPLOMA_WRONG = (
        "diploma.wrong_document",
        "Déposez une attestation de réussite du diplôme ou le diplôme donnant accès à "
        "votre formation.",
        "Diplôme ou attestation de réussite reconnu.",
        "Le document n’a pas pu être reconnu comme un diplôme ou une attestation de "
        "réussite : un gestionnaire va le vérifier.",
    )
    DIPLOMA_NAME = (
        "diploma.name",
        "Le nom figurant sur le diplôme ne correspond pas à celui de votre dossier ({record}).",
        "Nom et prénom conformes au dossier.",
        "Le nom figurant sur le diplôme n’a pas pu être lu avec certitude : un "
        "gestionnaire va le vérifier.",
    )
    CONSENT_FORM = (
        "consent.form",
        "Vous êtes mineur le jour de votre inscription : l’autorisation parentale est "
        "obligatoire. Utilisez le formulaire « Autorisation d’inscription - Étudiant "
        "mineur ».",
        "Formulaire « Autorisation d’inscription - Étudiant mineur » reconnu.",
        "Le document n’a pas pu être reconnu comme le formulaire « Autorisation "
        "d’inscription - Étudiant mineur » : un gestionnaire va le vérifier.",
    )
    CONSENT_UNSIGNED = (
        "consent.unsigned",
        "L’autorisation parentale doit être complétée et signée.",
        "",
        "La signature de l’autorisation parentale est vérifiée par un gestionnaire.",
    )
    CONSENT_NOT_REQUIRED = (
        "consent.not_required",
        "Vous êtes majeur le jour de votre inscription ({age} ans) : l’autorisation "
        "parentale n’est pas demandée.",
    )
    CONSENT_NAME = (
        "consent.name",
        "Le nom de l’étudiant sur l’autorisation parentale ne correspond pas à celui de "
        "votre dossier ({record}).",
        "Nom de l’étudiant conforme au dossier.",
        "Le nom de l’étudiant sur l’autorisation n’a pas pu être lu avec certitude : un "
        "gestionnaire va le vérifier.",
    )
    CONTRACT_MISSING = (
        "contract.missing",
        "Déposez votre contrat d’apprentissage ou de professionnalisation.",
        "Contrat d’apprentissage ou de professionnalisation reconnu.",
        "Le document n’a pas pu être reconnu comme un contrat d’apprentissage ou de "
        "professionnalisation : un gestionnaire va le vérifier.",
    )
    CONTRACT_UNSIGNED = (
        "contract.unsigned",
        "Le contrat déposé doit être signé par toutes les parties.",
        "",
        "Les signatures du contrat sont vérifiées par un gestionnaire.",
    )
    CONTRACT_NAME = (
        "contract.name",
        "Le nom de l’apprenti sur le contrat ne correspond pas à celui de votre dossier "
        "({record}).",
        "Nom de l’apprenti conforme au dossier.",
        "Le nom de l’apprenti sur le contrat n’a pas pu être lu avec certitude : un "
        "gestionnaire va le vérifier.",
    )


# -- reading -------------------------------------------------------------------------------

INE_FIELD = FieldSpec(
    "ine",
    (
        "Numéro INE",
        "N° INE",
        "INE",
        "Identifiant national étudiant",
        "Identifiant national élève",
        "Identifiant national",
        "NNE",
        "INES",
    ),
    re.compile(
        r"(?<![0-9A-Z])([0-9A-Z](?:[ .\-]?[0-9A-Z]){10})(?![0-9A-Z])|([0-9A-Z]{6,})",
        re.IGNORECASE,
    ),
)
BIRTH_FIELD = FieldSpec(
    "birth_date",
    ("Né(e) le", "Née le", "Né le", "Date de naissance", "Naissance"),
    re.compile(r"(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4})"),
    code=False,
    next_row=False,
)
LAST_NAME_LABELS = ("Nom de famille", "Nom de naissance", "Nom d’usage", "Nom")
FIRST_NAME_LABELS = ("Prénom(s)", "Prénoms", "Prénom")
_CIVILITY = {"M", "MME", "MLLE", "MONSIEUR", "MADAME", "MADEMOISELLE"}
_ANY = re.compile(r"(\S.*)")


def read_text(
    doc: Document,
    ctx: Context,
    *,
    labels: Sequence[str] = (),
    max_pages: int = 2,
) -> DocumentText:
    """The document's text: text layer, else OCR through ``ctx.ocr``."""
    return ocr_fields.read_document(doc, ctx.ocr, labels=labels, max_pages=max_pages)


def source_of(text: DocumentText) -> Source:
    return Source.TEXT_LAYER if text.source == ocr_fields.TEXT_LAYER else Source.OCR


def unreadable(text: DocumentText, ctx: Context) -> Finding | None:
    """An inconclusive finding when nothing usable was read, else None."""
    if text.timed_out and len(fold(text.text)) < 40:
        return inconclusive(DocCode.UNREADABLE, reason="lecture trop longue, interrompue")
    if text.source == ocr_fields.NONE or len(fold(text.text)) < 40:
        reason = "aucun moteur de lecture" if ctx.ocr is None else "pas de texte reconnu"
        return inconclusive(DocCode.UNREADABLE, reason=reason)
    return None


def contains_any(text: str, phrases: Iterable[str]) -> bool:
    """Is one of ``phrases`` in ``text`` (folded: accents, case, punctuation ignored)?"""
    folded = f" {fold(text)} "
    return any(f" {fold(p)} " in folded for p in phrases)


def _hits(text: DocumentText, spec: FieldSpec) -> list[ocr_fields.FieldHit]:
    return ocr_fields.find(text, spec)


def _clean_name(value: str) -> str:
    value = re.split(r"\s{2,}|\s:\s|\b(?:Né|Née|Date|Prénom|Nom)\b", value)[0]
    return value.strip(" :;,.-")


@dataclass(frozen=True)
class PersonOnDocument:
    last_name: str | None
    first_name: str | None
    full: str  # the row or rows the names were read from


def person_on(text: DocumentText) -> PersonOnDocument | None:
    """Surname and first names printed on the document: labelled rows ("Nom :",
    "Prénom(s) :"), else a civility row ("M. DUPONT Jean": upper-case words are the
    surname)."""
    last = _first_value(text, LAST_NAME_LABELS)
    first = _first_value(text, FIRST_NAME_LABELS)
    if last:
        return PersonOnDocument(last, first, f"{last} {first or ''}".strip())
    for row in text.rows:
        tokens = list(row.tokens)
        if not tokens or fold(tokens[0]) not in _CIVILITY:
            continue
        rest = tokens[1:]
        upper = []
        while rest and _is_upper(rest[0]):
            upper.append(rest.pop(0))
        if upper and rest:
            return PersonOnDocument(" ".join(upper), " ".join(rest), " ".join(tokens[1:]))
        if upper:
            return PersonOnDocument(None, None, " ".join(upper))
    return None


def _is_upper(token: str) -> bool:
    letters = [c for c in token if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters)


def _first_value(text: DocumentText, labels: Sequence[str]) -> str | None:
    spec = FieldSpec("name", tuple(labels), _ANY, code=False, next_row=False, start_only=True)
    for hit in _hits(text, spec):
        value = _clean_name(hit.value)
        if value and any(c.isalpha() for c in value):
            return value
    return None


def birth_date_on(text: DocumentText) -> dt.date | None:
    for hit in _hits(text, BIRTH_FIELD):
        m = BIRTH_FIELD.pattern.search(hit.tail)
        if m is None:
            continue
        try:
            return dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        except ValueError:
            continue
    return None


def code_readings(
    text: DocumentText, ctx: Context, specs: Sequence[FieldSpec], *, always_reread: bool = False
) -> dict[str, list[Reading]]:
    """Every reading of each code field: the text after its label (text layer or page
    OCR), with what the glyph shapes on the field's crop say of its characters; a
    field whose page reading is not settled (key, glyph count, confusable characters)
    is read again on its crop (one engine call for all such fields)."""
    source = source_of(text)
    hits = {spec.name: ocr_fields.find(text, spec)[:1] for spec in specs}
    out: dict[str, list[Reading]] = {
        name: [Reading(h.value, source, "page") for h in found] for name, found in hits.items()
    }
    if source.exact:
        return out
    expected = ctx.student.ine if ctx.student and ctx.student.ine else None
    crops = {name: ocr_fields.hit_crop(text, found[0]) for name, found in hits.items() if found}
    for name, crop in crops.items():
        out[name] = [_with_shape(r, name, crop) for r in out[name]]
    pending = [
        (name, crop)
        for name, crop in crops.items()
        if crop is not None and (always_reread or not _settled(name, out[name], expected))
    ]
    specs_by_name = {spec.name: spec for spec in specs}
    for name, again in ocr_fields.read_crops(pending, ctx.ocr).items():
        if again.text:
            reading = Reading(_code_part(again.text, specs_by_name[name]), Source.OCR, "field")
            out[name].append(_with_shape(reading, name, again.crop))
    return out


def _settled(name: str, readings: Sequence[Reading], expected: str | None = None) -> bool:
    """Would a second reading add nothing? True for an INE whose page reading is proven
    by its key, and for a CVEC number whose page reading fits the pattern and matches
    the glyphs one to one. (What only the glyph shapes can confirm, a second reading
    cannot: the crop is the same.)"""
    from validators.identifiers import CVEC_PATTERN, check_ine, ocr_code, split_cvec_reading

    if not readings:
        return False
    first = readings[0]
    if name == "ine":
        code = first.corrected(normalize_ine(ocr_code(first.text)))
        check = check_ine(code, Source.OCR, expected=expected)
        if not (check.valid and check.result is Result.PASS):
            return False
        if check.family is not None and not check.family.verifiable:
            # no key: only a second reading (or the record) can back it
            return bool(expected) and check.value == normalize_ine(expected)
        return True
    body = first.corrected(split_cvec_reading(ocr_code(first.text)).normalized)
    return (
        bool(CVEC_PATTERN.match(body)) and first.shape is not None and len(first.shape) == len(body)
    )


def _code_part(text: str, spec: FieldSpec) -> str:
    """The code inside a re-read crop (the crop may catch a stray mark)."""
    from validators.identifiers import ocr_code

    m = spec.pattern.search(ocr_code(text))
    if m is None:
        return text
    return next((g for g in m.groups() if g), None) or m.group(0)


def _normalised_code(name: str, text: str) -> str:
    from validators.identifiers import ocr_code, split_cvec_reading

    if name == "ine":
        return normalize_ine(ocr_code(text))
    return split_cvec_reading(ocr_code(text)).normalized


def _with_shape(reading: Reading, name: str, crop: object) -> Reading:
    code = _normalised_code(name, reading.text)
    shape = ocr_fields.arbitrate(crop, code) if crop is not None else None
    return replace(reading, shape=tuple(shape) if shape is not None else None)


def ine_check(readings: Sequence[Reading], ctx: Context) -> IneCheck | None:
    expected = ctx.student.ine if ctx.student and ctx.student.ine else None
    return decide_ine(readings, expected=expected)


def ine_against_record(
    check: IneCheck, ctx: Context, fields: dict, mismatch: ReasonCode
) -> tuple[list[Finding], str | None]:
    """The INE read on a document, then the part every document shares when comparing it
    with the record: the reading's finding, ``fields["ine"]`` (the best reading, even when
    not proven: the findings say how sure it is), and the record's INE normalised — or
    ``None`` when there is nothing left to compare (no record, or a doubtful reading: then
    ``mismatch`` is inconclusive)."""
    out = [check.finding()]
    if check.value or check.best:
        fields["ine"] = check.value or check.best
    recorded = ctx.student.ine if ctx.student and ctx.student.ine else None
    if not recorded:
        return out, None
    typed = normalize_ine(recorded)
    if check.value is None or check.result is Result.INCONCLUSIVE:
        out.append(inconclusive(mismatch, read=check.input, expected=typed))
        return out, None
    return out, typed


def names_finding(
    text: DocumentText,
    ctx: Context,
    code: ReasonCode,
    *,
    exact: bool,
) -> Finding | None:
    """Is the student's name on the document? Surname required; first name checked
    when present in the record. Text layer: a missing name is an error; OCR: it is
    inconclusive (the reading may be wrong)."""
    student = ctx.student
    if student is None or not student.last_name:
        return None
    record = f"{student.last_name} {student.first_name}".strip()
    body = text.text
    last_ok = name_in_text(student.last_name, body)
    first_ok = not student.first_name or name_in_text(student.first_name, body)
    if last_ok and first_ok:
        return passed(code, record=record)
    if exact:
        return finding(code, Level.ERROR, record=record, document="", last_found=last_ok)
    return inconclusive(code, record=record, last_found=last_ok, first_found=first_ok)


def person_finding(
    person: PersonOnDocument | None,
    text: DocumentText,
    ctx: Context,
    *,
    match_code: ReasonCode,
    inverted_code: ReasonCode | None,
    exact: bool,
) -> Finding | None:
    """Names read on the document against the record, with inverted order detected
    (``inverted_code``) when the document separates surname and first name."""
    student = ctx.student
    if student is None or not student.last_name:
        return None
    if person is None or not person.last_name:
        return names_finding(text, ctx, match_code, exact=exact)
    comparison = compare_person(
        person.last_name, person.first_name, student.last_name, student.first_name
    )
    detail = {"document": comparison.document, "record": comparison.record}
    if comparison.result is NameMatch.MATCH:
        return passed(match_code, **detail)
    if comparison.result is NameMatch.INVERTED and inverted_code is not None:
        # an OCR slip cannot produce both names swapped: an error either way
        return finding(inverted_code, Level.ERROR, **detail)
    if exact:
        return finding(match_code, Level.ERROR, **detail, comparison=str(comparison.result))
    return inconclusive(match_code, **detail, comparison=str(comparison.result))


def blocking(f: Finding) -> bool:
    return f.result is Result.FAIL and f.level is Level.ERROR


# -- generic "right document, right person" checker ------------------------------------------


@dataclass(frozen=True)
class DocumentRule:
    wrong_code: ReasonCode
    name_code: ReasonCode
    phrases: tuple[str, ...]  # any one of them recognises the document
    max_pages: int = 2


def _check_document(
    doc: Document, ctx: Context, rule: DocumentRule
) -> tuple[Verdict, DocumentText]:
    text = read_text(doc, ctx, labels=rule.phrases, max_pages=rule.max_pages)
    problem = unreadable(text, ctx)
    if problem is not None:
        return Verdict.of([problem]), text
    exact = source_of(text).exact
    findings: list[Finding] = []
    fields: dict[str, object] = {}
    if contains_any(text.text, rule.phrases):
        findings.append(passed(rule.wrong_code))
    elif exact:
        findings.append(finding(rule.wrong_code, Level.ERROR))
        return Verdict.of(findings), text
    else:
        findings.append(inconclusive(rule.wrong_code))
    person = person_on(text)
    if person is not None and person.last_name:
        fields["last_name"] = person.last_name
        if person.first_name:
            fields["first_name"] = person.first_name
    born = birth_date_on(text)
    if born is not None:
        fields["birth_date"] = born.isoformat()
    names = names_finding(text, ctx, rule.name_code, exact=exact)
    if names is not None:
        findings.append(names)
    return Verdict.of(findings, fields), text


JDC = DocumentRule(
    DocCode.JDC_MISSING,
    DocCode.JDC_NAME,
    (
        "Journée défense et citoyenneté",
        "Journée d’appel de préparation à la défense",
        "JAPD",
        "JDC",
        "certificat individuel de participation",
    ),
)
DIPLOMA = DocumentRule(
    DocCode.DIPLOMA_WRONG,
    DocCode.DIPLOMA_NAME,
    (
        "attestation de réussite",
        "diplôme",
        "baccalauréat",
        "licence",
        "master",
        "brevet de technicien supérieur",
        "diplôme universitaire de technologie",
        "bachelor universitaire de technologie",
        "DEUST",
        "relevé de notes",
    ),
)
CONSENT = DocumentRule(
    DocCode.CONSENT_FORM,
    DocCode.CONSENT_NAME,
    ("Autorisation d’inscription", "étudiant mineur", "autorisation parentale"),
)
CONTRACT = DocumentRule(
    DocCode.CONTRACT_MISSING,
    DocCode.CONTRACT_NAME,
    (
        "contrat d’apprentissage",
        "contrat de professionnalisation",
        "cerfa",
        "apprenti",
    ),
    max_pages=3,
)


def _age(ctx: Context) -> int | None:
    return ctx.student.age_on(ctx.registration_date) if ctx.student else None


def check_jdc(doc: Document, ctx: Context) -> Verdict:
    """Attestation de Journée Défense et Citoyenneté (or JAPD) naming the student."""
    verdict, _ = _check_document(doc, ctx, JDC)
    age = _age(ctx)
    if age is not None and age >= 25:
        extra = finding(DocCode.JDC_NOT_REQUIRED, Level.INFO, result=Result.SKIPPED, age=age)
        return Verdict.of((*verdict.findings, extra), verdict.fields)
    return verdict


def check_diploma(doc: Document, ctx: Context) -> Verdict:
    """An attestation de réussite or the diploma giving access, naming the student."""
    return _check_document(doc, ctx, DIPLOMA)[0]


def check_parental_consent(doc: Document, ctx: Context) -> Verdict:
    """The university's form « Autorisation d’inscription - Étudiant mineur »; its
    signature is always checked by a person."""
    verdict, _ = _check_document(doc, ctx, CONSENT)
    extra: list[Finding] = []
    if not any(blocking(f) for f in verdict.findings) and DocCode.UNREADABLE not in verdict.codes:
        extra.append(inconclusive(DocCode.CONSENT_UNSIGNED))
    age = _age(ctx)
    if age is not None and age >= 18:
        extra.append(
            finding(DocCode.CONSENT_NOT_REQUIRED, Level.INFO, result=Result.SKIPPED, age=age)
        )
    return Verdict.of((*verdict.findings, *extra), verdict.fields)


def check_apprenticeship_contract(doc: Document, ctx: Context) -> Verdict:
    """A contrat d’apprentissage or de professionnalisation naming the student; the
    parties' signatures are always checked by a person."""
    verdict, _ = _check_document(doc, ctx, CONTRACT)
    if any(blocking(f) for f in verdict.findings) or DocCode.UNREADABLE in verdict.codes:
        return verdict
    return Verdict.of((*verdict.findings, inconclusive(DocCode.CONTRACT_UNSIGNED)), verdict.fields)
