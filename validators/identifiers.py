"""INE and CVEC attestation numbers: formats, check keys, repair by position, and the
comparison with what the student typed (domain.md §3).

Pure functions, no I/O. The value's **source** matters:

- ``typed`` (the enrolment record) and ``text_layer`` (a born-digital PDF) are exact:
  a character that has to be changed means the value itself is wrong → an error that
  carries the corrected value as a suggestion (FAQ: « ne pas confondre un 0 et un O »);
- ``ocr`` may be a misreading: a repair is accepted only when a check key proves it,
  and anything the keys cannot settle is *inconclusive* (a person looks), never an
  error and never a silent pass.

The INE decision follows domain.md §3.4 rules (a)–(f) in order; every test vector of
§3.5 is a unit test. The CVEC number has no known checksum, so its repairs only ever
build a suggestion.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from validators.codes import ReasonCode
from validators.verdict import Finding, Level, Result

# -- reason codes ------------------------------------------------------------------

_CHECK_INE = (
    "Vérifiez votre INE sur votre relevé de notes du baccalauréat "
    "(ne pas confondre un 0 et un O, un 1 et un I)."
)


class IneCode(ReasonCode):
    """INE / NNE / INES (domain.md §3.1–3.5)."""

    VALID = (
        "ine.valid",
        "Le numéro INE « {value} » n’est pas valide. " + _CHECK_INE,
        "INE {ine} : clé de contrôle valide ({family_label}).",
    )
    FORMAT = (
        "ine.format",
        "Le numéro INE « {value} » n’a pas un format reconnu ({reason}). L’INE (ou NNE, "
        "INES) compte 11 caractères, par exemple 10 chiffres et une lettre. " + _CHECK_INE,
        "",
        "Le numéro INE lu sur le document (« {value} ») n’a pas un format reconnu : "
        "un gestionnaire va le vérifier.",
    )
    KEY = (
        "ine.key",
        "Le numéro INE « {value} » n’est pas valide : sa clé de contrôle ne correspond pas "
        "(clé attendue : {expected_key}). " + _CHECK_INE + "{probable_text}",
        "",
        "Le numéro INE lu sur le document (« {value} ») n’a pas pu être confirmé par sa clé "
        "de contrôle : un gestionnaire va le vérifier.{probable_text}",
    )
    TYPO = (
        "ine.typo",
        "{differences} Le numéro INE correct est probablement {suggestion}. " + _CHECK_INE,
    )
    REPAIRED = (
        "ine.repaired",
        "INE lu « {read} », corrigé en {ine}.",
        "INE lu « {read} », corrigé en {ine} : clé de contrôle valide.",
    )
    SWAPPED = (
        "ine.swapped",
        "INE lu « {read} » : seule la lecture {ine} a une clé de contrôle valide ; "
        "un gestionnaire confirme le numéro.",
    )
    AMBIGUOUS = (
        "ine.ambiguous",
        "Plusieurs numéros INE sont possibles ({alternatives}).",
        "",
        "Plusieurs lectures de l’INE ont une clé valide ({alternatives}) : "
        "un gestionnaire va vérifier le numéro.",
    )
    UNVERIFIED = (
        "ine.unverified",
        "L’INE lu « {read} » ne peut être corrigé sans clé de contrôle ({alternatives}).",
        "",
        "L’INE lu « {read} » ressemble à {alternatives}, mais aucune clé de contrôle ne "
        "permet de confirmer la correction : un gestionnaire va le vérifier.",
    )
    RNIE_KEY = (
        "ine.rnie_key",
        "INE {ine} (répertoire national) : sa clé ne suit pas la règle supposée, qui "
        "n’est pas officielle ; un gestionnaire vérifie le numéro.",
        "INE {ine} (répertoire national) : format valide.",
    )
    SIFA = (
        "ine.sifa",
        "INE {ine} d’apprenti (SIFA) : format valide, sans clé vérifiable.",
        "INE {ine} d’apprenti (SIFA) : format valide, sans clé vérifiable.",
    )
    PROVISIONAL = (
        "ine.provisional",
        "Votre INE comporte un D : c’est un numéro provisoire généré par le CROUS ou la "
        "CVEC. Indiquez l’INE qui figure sur votre relevé de notes du baccalauréat.",
    )
    MISMATCH = (
        "ine.mismatch",
        "L’INE de votre relevé de notes ne correspond pas à celui de votre dossier. "
        "Vérifiez votre INE (ne pas confondre un 0 et un O).{differences}",
        "INE du document identique à celui du dossier ({ine}).",
        "L’INE du document n’a pas pu être comparé avec certitude à celui de votre "
        "dossier : un gestionnaire va le vérifier.",
    )
    MISSING = (
        "ine.missing",
        "Aucun numéro INE n’a été trouvé sur le document.",
        "",
        "Le numéro INE n’a pas été trouvé ou lu sur le document : un gestionnaire va le vérifier.",
    )


CVEC_CONTACT = (
    "Si le problème persiste, écrivez au service des inscriptions en précisant nom, "
    "prénom, date de naissance, numéro de dossier de candidature ou numéro étudiant, "
    "et joignez votre attestation CVEC."
)


class CvecCode(ReasonCode):
    """The CVEC attestation (domain.md §3.6 and the FAQ's checklist)."""

    NUMBER = (
        "cvec.number",
        "Le numéro d’attestation CVEC saisi ne correspond pas à votre attestation : "
        "attention à ne pas confondre un 1 avec un I ou un 0 avec un O.{differences}",
        "Numéro d’attestation CVEC {cvec_number} identique à celui du dossier.",
        "Le numéro d’attestation CVEC n’a pas pu être lu ou confirmé avec certitude "
        "({read}) : un gestionnaire va le vérifier.",
    )
    NUMBER_FORMAT = (
        "cvec.number_format",
        "Le numéro d’attestation CVEC « {value} » n’a pas la forme attendue (par exemple "
        "AMI4 ABCDEF 12).{suggestion_text} Recopiez-le depuis votre attestation : attention "
        "à ne pas confondre un 1 avec un I ou un 0 avec un O.",
        "Numéro d’attestation CVEC {cvec_number} : forme attendue.",
        "Le numéro d’attestation CVEC lu (« {value} ») n’a pas la forme attendue : un "
        "gestionnaire va le vérifier.",
    )
    SUFFIX = (
        "cvec.suffix",
        "Le suffixe « / {suffix} » du numéro d’attestation ne correspond pas au début du "
        "nom de famille ({expected}) : vérifiez votre nom sur l’attestation CVEC.",
        "Suffixe « / {suffix} » conforme au nom de famille.",
    )
    YEAR = (
        "cvec.year",
        "Votre attestation CVEC doit être celle de l’année universitaire en cours "
        "({expected}) : la CVEC est valable pour une seule année universitaire "
        "(attestation déposée : {read}).",
        "Attestation CVEC de l’année universitaire {academic_year}.",
        "L’année universitaire de l’attestation CVEC n’a pas pu être lue : un "
        "gestionnaire va la vérifier.",
    )
    INVERTED_NAME = (
        "cvec.inverted_name",
        "Votre état civil ne correspond pas : vous avez peut-être inversé votre nom et "
        "prénom lors de votre inscription sur le site de la CVEC (attestation : {document}, "
        "dossier : {record}). " + CVEC_CONTACT,
    )
    NAME = (
        "cvec.name",
        "Le nom figurant sur l’attestation CVEC ({document}) ne correspond pas à celui de "
        "votre dossier ({record}). " + CVEC_CONTACT,
        "Nom et prénom de l’attestation conformes au dossier.",
        "Le nom figurant sur l’attestation CVEC n’a pas pu être lu ou comparé avec "
        "certitude : un gestionnaire va le vérifier.",
    )
    BIRTH_DATE = (
        "cvec.birth_date",
        "La date de naissance de l’attestation CVEC ({read}) ne correspond pas à celle de "
        "votre dossier ({expected}). " + CVEC_CONTACT,
        "Date de naissance conforme au dossier.",
        "La date de naissance de l’attestation n’a pas pu être lue ou comparée avec "
        "certitude : un gestionnaire va la vérifier.",
    )
    INE = (
        "cvec.ine",
        "Le numéro INE/NNE de votre attestation CVEC ({read}) ne correspond pas à celui de "
        "votre dossier ({expected}).{differences} " + CVEC_CONTACT,
        "INE de l’attestation identique à celui du dossier ({ine}).",
        "L’INE de l’attestation CVEC n’a pas pu être comparé avec certitude à celui de "
        "votre dossier : un gestionnaire va le vérifier.",
    )
    INE_PROVISIONAL = (
        "cvec.ine_provisional",
        "L’attestation CVEC porte un INE provisoire ({read}) alors que le dossier a un INE "
        "définitif ({expected}) : à rapprocher par l’administration.",
    )
    BASIS = (
        "cvec.basis",
        "Nature de l’attestation CVEC : {basis_label}.",
        "Nature de l’attestation CVEC : {basis_label}.",
        "La nature de l’attestation (paiement ou exonération) n’a pas pu être lue.",
    )
    WRONG_DOCUMENT = (
        "cvec.wrong_document",
        "Le document déposé n’est pas une attestation d’acquittement de la CVEC. "
        "Téléchargez votre attestation sur le site de la CVEC (cvec.etudiant.gouv.fr) et "
        "déposez-la.",
        "Attestation d’acquittement de la CVEC reconnue.",
        "Le document n’a pas pu être lu assez bien pour reconnaître une attestation CVEC : "
        "un gestionnaire va le vérifier.",
    )


# -- sources and small helpers -----------------------------------------------------------


class Source(StrEnum):
    """Where a value comes from: exact (typed, PDF text layer) or a reading (OCR)."""

    TYPED = "typed"
    TEXT_LAYER = "text_layer"
    OCR = "ocr"

    @property
    def exact(self) -> bool:
        return self is not Source.OCR


class _Missing(dict):
    def __missing__(self, key: str) -> str:
        return "?"


def render(template: str, detail: Mapping[str, Any]) -> str:
    """``template`` filled from ``detail`` ("?" for a missing key), spaces tidied."""
    text = string.Formatter().vformat(template, (), _Missing(detail))
    return re.sub(r"\s{2,}", " ", text).strip()


@dataclass(frozen=True, slots=True)
class Repair:
    """One changed character: 1-based ``position``, what was ``read``, what is ``meant``."""

    position: int
    read: str
    meant: str

    def to_dict(self) -> dict[str, Any]:
        return {"position": self.position, "read": self.read, "meant": self.meant}


def _char_label(c: str) -> str:
    if c.isdigit():
        return f"le chiffre {c}"
    if c.isalpha():
        return f"la lettre {c}"
    return f"le caractère « {c} »"


def _char_label_de(c: str) -> str:
    label = _char_label(c)
    return "du " + label[3:] if label.startswith("le ") else "de " + label


# Characters typing and OCR confuse (domain.md §3.4); both directions.
CONFUSABLE_PAIRS: frozenset[frozenset[str]] = frozenset(
    frozenset(p) for p in ("0O", "1I", "8B", "5S", "2Z", "6G", "0D", "0Q", "1L")
)


def confusable(a: str, b: str) -> bool:
    return frozenset((a, b)) in CONFUSABLE_PAIRS


def differences(given: str, reference: str) -> list[Repair] | None:
    """Position by position, where ``given`` differs from ``reference`` (same length);
    None when the lengths differ."""
    if len(given) != len(reference):
        return None
    return [
        Repair(i, g, r) for i, (g, r) in enumerate(zip(given, reference, strict=True), 1) if g != r
    ]


def describe(changes: Iterable[Repair], *, typed: bool = True) -> str:
    """French sentences for the changes, one per kind of confusion: « Vous avez saisi la
    lettre O à la place du chiffre 0 (position 4). » (``typed``), « Le document porte … »
    otherwise; several positions are listed together."""
    groups: dict[tuple[str, str], list[int]] = {}
    for change in changes:
        groups.setdefault((change.read, change.meant), []).append(change.position)
    subject = "Vous avez saisi" if typed else "Le document porte"
    sentences = []
    for (read, meant), positions in groups.items():
        if len(positions) == 1:
            where = f"position {positions[0]}"
        else:
            where = "positions " + ", ".join(map(str, positions[:-1])) + f" et {positions[-1]}"
        sentences.append(
            f"{subject} {_char_label(read)} à la place {_char_label_de(meant)} ({where})."
        )
    return " ".join(sentences)


# spaces, dots, underscores and the dashes (U+2010–U+2014)
_SEPARATORS = re.compile("[\\s._\\-\u2010-\u2014]+")


def normalize_ine(value: str) -> str:
    """Upper case without spaces, dots and dashes (domain.md §3.1)."""
    return _SEPARATORS.sub("", value or "").upper()


# -- INE families and keys ---------------------------------------------------------------

BEA_ALPHABET = "ABCDEFGHJKLMNPRSTUVWXYZ"  # 23 letters: no I, O, Q
RNIE_LETTERS = "ABCDEFGHJK"  # one per decimal digit, I skipped (hypothesis)


class IneFamily(StrEnum):
    BEA = "bea"
    BASE36 = "base36"
    RNIE = "rnie"
    SIFA = "sifa"
    PROVISIONAL = "provisoire"

    @property
    def label(self) -> str:
        return {
            IneFamily.BEA: "INE-BEA, relevé du baccalauréat",
            IneFamily.BASE36: "INE-Base 36 / NNE, attribué par une université",
            IneFamily.RNIE: "INE-RNIE / INES, répertoire national",
            IneFamily.SIFA: "INE-SIFA, apprenti",
            IneFamily.PROVISIONAL: "INE provisoire, CROUS / CVEC",
        }[self]

    @property
    def verifiable(self) -> bool:
        return self in (IneFamily.BEA, IneFamily.BASE36)


# slot classes per position: d digit, L BEA letter, R RNIE letter, x base-36 character,
# A / D the literal letter of SIFA / provisoire at position 5
_LAYOUT: dict[IneFamily, str] = {
    IneFamily.BEA: "ddddddddddL",
    IneFamily.BASE36: "xxxxxxxxxxd",
    IneFamily.RNIE: "dddddddddRR",
    IneFamily.SIFA: "ddddAdddddL",
    IneFamily.PROVISIONAL: "ddddDdddddL",
}
_TO_DIGIT = {
    "O": "0",
    "Q": "0",
    "D": "0",
    "I": "1",
    "L": "1",
    "Z": "2",
    "S": "5",
    "G": "6",
    "B": "8",
}
_TO_LETTER = {"0": "D", "8": "B", "5": "S", "2": "Z", "6": "G", "4": "A"}


def bea_key(digits: str) -> str:
    """The BEA key letter of 10 digits: ``ALPHABET[int(digits) % 23]``."""
    return BEA_ALPHABET[int(digits) % 23]


def _b36(c: str) -> int:
    return int(c, 36)


def base36_key(body: str) -> str:
    """The Base-36 key digit: ``(6 × (v1 + … + v9) + v10) mod 10``."""
    return str((6 * sum(_b36(c) for c in body[:9]) + _b36(body[9])) % 10)


def rnie_key(digits: str) -> str:
    """The RNIE key **hypothesis** (unconfirmed): ``k = 97 − int(digits) % 97``, one
    letter of ABCDEFGHJK for its tens and one for its units."""
    k = 97 - int(digits) % 97
    return RNIE_LETTERS[k // 10] + RNIE_LETTERS[k % 10]


def _fit(c: str, slot: str) -> str | None:
    """The character ``c`` in ``slot`` (itself, its forced repair) or None if impossible."""
    if slot == "d":
        return c if c.isdigit() else _TO_DIGIT.get(c)
    if slot == "x":
        return c if c.isalnum() and c.isascii() else None
    if slot in ("A", "D"):
        if c == slot:
            return c
        return slot if {"A": "4", "D": "0"}[slot] == c else None
    alphabet = BEA_ALPHABET if slot == "L" else RNIE_LETTERS
    if c in alphabet:
        return c
    meant = _TO_LETTER.get(c)
    return meant if meant is not None and meant in alphabet else None


class KeyStatus(StrEnum):
    VERIFIED = "verified"
    FAILED = "failed"
    UNVERIFIABLE = "unverifiable"
    REFUSED = "refused"  # ten identical digits, ten letters


@dataclass(frozen=True, slots=True)
class Candidate:
    family: IneFamily
    value: str
    repairs: tuple[Repair, ...]
    status: KeyStatus
    expected_key: str | None = None

    @property
    def repaired(self) -> bool:
        return bool(self.repairs)


def key_status(family: IneFamily, value: str) -> tuple[KeyStatus, str | None]:
    """Verify an 11-character value already in ``family``'s layout."""
    if family is IneFamily.BEA:
        digits = value[:10]
        if len(set(digits)) == 1:
            return KeyStatus.REFUSED, None
        key = bea_key(digits)
        return (KeyStatus.VERIFIED if key == value[10] else KeyStatus.FAILED), key
    if family is IneFamily.BASE36:
        body = value[:10]
        if (body.isdigit() and len(set(body)) == 1) or body.isalpha():
            return KeyStatus.REFUSED, None
        key = base36_key(body)
        return (KeyStatus.VERIFIED if key == value[10] else KeyStatus.FAILED), key
    return KeyStatus.UNVERIFIABLE, None


def candidate(family: IneFamily, value: str) -> Candidate | None:
    """``value`` (normalised, 11 characters) forced into ``family``'s layout, or None."""
    if len(value) != 11:
        return None
    out: list[str] = []
    repairs: list[Repair] = []
    for i, (c, slot) in enumerate(zip(value, _LAYOUT[family], strict=True), 1):
        fitted = _fit(c, slot)
        if fitted is None:
            return None
        if fitted != c:
            repairs.append(Repair(i, c, fitted))
        out.append(fitted)
    fixed = "".join(out)
    status, key = key_status(family, fixed)
    return Candidate(family, fixed, tuple(repairs), status, key)


def family_of(value: str) -> IneFamily | None:
    """The family whose layout ``value`` fits as it is (no repair), key not checked."""
    norm = normalize_ine(value)
    for family in IneFamily:
        c = candidate(family, norm)
        if c is not None and not c.repaired:
            return family
    return None


def is_valid_ine(value: str) -> bool:
    """Fits a family as it is and its key, when it has one, verifies."""
    check = check_ine(value, Source.TYPED)
    return check.valid and not check.repairs


# Pairs of characters the Base-36 key cannot tell apart at a position: the weight 6
# sees only v mod 5 at positions 1–9, the weight 1 sees v mod 10 at position 10.
def base36_invisible(a: str, b: str, position: int) -> bool:
    if a == b or not (a.isalnum() and b.isalnum()):
        return False
    diff = abs(_b36(a) - _b36(b))
    return diff % (5 if position <= 9 else 10) == 0


def _swaps(value: str) -> list[tuple[str, Repair]]:
    """Every single 0↔O or 1↔I swap in the Base-36 body (positions 1–10)."""
    pairs = {"0": "O", "O": "0", "1": "I", "I": "1"}
    out = []
    for i, c in enumerate(value[:10]):
        if c in pairs:
            out.append((value[:i] + pairs[c] + value[i + 1 :], Repair(i + 1, c, pairs[c])))
    return out


# -- the INE decision ----------------------------------------------------------------------


@dataclass(frozen=True)
class IneCheck:
    """What an INE value is, per domain.md §3.4. ``value`` is the identifier retained
    (repaired when a key proved the repair), ``valid`` says it may be used as it is."""

    input: str
    source: Source
    normalized: str
    code: IneCode
    level: Level
    result: Result
    valid: bool = False
    value: str | None = None
    family: IneFamily | None = None
    repairs: tuple[Repair, ...] = ()
    alternatives: tuple[str, ...] = ()
    expected_key: str | None = None
    notes: tuple[str, ...] = ()
    detail: Mapping[str, Any] = field(default_factory=dict)
    message: str = ""
    best: str | None = None  # the likeliest value when it is not proven (shown, not used)

    @property
    def unsure(self) -> bool:
        return self.result is Result.INCONCLUSIVE

    def finding(self) -> Finding:
        return Finding(
            code=self.code,
            level=self.level,
            message=self.message,
            detail={
                "read": self.input,
                "source": str(self.source),
                "ine": self.value,
                **({"best": self.best} if self.best else {}),
                "family": str(self.family) if self.family else None,
                "repaired_from": [r.to_dict() for r in self.repairs],
                "alternatives": list(self.alternatives),
                **({"expected_key": self.expected_key} if self.expected_key else {}),
                **dict(self.detail),
            },
            result=self.result,
        )

    def to_json(self) -> dict[str, Any]:
        """The CLI's object: input, valid, family, normalized, repaired_from, code, level,
        message (plus result and alternatives)."""
        return {
            "input": self.input,
            "valid": self.valid,
            "family": str(self.family) if self.family else None,
            "normalized": self.value if self.value else self.normalized,
            "repaired_from": [r.to_dict() for r in self.repairs],
            "code": str(self.code),
            "level": str(self.level),
            "result": str(self.result),
            "message": self.message,
            "alternatives": list(self.alternatives),
        }


def _make(
    raw: str,
    source: Source,
    norm: str,
    code: IneCode,
    level: Level,
    result: Result,
    *,
    template: str | None = None,
    **kw: Any,
) -> IneCheck:
    family = kw.get("family")
    detail = {
        "value": raw.strip(),
        "read": raw.strip(),
        "ine": kw.get("value"),
        "family_label": family.label if family else "",
        "alternatives": ", ".join(kw.get("alternatives", ())),
        "expected_key": kw.get("expected_key") or "",
        **kw.pop("extra", {}),
    }
    if template is None:
        if result is Result.PASS:
            template = code.ok_message
        elif result is Result.INCONCLUSIVE:
            template = code.inconclusive_message
        else:
            template = code.message
    message = render(template, detail)
    extra_detail = {k: v for k, v in detail.items() if k in ("reason", "suggestion")}
    return IneCheck(
        input=raw,
        source=source,
        normalized=norm,
        code=code,
        level=level,
        result=result,
        message=message,
        detail=extra_detail,
        **kw,
    )


def _typo(
    raw: str, source: Source, norm: str, chosen: Candidate | str, alternatives=()
) -> IneCheck:
    """An exact value (typed, text layer) that needs a repair: an error with the
    repaired value as a suggestion (domain.md §3.4 rule 5)."""
    value = chosen.value if isinstance(chosen, Candidate) else chosen
    repairs = tuple(differences(norm, value) or ())
    changes = "" if alternatives else describe(repairs, typed=source is Source.TYPED)
    suggestion = " ou ".join(alternatives) if alternatives else value
    return _make(
        raw,
        source,
        norm,
        IneCode.TYPO,
        Level.ERROR,
        Result.FAIL,
        alternatives=tuple(alternatives),
        repairs=repairs,
        family=chosen.family if isinstance(chosen, Candidate) else None,
        extra={"differences": changes, "suggestion": suggestion},
    )


def _repaired(raw: str, source: Source, norm: str, chosen: Candidate) -> IneCheck:
    """A repair proven by the key (or confirmed by the record): accepted from a reading,
    an error with the repaired value as a suggestion when the value was exact."""
    if source.exact:
        return _typo(raw, source, norm, chosen)
    return _make(
        raw,
        source,
        norm,
        IneCode.REPAIRED,
        Level.INFO,
        Result.PASS,
        valid=True,
        value=chosen.value,
        family=chosen.family,
        repairs=chosen.repairs,
    )


def check_ine(
    value: str, source: Source | str = Source.TYPED, *, expected: str | None = None
) -> IneCheck:
    """Decide what ``value`` is (domain.md §3.4, rules a–f, first that applies).

    ``expected`` is an independent value (the INE typed in the enrolment record): an
    unverifiable repair equal to it is accepted (rule e).
    """
    source = Source(source)
    raw = value or ""
    norm = normalize_ine(raw)
    if len(norm) != 11 or not (norm.isalnum() and norm.isascii()):
        reason = (
            f"{len(norm)} caractères au lieu de 11"
            if len(norm) != 11
            else "caractères autres que lettres et chiffres"
        )
        return _make(
            raw, source, norm, IneCode.FORMAT, Level.ERROR, Result.FAIL, extra={"reason": reason}
        )

    cands = [c for f in IneFamily if (c := candidate(f, norm)) is not None]
    unrepaired = [c for c in cands if not c.repaired]
    verified = [c for c in cands if c.status is KeyStatus.VERIFIED]

    # (a) an unrepaired candidate verifies
    for c in unrepaired:
        if c.status is KeyStatus.VERIFIED:
            return _make(
                raw,
                source,
                norm,
                IneCode.VALID,
                Level.INFO,
                Result.PASS,
                valid=True,
                value=c.value,
                family=c.family,
            )

    # (b) an unrepaired unverifiable candidate: that family, on format
    for c in unrepaired:
        if c.status is not KeyStatus.UNVERIFIABLE:
            continue
        rival = [v for v in verified if v.repaired]
        if source is Source.OCR and rival:
            return _make(
                raw,
                source,
                norm,
                IneCode.AMBIGUOUS,
                Level.WARNING,
                Result.INCONCLUSIVE,
                alternatives=(c.value, *(v.value for v in rival)),
            )
        return _on_format(raw, source, norm, c)

    # (c) repaired candidates that verify
    repaired_ok = [c for c in verified if c.repaired]
    if repaired_ok:
        if len(repaired_ok) == 1:
            return _repaired(raw, source, norm, repaired_ok[0])
        if source.exact:
            alternatives = [c.value for c in repaired_ok]
            return _typo(raw, source, norm, repaired_ok[0], alternatives=alternatives)
        return _make(
            raw,
            source,
            norm,
            IneCode.AMBIGUOUS,
            Level.WARNING,
            Result.INCONCLUSIVE,
            alternatives=tuple(c.value for c in repaired_ok),
        )

    # (d) a candidate whose key fails: one 0↔O / 1↔I swap in the Base-36 body
    failed = [c for c in cands if c.status is KeyStatus.FAILED]
    if failed:
        notes: list[str] = []
        base36 = next((c for c in cands if c.family is IneFamily.BASE36), None)
        swapped: list[tuple[str, Repair]] = []
        if base36 is not None:
            for new, change in _swaps(base36.value):
                if key_status(IneFamily.BASE36, new)[0] is KeyStatus.VERIFIED:
                    swapped.append((new, change))
        probable = _provisional_probable(norm, cands)
        if probable:
            notes.append(probable)
        if len(swapped) == 1:
            new, change = swapped[0]
            repairs = (*base36.repairs, change) if base36 else (change,)
            if source.exact:
                return _typo(
                    raw, source, norm, Candidate(IneFamily.BASE36, new, repairs, KeyStatus.VERIFIED)
                )
            return _make(
                raw,
                source,
                norm,
                IneCode.SWAPPED,
                Level.WARNING,
                Result.FAIL,
                valid=True,
                value=new,
                family=IneFamily.BASE36,
                repairs=tuple(sorted(repairs, key=lambda r: r.position)),
                notes=tuple(notes),
            )
        main = failed[0]
        result = Result.FAIL if source.exact else Result.INCONCLUSIVE
        level = Level.ERROR if source.exact else Level.WARNING
        return _make(
            raw,
            source,
            norm,
            IneCode.KEY,
            level,
            result,
            family=main.family,
            expected_key=main.expected_key,
            alternatives=tuple(new for new, _ in swapped),
            notes=tuple(notes),
            extra={
                "suggestion": probable or "",
                "probable_text": (
                    f" Le 5e caractère est un 0 : il s’agit probablement d’un INE provisoire "
                    f"({probable}) généré par le CROUS ou la CVEC."
                    if probable
                    else ""
                ),
            },
        )

    # (e) only repaired unverifiable candidates
    unverifiable = [c for c in cands if c.status is KeyStatus.UNVERIFIABLE]
    if unverifiable:
        wanted = normalize_ine(expected) if expected else None
        for c in unverifiable:
            if wanted and c.value == wanted:
                return _repaired(raw, source, norm, c)
        if source.exact:
            return _typo(
                raw,
                source,
                norm,
                unverifiable[0],
                alternatives=[c.value for c in unverifiable] if len(unverifiable) > 1 else (),
            )
        return _make(
            raw,
            source,
            norm,
            IneCode.UNVERIFIED,
            Level.WARNING,
            Result.INCONCLUSIVE,
            alternatives=tuple(c.value for c in unverifiable),
        )

    # (f) nothing
    reasons = []
    if any(c.status is KeyStatus.REFUSED and c.family is IneFamily.BASE36 for c in cands):
        body = norm[:10]
        reasons.append("dix lettres" if body.isalpha() else "dix chiffres identiques")
    elif any(c.status is KeyStatus.REFUSED for c in cands):
        reasons.append("dix chiffres identiques")
    else:
        reasons.append("aucune famille d’INE ne correspond")
    return _make(
        raw,
        source,
        norm,
        IneCode.FORMAT,
        Level.ERROR,
        Result.FAIL,
        extra={"reason": ", ".join(reasons)},
    )


def _provisional_probable(norm: str, cands: list[Candidate]) -> str | None:
    """Rule 4: position 5 reads 0, BEA fails, and D there gives the provisoire format."""
    if norm[4] != "0":
        return None
    bea = next((c for c in cands if c.family is IneFamily.BEA), None)
    if bea is None or bea.status is not KeyStatus.FAILED:
        return None
    prov = candidate(IneFamily.PROVISIONAL, norm)
    return prov.value if prov is not None else None


def _on_format(raw: str, source: Source, norm: str, c: Candidate) -> IneCheck:
    if c.family is IneFamily.RNIE:
        agrees = rnie_key(c.value[:9]) == c.value[9:]
        if agrees:
            return _make(
                raw,
                source,
                norm,
                IneCode.RNIE_KEY,
                Level.INFO,
                Result.PASS,
                valid=True,
                value=c.value,
                family=c.family,
                notes=("rnie_hypothesis_agrees",),
            )
        return _make(
            raw,
            source,
            norm,
            IneCode.RNIE_KEY,
            Level.WARNING,
            Result.FAIL,
            valid=True,
            value=c.value,
            family=c.family,
            notes=("rnie_hypothesis_disagrees",),
            expected_key=rnie_key(c.value[:9]),
        )
    if c.family is IneFamily.SIFA:
        return _make(
            raw,
            source,
            norm,
            IneCode.SIFA,
            Level.INFO,
            Result.PASS,
            valid=True,
            value=c.value,
            family=c.family,
        )
    return _make(
        raw,
        source,
        norm,
        IneCode.PROVISIONAL,
        Level.WARNING,
        Result.FAIL,
        valid=True,
        value=c.value,
        family=c.family,
        template=PROVISIONAL_ADMIN_MESSAGE,
        extra={"ine": c.value},
    )


# A provisoire INE when nothing says the student has a real one (foreign diploma, older
# bac): the administration creates the definitive INE; nothing is asked of the student.
PROVISIONAL_ADMIN_MESSAGE = (
    "INE provisoire {ine} (généré par le CROUS ou la CVEC) : l’administration crée "
    "l’INE définitif ; aucune démarche n’est demandée à l’étudiant."
)


def provisional_finding(ine: str, *, bac_after_1995: bool | None) -> Finding:
    """domain.md §3.3: an error when the dossier shows a French bac obtained after 1995
    (the real INE is on the transcript), a warning for the administration otherwise."""
    if bac_after_1995:
        return Finding(IneCode.PROVISIONAL, Level.ERROR, IneCode.PROVISIONAL.message, {"ine": ine})
    return Finding(
        IneCode.PROVISIONAL,
        Level.WARNING,
        render(PROVISIONAL_ADMIN_MESSAGE, {"ine": ine}),
        {"ine": ine},
    )


# -- comparison with what the student typed -----------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """A value typed in the record against the value on the document."""

    typed: str
    document: str
    equal: bool
    changes: tuple[Repair, ...] = ()  # position, read = typed, meant = document
    confusable_only: bool = False

    def sentence(self) -> str:
        return describe(self.changes, typed=True) if self.confusable_only else ""


def compare_values(typed: str, document: str) -> Comparison:
    """Position-wise comparison of two normalised values (``read`` is the typed
    character, ``meant`` the document's)."""
    diffs = differences(typed, document)
    if diffs is None:
        return Comparison(typed, document, False)
    if not diffs:
        return Comparison(typed, document, True)
    return Comparison(
        typed,
        document,
        False,
        tuple(diffs),
        confusable_only=all(confusable(d.read, d.meant) for d in diffs),
    )


def compare_ine(typed: str, document: str) -> Comparison:
    return compare_values(normalize_ine(typed), normalize_ine(document))


# -- CVEC attestation number --------------------------------------------------------------

CVEC_PATTERN = re.compile(r"^[A-Z]{3}[0-9][A-Z0-9]{6}[0-9]{1,2}$")
_CVEC_SEPARATORS = re.compile("[\\s.\\-\u2010-\u2014]+")
_PREFIX_TO_LETTER = {"0": "O", "1": "I", "5": "S", "8": "B", "2": "Z", "6": "G", "4": "A"}


@dataclass(frozen=True)
class CvecNumber:
    """A CVEC attestation number, parsed tolerantly (domain.md §3.6)."""

    input: str
    normalized: str  # no spaces, dashes or suffix
    suffix: str | None  # the `/ NOMXX` letters, A–Z only
    valid: bool  # fits the tolerant pattern
    suggestion: str | None = None  # slot-mapped repair when it fits (never verified)
    repairs: tuple[Repair, ...] = ()

    @property
    def display(self) -> str:
        n = self.normalized
        if not self.valid:
            return n
        return f"{n[:4]} {n[4:10]} {n[10:]}"


def _fold_letters(text: str) -> str:
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed.upper() if "A" <= c <= "Z")


def parse_cvec(value: str) -> CvecNumber:
    raw = value or ""
    body, slash, tail = raw.partition("/")
    suffix = _fold_letters(tail) if slash else None
    norm = _CVEC_SEPARATORS.sub("", body).upper()
    if CVEC_PATTERN.match(norm):
        return CvecNumber(raw, norm, suffix or None, True)
    suggestion, repairs = _cvec_slot_repair(norm)
    return CvecNumber(raw, norm, suffix or None, False, suggestion, repairs)


def _cvec_slot_repair(norm: str) -> tuple[str | None, tuple[Repair, ...]]:
    """Prefix letters ``0→O 1→I 5→S 8→B 2→Z 6→G``, digit slots the reverse; the middle
    block stays as read. A suggestion only: no checksum can confirm it."""
    if len(norm) not in (11, 12) or not (norm.isalnum() and norm.isascii()):
        return None, ()
    out = list(norm)
    repairs = []
    for i, c in enumerate(norm):
        if i < 3:
            want = c if c.isalpha() else _PREFIX_TO_LETTER.get(c)
        elif i == 3 or i >= 10:
            want = c if c.isdigit() else _TO_DIGIT.get(c)
        else:
            want = c
        if want is None:
            return None, ()
        if want != c:
            out[i] = want
            repairs.append(Repair(i + 1, c, want))
    fixed = "".join(out)
    return (fixed, tuple(repairs)) if CVEC_PATTERN.match(fixed) else (None, ())


def normalize_cvec(value: str) -> str:
    return parse_cvec(value).normalized


def suffix_matches(suffix: str, last_name: str) -> bool:
    """The `/ NOMXX` suffix against the surname: A–Z only, accents removed; the suffix
    is the first letters of the surname (2–6 seen)."""
    folded = _fold_letters(last_name)
    return bool(suffix) and bool(folded) and folded.startswith(suffix)


@dataclass(frozen=True)
class CvecCheck:
    input: str
    parsed: CvecNumber
    code: CvecCode
    level: Level
    result: Result
    valid: bool
    message: str
    repairs: tuple[Repair, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "input": self.input,
            "valid": self.valid,
            "family": "cvec",
            "normalized": self.parsed.normalized,
            "repaired_from": [r.to_dict() for r in self.repairs],
            "code": str(self.code),
            "level": str(self.level),
            "result": str(self.result),
            "message": self.message,
            "suffix": self.parsed.suffix,
            "suggestion": self.parsed.suggestion,
        }


def check_cvec(value: str, source: Source | str = Source.TYPED) -> CvecCheck:
    """Format check of a CVEC attestation number. The format is only partly confirmed
    (domain.md §3.6), so a mismatch is a warning (typed, text layer) or inconclusive
    (OCR), never an error; a slot repair is offered as a suggestion, never applied."""
    source = Source(source)
    parsed = parse_cvec(value)
    if parsed.valid:
        return CvecCheck(
            value,
            parsed,
            CvecCode.NUMBER_FORMAT,
            Level.INFO,
            Result.PASS,
            True,
            render(CvecCode.NUMBER_FORMAT.ok_message, {"cvec_number": parsed.normalized}),
        )
    suggestion_text = ""
    if parsed.suggestion:
        changes = describe(parsed.repairs, typed=source is Source.TYPED)
        suggestion_text = f" {changes} Numéro probable : {parsed.suggestion}."
    detail = {"value": parsed.normalized or value, "suggestion_text": suggestion_text}
    if source.exact:
        return CvecCheck(
            value,
            parsed,
            CvecCode.NUMBER_FORMAT,
            Level.WARNING,
            Result.FAIL,
            False,
            render(CvecCode.NUMBER_FORMAT.message, detail),
            parsed.repairs,
        )
    return CvecCheck(
        value,
        parsed,
        CvecCode.NUMBER_FORMAT,
        Level.WARNING,
        Result.INCONCLUSIVE,
        False,
        render(CvecCode.NUMBER_FORMAT.inconclusive_message, detail),
        parsed.repairs,
    )


def compare_cvec(typed: str, document: str) -> Comparison:
    return compare_values(parse_cvec(typed).normalized, parse_cvec(document).normalized)


# -- several readings of one field ----------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """One reading of a field: its text, where it comes from (``text_layer`` exact,
    ``ocr`` maybe wrong), how it was read (``page``, ``field`` crop, ``search``) and,
    for OCR, what the glyph shapes say of each character of its normalised code
    (``shape[i]``: the member of a confusable pair the glyph is, None when unclear)."""

    text: str
    source: Source
    origin: str = "page"
    shape: tuple[str | None, ...] | None = None

    def corrected(self, code: str) -> str:
        """``code`` (this reading, normalised) with the shape decisions applied."""
        if not self.shape or len(self.shape) != len(code):
            return code
        return "".join(s or c for s, c in zip(self.shape, code, strict=True))

    def confirms(self, code: str, position: int) -> bool:
        """Does the glyph shape confirm ``code[position]`` (0-based)?"""
        return bool(
            self.shape and len(self.shape) == len(code) and self.shape[position] == code[position]
        )


def ocr_code(text: str) -> str:
    """An OCR'd code cleaned of look-alikes and stray marks (ocr.fields.clean_code)."""
    from ocr.fields import clean_code

    return clean_code(text)


def _ocr_inconclusive(check: IneCheck) -> IneCheck:
    """An OCR reading that fits no family: could not read, never an error."""
    if check.source.exact or check.result is not Result.FAIL or check.level is not Level.ERROR:
        return check
    detail = {"value": check.input.strip()}
    return replace_check(
        check,
        level=Level.WARNING,
        result=Result.INCONCLUSIVE,
        message=render(check.code.inconclusive_message, detail),
    )


def replace_check(check: IneCheck, **changes: Any) -> IneCheck:
    from dataclasses import replace

    return replace(check, **changes)


def decide_ine(readings: Iterable[Reading], *, expected: str | None = None) -> IneCheck | None:
    """One decision from several readings of the INE on a document.

    A text-layer reading is exact and decides alone. OCR readings are checked one by
    one (rules a–f) and then must agree: two different valid values, or a disagreement
    at a position the Base-36 key cannot see, give *inconclusive*; a value of a family
    without a verifiable key (RNIE, SIFA, provisoire) needs two agreeing readings or
    equality with ``expected`` (the record's INE). None when there is no reading."""
    found = [r for r in readings if r.text and r.text.strip()]
    if not found:
        return None
    exact = [r for r in found if r.source.exact]
    if exact:
        return check_ine(exact[0].text, exact[0].source, expected=expected)
    codes = [r.corrected(normalize_ine(ocr_code(r.text))) for r in found]
    checks = [_ocr_inconclusive(check_ine(c, Source.OCR, expected=expected)) for c in codes]
    valid = [c for c in checks if c.valid and c.value]
    values = list(dict.fromkeys(c.value for c in valid))
    if not values:
        # the most informative failure: a key that fails, an unverified repair,
        # ambiguity, then a format problem
        order = [IneCode.AMBIGUOUS, IneCode.UNVERIFIED, IneCode.KEY, IneCode.FORMAT]
        checks.sort(key=lambda c: order.index(c.code) if c.code in order else len(order))
        return checks[0]
    if len(values) > 1:
        return _inconclusive_from(checks[0], IneCode.AMBIGUOUS, tuple(values))
    value = values[0]
    supporters = [c for c in valid if c.value == value]
    family = supporters[0].family
    for other in checks:
        if other.valid or len(other.normalized) != 11:
            continue
        if family is IneFamily.BASE36 and any(
            base36_invisible(a, b, i)
            for i, (a, b) in enumerate(zip(other.normalized, value, strict=True), 1)
        ):
            return _inconclusive_from(other, IneCode.AMBIGUOUS, (value, other.normalized))
    wanted = normalize_ine(expected) if expected else None
    if family is not None and not family.verifiable and len(supporters) < 2 and value != wanted:
        return _inconclusive_from(supporters[0], IneCode.UNVERIFIED, (value,), best=value)
    if family is IneFamily.BASE36 and value != wanted:
        # G/6 and L/1 swaps are invisible to the Base-36 key: the glyphs must say
        unconfirmed = [
            i
            for i, c in enumerate(value[:10])
            if c in "G6L1" and not any(r.confirms(value, i) for r in found)
        ]
        if unconfirmed:
            alternatives = tuple(
                value[:i] + {"G": "6", "6": "G", "L": "1", "1": "L"}[value[i]] + value[i + 1 :]
                for i in unconfirmed
            )
            return _inconclusive_from(
                supporters[0], IneCode.AMBIGUOUS, (value, *alternatives), best=value
            )
    rank = {IneCode.VALID: 0, IneCode.RNIE_KEY: 1, IneCode.SIFA: 1, IneCode.PROVISIONAL: 1}
    supporters.sort(key=lambda c: (rank.get(c.code, 2), len(c.repairs)))
    best = supporters[0]
    return replace_check(best, detail={**dict(best.detail), "readings": len(found)})


def _inconclusive_from(
    check: IneCheck, code: IneCode, alternatives: tuple[str, ...], *, best: str | None = None
) -> IneCheck:
    detail = {"read": check.input.strip(), "alternatives": ", ".join(alternatives)}
    return replace_check(
        check,
        code=code,
        level=Level.WARNING,
        result=Result.INCONCLUSIVE,
        valid=False,
        value=None,
        best=best,
        alternatives=alternatives,
        message=render(code.inconclusive_message, detail),
    )


@dataclass(frozen=True)
class CvecReading:
    """The attestation number decided from one or more readings."""

    value: str | None  # normalised number (best reading), None when nothing usable
    suffix: str | None
    confident: bool  # exact (text layer), or two OCR readings agree without repair
    source: Source
    format_ok: bool
    alternatives: tuple[str, ...] = ()
    read: str = ""  # the raw text retained

    @property
    def display(self) -> str:
        return self.read.strip() or (self.value or "")


def split_cvec_reading(text: str) -> CvecNumber:
    """A CVEC number as read (maybe with the `/ NOMXX` suffix glued on when OCR lost the
    slash): the parse whose body fits the pattern, trying 12 then 11 characters."""
    parsed = parse_cvec(text)
    if parsed.valid or parsed.suffix is not None:
        return parsed
    body = parsed.normalized
    for size in (12, 11):
        head, rest = body[:size], body[size:]
        if CVEC_PATTERN.match(head) and rest.isalpha() and 2 <= len(rest) <= 8:
            return CvecNumber(text, head, rest, True)
    return parsed


def decide_cvec(readings: Iterable[Reading]) -> CvecReading | None:
    """The attestation number from its readings. A text layer is exact. OCR readings
    (page and crop), once their confusable characters are settled by the glyph
    shapes, must agree; the number is *confident* only when two readings give it and
    every confusable character in it is confirmed by its glyph: no checksum exists to
    prove anything else (domain.md §3.6)."""
    found = [r for r in readings if r.text and r.text.strip()]
    if not found:
        return None
    exact = [r for r in found if r.source.exact]
    if exact:
        parsed = split_cvec_reading(exact[0].text)
        return CvecReading(
            parsed.normalized,
            parsed.suffix,
            True,
            exact[0].source,
            parsed.valid,
            read=exact[0].text,
        )
    parsed_all = [(r, split_cvec_reading(ocr_code(r.text))) for r in found]
    bodies = [(r, r.corrected(p.normalized), p) for r, p in parsed_all]
    votes: dict[str, list[Reading]] = {}
    for r, body, _ in bodies:
        if CVEC_PATTERN.match(body):
            votes.setdefault(body, []).append(r)
    suffix = next((p.suffix for _, _, p in bodies if p.suffix), None)
    if not votes:
        r, body, _ = next((b for b in bodies if b[0].origin == "field"), bodies[0])
        return CvecReading(body or None, suffix, False, Source.OCR, False, read=r.text)

    def weight(value: str) -> tuple[int, int, int]:
        shaped = int(any(r.shape and len(r.shape) == len(value) for r in votes[value]))
        from_field = int(any(r.origin == "field" for r in votes[value]))
        return (len(votes[value]), shaped, from_field)

    ranked = sorted(votes, key=weight, reverse=True)
    value = ranked[0]
    confirmed = all(
        any(r.confirms(value, i) for r in votes[value])
        for i, c in enumerate(value)
        if c in CONFUSABLE_CHARS
    )
    # two readings agree, or one whose glyphs match it one to one (same count)
    backed = len(votes[value]) >= 2 or any(
        r.shape is not None and len(r.shape) == len(value) for r in votes[value]
    )
    confident = len(votes) == 1 and backed and confirmed
    raw = votes[value][0].text
    return CvecReading(
        value, suffix, confident, Source.OCR, True, alternatives=tuple(ranked[1:]), read=raw
    )


# the characters of the confusable pairs (domain.md §3.4 and §3.6)
CONFUSABLE_CHARS = frozenset("0OQD1IL8B5S2Z6G")
