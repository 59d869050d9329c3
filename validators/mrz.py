"""Machine-readable zones of identity documents: layouts, check digits, repair, expiry.

Pure rules (domain.md §4): no image, no OCR, no clock. Three layouts are read:

- ``cni_old`` — the French ID card of 1988–2021, 2 lines × 36, **not** an ICAO format
  (no expiry in the MRZ; parsed here because no library reads it);
- ``td1`` — ICAO 9303 ID-1 cards, 3 lines × 30 (the French CNIe since 2021);
- ``td3`` — ICAO 9303 passports, 2 lines × 44.

OCR noise is repaired by field type (PassportEye's scheme, domain.md §4.7): letters
forced in *alpha* fields, digits in *numeric* fields; *alphanumeric* fields (document
numbers, office codes, optional data) get a search over single substitutions of
confusable characters, kept only when it is the **sole** candidate making its check
digit and the composite verify. A reading is :attr:`MrzReading.valid` only when every
check digit and the composite verify; anything else is for a person to look at.

Also here: the reason codes of the MRZ rules and of the identity piece, and the
validity of the old card computed from its issue date (décret n° 2013-1188).
"""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from validators.codes import ReasonCode
from validators.names import tokens as name_tokens

# ---------------------------------------------------------------------------- codes


class MrzCode(ReasonCode):
    """Reading the machine-readable zone."""

    NOT_FOUND = (
        "mrz.not_found",
        "La bande de lecture automatique (les lignes de caractères « < » en bas de la "
        "carte ou de la page du passeport) n’a pas été trouvée. Déposez un scan ou une "
        "photo nette, bien éclairée et entière de votre carte recto/verso ou de la page "
        "d’identité de votre passeport.",
        "Bande de lecture automatique trouvée.",
        "La bande de lecture automatique n’a pas pu être lue automatiquement : un "
        "gestionnaire va contrôler votre pièce d’identité.",
    )
    CHECK_DIGITS = (
        "mrz.check_digits",
        "Les chiffres de contrôle de la bande de lecture automatique ne sont pas "
        "cohérents ({failed}). Déposez un scan ou une photo plus nette de votre pièce.",
        "Chiffres de contrôle de la bande de lecture automatique vérifiés.",
        "La bande de lecture automatique n’a pas pu être lue avec certitude ({failed}) : "
        "un gestionnaire va contrôler votre pièce d’identité.",
    )
    REPAIRED = (
        "mrz.repaired",
        "Caractères de la bande de lecture corrigés d’après leur position : {repairs}.",
        "Lecture corrigée d’après la position des caractères et confirmée par les "
        "chiffres de contrôle : {repairs}.",
    )
    COUNTRY = (
        "mrz.country",
        "Le code pays « {country} » de la bande de lecture automatique n’existe pas "
        "(document fictif ou spécimen ?). Déposez votre propre carte d’identité ou "
        "votre passeport.",
        "Codes pays reconnus.",
    )
    DATE = (
        "mrz.date",
        "Une date de la bande de lecture automatique est impossible ({dates}).",
        "Dates de la bande de lecture automatique valides.",
        "Une date de la bande de lecture automatique n’a pas pu être lue ({dates}) : un "
        "gestionnaire va contrôler votre pièce d’identité.",
    )


class IdentityCode(ReasonCode):
    """The identity piece: right document, both sides, same person, still valid."""

    SIDES = (
        "identity.sides",
        "Déposez votre carte d’identité recto/verso (sur un seul fichier) ou votre "
        "passeport : les deux faces sont nécessaires.{hint}",
        "Recto et verso présents.",
        "La présence des deux faces de la carte n’a pas pu être vérifiée automatiquement : "
        "un gestionnaire va la contrôler.",
    )
    EXPIRED = (
        "identity.expired",
        "Votre pièce d’identité n’est plus valable (fin de validité : {expiry}).{hint}",
        "Pièce d’identité en cours de validité (jusqu’au {expiry}).",
        "La date de fin de validité de votre carte n’a pas pu être déterminée "
        "({reason}) : un gestionnaire va la contrôler.",
    )
    NOT_ACCEPTED = (
        "identity.not_accepted",
        "Ce document n’est pas accepté : déposez votre carte d’identité ou votre passeport.",
        "Carte nationale d’identité ou passeport.",
        "Ce document ({document}) n’est pas une carte d’identité française ni un "
        "passeport : un gestionnaire va vérifier s’il peut être accepté.",
    )
    NAME_MISMATCH = (
        "identity.name_mismatch",
        "Le nom figurant sur votre pièce d’identité ({document}) ne correspond pas à "
        "celui de votre dossier ({record}). Déposez votre propre pièce d’identité, ou "
        "signalez l’erreur de votre dossier au service des inscriptions.",
        "Nom et prénoms conformes au dossier.",
        "Le nom lu sur la pièce d’identité ({document}) n’a pas pu être comparé avec "
        "certitude à celui du dossier ({record}) : un gestionnaire va le contrôler.",
    )
    INVERTED_NAME = (
        "identity.inverted_name",
        "Votre nom et votre prénom semblent inversés dans votre dossier ({record}) par "
        "rapport à votre pièce d’identité ({document}) : signalez-le au service des "
        "inscriptions.",
        "Nom et prénom dans le bon ordre.",
        "Nom et prénom peut-être inversés ({document} / {record}) : un gestionnaire va "
        "le contrôler.",
    )
    BIRTH_DATE = (
        "identity.birth_date",
        "La date de naissance de votre pièce d’identité ({document}) ne correspond pas "
        "à celle de votre dossier ({record}).",
        "Date de naissance conforme au dossier.",
        "La date de naissance n’a pas pu être comparée avec certitude ({document} / "
        "{record}) : un gestionnaire va la contrôler.",
    )
    AGE = (
        "identity.age",
        "Vous avez {age} ans le jour de votre inscription.{consequences}",
        "Âge le jour de l’inscription : {age} ans.{consequences}",
    )


# ------------------------------------------------------------------ check digits

_VALUES: dict[str, int] = {str(d): d for d in range(10)}
_VALUES.update({chr(ord("A") + i): 10 + i for i in range(26)})
_VALUES["<"] = 0
# the fields an MRZ gives, in the order every output shows them (issue 4)
FIELD_KEYS = (
    "document_type",
    "document_number",
    "last_name",
    "first_names",
    "birth_date",
    "expiry_date",
    "sex",
)
_WEIGHTS = (7, 3, 1)


def check_digit(data: str) -> str:
    """ICAO 9303 check digit of ``data`` (0-9, A-Z, '<'): weights 7, 3, 1, sum mod 10.
    Raises ValueError on any other character."""
    total = 0
    for i, char in enumerate(data):
        try:
            total += _VALUES[char] * _WEIGHTS[i % 3]
        except KeyError:
            raise ValueError(f"not an MRZ character: {char!r}") from None
    return str(total % 10)


def _verifies(data: str, digit: str) -> bool:
    """Does ``digit`` check ``data``? An empty field ('<' only) may carry '<' or 0."""
    if digit == "<":
        return set(data) <= {"<"}
    try:
        return check_digit(data) == digit
    except ValueError:
        return False


# --------------------------------------------------------------- country codes

# ISO 3166-1 alpha-3 (249 codes) plus the ICAO 9303 part 3 special codes.
_ISO_ALPHA3 = """
ABW AFG AGO AIA ALA ALB AND ARE ARG ARM ASM ATA ATF ATG AUS AUT AZE BDI BEL BEN BES BFA
BGD BGR BHR BHS BIH BLM BLR BLZ BMU BOL BRA BRB BRN BTN BVT BWA CAF CAN CCK CHE CHL CHN
CIV CMR COD COG COK COL COM CPV CRI CUB CUW CXR CYM CYP CZE DEU DJI DMA DNK DOM DZA ECU
EGY ERI ESH ESP EST ETH FIN FJI FLK FRA FRO FSM GAB GBR GEO GGY GHA GIB GIN GLP GMB GNB
GNQ GRC GRD GRL GTM GUF GUM GUY HKG HMD HND HRV HTI HUN IDN IMN IND IOT IRL IRN IRQ ISL
ISR ITA JAM JEY JOR JPN KAZ KEN KGZ KHM KIR KNA KOR KWT LAO LBN LBR LBY LCA LIE LKA LSO
LTU LUX LVA MAC MAF MAR MCO MDA MDG MDV MEX MHL MKD MLI MLT MMR MNE MNG MNP MOZ MRT MSR
MTQ MUS MWI MYS MYT NAM NCL NER NFK NGA NIC NIU NLD NOR NPL NRU NZL OMN PAK PAN PCN PER
PHL PLW PNG POL PRI PRK PRT PRY PSE PYF QAT REU ROU RUS RWA SAU SDN SEN SGP SGS SHN SJM
SLB SLE SLV SMR SOM SPM SRB SSD STP SUR SVK SVN SWE SWZ SXM SYC SYR TCA TCD TGO THA TJK
TKL TKM TLS TON TTO TUN TUR TUV TWN TZA UGA UKR UMI URY USA UZB VAT VCT VEN VGB VIR VNM
VUT WLF WSM YEM ZAF ZMB ZWE
"""
_ICAO_SPECIAL = """
D<< GBD GBN GBO GBP GBS UNO UNA UNK XXA XXB XXC XXX EUE XOM XPO XES XMP XDC XIM XCC XCE
XEC XBA RKS
"""
COUNTRY_CODES: frozenset[str] = frozenset((_ISO_ALPHA3 + _ICAO_SPECIAL).split())
# ICAO's own specimen state (Doc 9303 "Utopia") and other codes seen only on specimens
FICTITIOUS_CODES: frozenset[str] = frozenset({"UTO", "XXY"})


def country_known(code: str) -> bool:
    return code in COUNTRY_CODES


# ---------------------------------------------------------------------- layouts


class Layout(StrEnum):
    CNI_OLD = "cni_old"  # 2 x 36, French ID card 1988-2021
    TD1 = "td1"  # 3 x 30
    TD3 = "td3"  # 2 x 44


class DocumentType(StrEnum):
    CNI_OLD = "cni_old"
    CNI_TD1 = "cni_td1"
    PASSPORT = "passport"
    ID_CARD_OTHER = "id_card"  # a TD1 card not issued by France
    OTHER = "other"  # a TD3 document that is not a passport (visa…)


SHAPES: dict[Layout, tuple[int, int]] = {
    Layout.CNI_OLD: (2, 36),
    Layout.TD1: (3, 30),
    Layout.TD3: (2, 44),
}

ALPHA, NUM, ALNUM = "alpha", "num", "alnum"


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    line: int
    start: int
    end: int
    kind: str  # ALPHA | NUM | ALNUM

    def of(self, lines: Sequence[str]) -> str:
        return lines[self.line][self.start : self.end]


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    parts: tuple[tuple[int, int, int], ...]  # (line, start, end)
    digit: tuple[int, int]  # (line, index)

    def data(self, lines: Sequence[str]) -> str:
        return "".join(lines[ln][a:b] for ln, a, b in self.parts)

    def verifies(self, lines: Sequence[str]) -> bool:
        ln, i = self.digit
        return _verifies(self.data(lines), lines[ln][i])

    def covers(self, f: Field) -> bool:
        return any(ln == f.line and a <= f.start and f.end <= b for ln, a, b in self.parts)


def _f(name: str, line: int, start: int, end: int, kind: str) -> Field:
    return Field(name, line, start, end, kind)


FIELDS: dict[Layout, tuple[Field, ...]] = {
    Layout.CNI_OLD: (
        _f("document_code", 0, 0, 2, ALPHA),
        _f("issuer", 0, 2, 5, ALPHA),
        _f("surname", 0, 5, 30, ALPHA),
        _f("admin_code", 0, 30, 36, ALNUM),
        _f("issue", 1, 0, 4, NUM),
        _f("office", 1, 4, 7, ALNUM),
        _f("sequence", 1, 7, 12, NUM),
        _f("number_check", 1, 12, 13, NUM),
        _f("given_names", 1, 13, 27, ALPHA),
        _f("birth", 1, 27, 33, NUM),
        _f("birth_check", 1, 33, 34, NUM),
        _f("sex", 1, 34, 35, ALPHA),
        _f("composite", 1, 35, 36, NUM),
    ),
    Layout.TD1: (
        _f("document_code", 0, 0, 2, ALPHA),
        _f("issuer", 0, 2, 5, ALPHA),
        _f("number", 0, 5, 14, ALNUM),
        _f("number_check", 0, 14, 15, NUM),
        _f("optional1", 0, 15, 30, ALNUM),
        _f("birth", 1, 0, 6, NUM),
        _f("birth_check", 1, 6, 7, NUM),
        _f("sex", 1, 7, 8, ALPHA),
        _f("expiry", 1, 8, 14, NUM),
        _f("expiry_check", 1, 14, 15, NUM),
        _f("nationality", 1, 15, 18, ALPHA),
        _f("optional2", 1, 18, 29, ALNUM),
        _f("composite", 1, 29, 30, NUM),
        _f("names", 2, 0, 30, ALPHA),
    ),
    Layout.TD3: (
        _f("document_code", 0, 0, 2, ALPHA),
        _f("issuer", 0, 2, 5, ALPHA),
        _f("names", 0, 5, 44, ALPHA),
        _f("number", 1, 0, 9, ALNUM),
        _f("number_check", 1, 9, 10, NUM),
        _f("nationality", 1, 10, 13, ALPHA),
        _f("birth", 1, 13, 19, NUM),
        _f("birth_check", 1, 19, 20, NUM),
        _f("sex", 1, 20, 21, ALPHA),
        _f("expiry", 1, 21, 27, NUM),
        _f("expiry_check", 1, 27, 28, NUM),
        _f("personal", 1, 28, 42, ALNUM),
        _f("personal_check", 1, 42, 43, NUM),
        _f("composite", 1, 43, 44, NUM),
    ),
}

CHECKS: dict[Layout, tuple[Check, ...]] = {
    Layout.CNI_OLD: (
        Check("document_number", ((1, 0, 12),), (1, 12)),
        Check("birth_date", ((1, 27, 33),), (1, 33)),
        Check("composite", ((0, 0, 36), (1, 0, 35)), (1, 35)),
    ),
    Layout.TD1: (
        Check("document_number", ((0, 5, 14),), (0, 14)),
        Check("birth_date", ((1, 0, 6),), (1, 6)),
        Check("expiry_date", ((1, 8, 14),), (1, 14)),
        Check("composite", ((0, 5, 30), (1, 0, 7), (1, 8, 15), (1, 18, 29)), (1, 29)),
    ),
    Layout.TD3: (
        Check("document_number", ((1, 0, 9),), (1, 9)),
        Check("birth_date", ((1, 13, 19),), (1, 19)),
        Check("expiry_date", ((1, 21, 27),), (1, 27)),
        Check("personal_number", ((1, 28, 42),), (1, 42)),
        Check("composite", ((1, 0, 10), (1, 13, 20), (1, 21, 43)), (1, 43)),
    ),
}

# Forced repairs by field class (domain.md §4.7, PassportEye's scheme). A letter can
# never stand in a numeric field nor a digit in an alpha one, so these only undo
# misreadings; the check digits then say whether the result holds.
TO_ALPHA = str.maketrans(
    {"0": "O", "1": "I", "2": "Z", "4": "A", "5": "S", "6": "G", "7": "T", "8": "B"}
)
TO_DIGIT = str.maketrans(
    {
        "B": "8",
        "C": "0",
        "D": "0",
        "G": "6",
        "I": "1",
        "L": "1",
        "O": "0",
        "Q": "0",
        "S": "5",
        "Z": "2",
        "A": "4",
        "T": "7",
    }
)
# single substitutions tried in alphanumeric fields (both directions): the usual OCR
# confusions only; every extra pair makes two verifying candidates likelier (the
# composite adds nothing there: a document number's weights are the same in both)
CONFUSABLE: dict[str, tuple[str, ...]] = {}
for _a, _b in (
    ("0", "O"),
    ("0", "D"),
    ("0", "Q"),
    ("1", "I"),
    ("1", "L"),
    ("2", "Z"),
    ("5", "S"),
    ("6", "G"),
    ("8", "B"),
):
    CONFUSABLE[_a] = (*CONFUSABLE.get(_a, ()), _b)
    CONFUSABLE[_b] = (*CONFUSABLE.get(_b, ()), _a)

_MAX_COMBINATIONS = 4096
_MAX_LENGTH_VARIANTS = 24


# ---------------------------------------------------------------- normalising


_SPLIT = re.compile(r"[\r\n/|]+")


def normalise_line(text: str) -> str:
    """Upper case, spaces removed, the guillemet '«' as '<<', any other character that
    cannot be in an MRZ as '<'."""
    text = text.upper().replace("«", "<<").replace("\u2039", "<")
    text = re.sub(r"\s+", "", text)
    return re.sub(r"[^A-Z0-9<]", "<", text)


def split_lines(text: str | Sequence[str]) -> list[str]:
    """MRZ text as lines: newlines or '/' separate them (the CLI's form)."""
    parts = _SPLIT.split(text) if isinstance(text, str) else list(text)
    return [n for n in (normalise_line(p) for p in parts) if n]


def guess_layout(lines: Sequence[str]) -> list[Layout]:
    """Layouts the lines may be, most likely first (lengths may be a few off)."""
    n = len(lines)
    if n not in (2, 3):
        return []
    mean = sum(len(ln) for ln in lines) / n
    if n == 3:
        return [Layout.TD1] if abs(mean - 30) <= 4 else []
    found = []
    for layout in (Layout.CNI_OLD, Layout.TD3):
        width = SHAPES[layout][1]
        if abs(mean - width) <= 5:
            found.append(layout)
    found.sort(key=lambda lay: abs(mean - SHAPES[lay][1]))
    return found


def _length_variants(line: str, width: int) -> list[str]:
    """Ways to bring ``line`` to ``width`` characters by stretching or shrinking one
    run of '<' (OCR often drops or adds a filler), or padding/trimming the end."""
    diff = width - len(line)
    if diff == 0:
        return [line]
    out: list[str] = []
    if diff > 0:
        out.append(line + "<" * diff)
    else:
        trimmed = line[:width]
        if set(line[width:]) <= {"<"}:
            out.append(trimmed)
    for match in re.finditer(r"<+", line):
        a, b = match.span()
        length = b - a + diff
        if length < 1:
            continue
        out.append(line[:a] + "<" * length + line[b:])
    if diff < 0 and not out:
        # a stray mark at either end
        out.extend([line[-diff:], line[:width]])
    seen: dict[str, None] = {}
    for item in out:
        if len(item) == width:
            seen.setdefault(item, None)
    return list(seen)[:_MAX_LENGTH_VARIANTS]


# -------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class Repair:
    field: str
    read: str
    fixed: str
    kind: str  # "forced" | "substitution" | "length"

    def __str__(self) -> str:
        return f"{self.field} {self.read}→{self.fixed}"


def _yymmdd(value: str, *, birth: bool, reference: dt.date | None) -> dt.date | None:
    if not re.fullmatch(r"[0-9]{6}", value):
        return None
    yy, mm, dd = int(value[:2]), int(value[2:4]), int(value[4:6])
    if birth:
        ref = reference or dt.date(2000 + 50, 1, 1)
        year = 2000 + yy
        if year > ref.year:
            year -= 100
    else:
        ref_year = reference.year if reference else 2030
        year = 2000 + yy
        if year > ref_year + 50:
            year -= 100
    try:
        day = dt.date(year, mm, dd)
    except ValueError:
        return None
    if birth and reference is not None and day > reference:
        try:
            day = dt.date(year - 100, mm, dd)
        except ValueError:
            return None
    return day


_NAME_FIELD = re.compile(r"[A-Z]+(?:<{1,2}[A-Z]+)*<*")
_TRIPLE = re.compile(r"([A-Z])\1\1")


def _names(value: str) -> tuple[str, str]:
    """TD1/TD3 name field → (surname, given names), '<' as spaces."""
    surname, _, given = value.partition("<<")
    return _words(surname), _words(given)


def _words(value: str) -> str:
    return " ".join(w for w in value.split("<") if w)


@dataclass(frozen=True)
class MrzReading:
    """One interpretation of MRZ lines (after repair)."""

    layout: Layout
    raw: tuple[str, ...]
    lines: tuple[str, ...]
    checks: Mapping[str, bool]
    repairs: tuple[Repair, ...] = ()
    ambiguous: bool = False
    reference: dt.date | None = None
    alternatives: int = 0  # other readings that verified as well (ambiguous)

    # -- raw fields -----------------------------------------------------------------
    def value(self, name: str) -> str:
        for f in FIELDS[self.layout]:
            if f.name == name:
                return f.of(self.lines)
        raise KeyError(name)

    @property
    def values(self) -> dict[str, str]:
        return {f.name: f.of(self.lines) for f in FIELDS[self.layout]}

    # -- verdict on the reading -------------------------------------------------------
    @property
    def checks_ok(self) -> bool:
        return all(self.checks.values())

    @property
    def failed_checks(self) -> list[str]:
        return [name for name, ok in self.checks.items() if not ok]

    @property
    def date_problems(self) -> list[str]:
        bad = []
        if self.birth_date is None:
            bad.append("naissance")
        if self.layout is Layout.CNI_OLD:
            if self.issue_month is None:
                bad.append("délivrance")
        elif self.expiry_date is None:
            bad.append("expiration")
        return bad

    @property
    def sex_ok(self) -> bool:
        return self.value("sex") in {"M", "F", "X", "<"}

    @property
    def names_plausible(self) -> bool:
        """Name fields shaped like names: letters, '<' or '<<' between parts, fillers
        only at the end, no letter three times in a row. OCR garbage in the fillers
        (K, S, C for OCR-B's '<') is invisible to the check digits (K and '<' weigh
        the same), so this is the only guard for it."""
        old = self.layout is Layout.CNI_OLD
        for name in ("surname", "given_names") if old else ("names",):
            value = self.value(name)
            if name == "given_names" and set(value) <= {"<"}:
                continue  # a person may have no given name
            if not _NAME_FIELD.fullmatch(value) or _TRIPLE.search(value):
                return False
        return True

    @property
    def number_plausible(self) -> bool:
        """A French passport number has its shape (2 digits, 2 letters, 5 digits)."""
        if _is_french_passport(self.layout, self.lines):
            return bool(_FR_PASSPORT.fullmatch(self.lines[1][0:9]))
        return True

    @property
    def needs_confirmation(self) -> bool:
        """Valid only thanks to a guess (a substitution in an alphanumeric field, a
        filler added or removed): a second, independent read should agree."""
        return any(r.kind in ("substitution", "length", "shape") for r in self.repairs)

    @property
    def key(self) -> str:
        return "\n".join(self.lines)

    @property
    def valid(self) -> bool:
        """Every check digit and the composite verify, unambiguously, dates, sex and
        names make sense: the values can be trusted."""
        return (
            self.checks_ok
            and not self.ambiguous
            and not self.date_problems
            and self.sex_ok
            and self.names_plausible
            and self.number_plausible
        )

    # -- derived values ---------------------------------------------------------------
    @property
    def document_code(self) -> str:
        return self.value("document_code")

    @property
    def issuer(self) -> str:
        return self.value("issuer")

    @property
    def nationality(self) -> str:
        if self.layout is Layout.CNI_OLD:
            return "FRA"
        return self.value("nationality")

    @property
    def document_type(self) -> DocumentType:
        code = self.document_code
        if self.layout is Layout.CNI_OLD:
            return DocumentType.CNI_OLD
        if self.layout is Layout.TD1:
            if code[0] in "IAC" and self.issuer == "FRA":
                return DocumentType.CNI_TD1
            return DocumentType.ID_CARD_OTHER
        return DocumentType.PASSPORT if code[0] == "P" else DocumentType.OTHER

    @property
    def document_number(self) -> str:
        if self.layout is Layout.CNI_OLD:
            return self.lines[1][0:12]
        return self.value("number").replace("<", "")

    @property
    def last_name(self) -> str:
        if self.layout is Layout.CNI_OLD:
            return _words(self.value("surname"))
        return _names(self.value("names"))[0]

    @property
    def first_names(self) -> str:
        if self.layout is Layout.CNI_OLD:
            return _words(self.value("given_names"))
        return _names(self.value("names"))[1]

    @property
    def names_truncated(self) -> bool:
        """The name field is full: its last name may have been cut."""
        if self.layout is Layout.CNI_OLD:
            return not self.value("given_names").endswith("<")
        return not self.value("names").endswith("<")

    @property
    def surname_truncated(self) -> bool:
        return self.layout is Layout.CNI_OLD and not self.value("surname").endswith("<")

    @property
    def sex(self) -> str | None:
        s = self.value("sex")
        return s if s in {"M", "F", "X"} else None

    @property
    def birth_date(self) -> dt.date | None:
        return _yymmdd(self.value("birth"), birth=True, reference=self.reference)

    @property
    def expiry_date(self) -> dt.date | None:
        if self.layout is Layout.CNI_OLD:
            return None
        return _yymmdd(self.value("expiry"), birth=False, reference=self.reference)

    @property
    def issue_month(self) -> tuple[int, int] | None:
        """(year, month) of issue of the old card (19YY if YY >= 88, else 20YY)."""
        if self.layout is not Layout.CNI_OLD:
            return None
        value = self.value("issue")
        if not value.isdigit():
            return None
        yy, mm = int(value[:2]), int(value[2:])
        if not 1 <= mm <= 12:
            return None
        return (1900 + yy if yy >= 88 else 2000 + yy, mm)

    @property
    def unknown_countries(self) -> list[str]:
        codes = [self.issuer] + ([] if self.layout is Layout.CNI_OLD else [self.nationality])
        seen: list[str] = []
        for code in codes:
            if not country_known(code) and code not in seen:
                seen.append(code)
        return seen

    def field_checks(self) -> dict[str, bool | None]:
        """For each output field: True when a check digit covering it verified, False
        when one failed, None when no check digit protects it."""
        checks = {c.name: c for c in CHECKS[self.layout]}
        composite = checks["composite"]
        out: dict[str, bool | None] = {}

        def by(*names: str) -> bool | None:
            present = [self.checks[n] for n in names if n in self.checks]
            return all(present) if present else None

        def covered(field_name: str) -> bool:
            f = next(x for x in FIELDS[self.layout] if x.name == field_name)
            return composite.covers(f)

        old = self.layout is Layout.CNI_OLD
        out["document_type"] = by("composite") if old else None
        out["document_number"] = by("document_number", "composite")
        names_field = "surname" if old else "names"
        out["last_name"] = by("composite") if covered(names_field) else None
        given_field = "given_names" if old else "names"
        out["first_names"] = by("composite") if covered(given_field) else None
        out["birth_date"] = by("birth_date", "composite")
        out["expiry_date"] = (
            by("document_number", "birth_date") if old else by("expiry_date", "composite")
        )
        out["sex"] = by("composite") if covered("sex") else None
        out["issuer"] = by("composite") if covered("issuer") else None
        if not old:
            out["nationality"] = by("composite") if covered("nationality") else None
        return out

    def to_fields(self) -> dict[str, Any]:
        issue = self.issue_month
        data: dict[str, Any] = {
            "document_type": str(self.document_type),
            "document_number": self.document_number,
            "last_name": self.last_name,
            "first_names": self.first_names,
            "birth_date": self.birth_date,
            "expiry_date": self.expiry_date,
            "sex": self.sex,
            "issuer": self.issuer,
            "nationality": self.nationality,
            "mrz_lines": list(self.lines),
            "mrz_valid": self.valid,
            "mrz_checks": dict(self.checks),
        }
        if issue is not None:
            data["issue_month"] = f"{issue[0]:04d}-{issue[1]:02d}"
        return data


# French passport numbers: 2 digits, 2 letters, 5 digits (specimen 08CD50338; the
# shape beyond the specimen is unconfirmed, so a number off it goes to a person).
FR_PASSPORT_SHAPE = "NNAANNNNN"
_FR_PASSPORT = re.compile(r"[0-9]{2}[A-Z]{2}[0-9]{5}")
# a digit in a letter slot: every letter it may be (8 is B or S: S and 8 weigh alike)
_LETTERS_FOR = {
    "0": "ODQ",
    "1": "IL",
    "2": "Z",
    "4": "A",
    "5": "S",
    "6": "G",
    "7": "T",
    "8": "BS",
}


def _is_french_passport(layout: Layout, lines: Sequence[str]) -> bool:
    return layout is Layout.TD3 and lines[0][0] == "P" and lines[0][2:5] == "FRA"


def _passport_shape(lines: list[str]) -> tuple[list[str], list[Repair]] | None:
    """Put a French passport number in its shape (digits and letters by position);
    with several letters possible for a digit, the check digits choose. None when
    no single candidate verifies."""
    number = lines[1][0:9]
    options: list[str] = []
    for char, slot in zip(number, FR_PASSPORT_SHAPE, strict=True):
        if slot == "N":
            options.append(char.translate(TO_DIGIT))
        else:
            options.append(_LETTERS_FOR.get(char, char))
    found = []
    for combo in itertools.product(*options):
        value = "".join(combo)
        candidate = [lines[0], value + lines[1][9:]]
        if _FR_PASSPORT.fullmatch(value) and all(_checks_of(Layout.TD3, candidate).values()):
            found.append(candidate)
    if len(found) != 1:
        return None
    value = found[0][1][0:9]
    return found[0], [Repair("number", number, value, "shape")] if value != number else []


def _apply_classes(layout: Layout, lines: list[str]) -> tuple[list[str], list[Repair]]:
    out = [list(ln) for ln in lines]
    repairs: list[Repair] = []
    if layout is Layout.CNI_OLD and lines[0][:5] != "IDFRA":
        # the old card always starts with IDFRA (checked by _looks_like_old_card)
        repairs.append(Repair("document_code", lines[0][:5], "IDFRA", "forced"))
        out[0][0:5] = list("IDFRA")
        lines = ["".join(ln) for ln in out]
    for f in FIELDS[layout]:
        if f.kind == ALNUM:
            continue
        read = f.of(lines)
        fixed = read.translate(TO_ALPHA if f.kind == ALPHA else TO_DIGIT)
        if fixed != read:
            out[f.line][f.start : f.end] = list(fixed)
            repairs.append(Repair(f.name, read, fixed, "forced"))
    return ["".join(ln) for ln in out], repairs


def _substitutions(value: str) -> list[str]:
    found = []
    for i, char in enumerate(value):
        for other in CONFUSABLE.get(char, ()):
            found.append(value[:i] + other + value[i + 1 :])
    return found


def _with(lines: list[str], f: Field, value: str) -> list[str]:
    out = list(lines)
    line = out[f.line]
    out[f.line] = line[: f.start] + value + line[f.end :]
    return out


def _checks_of(layout: Layout, lines: Sequence[str]) -> dict[str, bool]:
    return {c.name: c.verifies(lines) for c in CHECKS[layout]}


def _read_layout(
    layout: Layout, raw: Sequence[str], lines: list[str], reference: dt.date | None
) -> MrzReading:
    fixed, repairs = _apply_classes(layout, lines)
    if _is_french_passport(layout, fixed) and not _FR_PASSPORT.fullmatch(fixed[1][0:9]):
        shaped = _passport_shape(fixed)
        if shaped is not None:
            fixed, extra = shaped
            repairs = repairs + extra
    checks = _checks_of(layout, fixed)
    if all(checks.values()):
        return MrzReading(
            layout, tuple(raw), tuple(fixed), checks, tuple(repairs), reference=reference
        )
    # alphanumeric fields: single substitutions, kept only if the sole verifying one
    options: list[tuple[Field, list[str]]] = []
    own = {c.name: c for c in CHECKS[layout]}
    for f in FIELDS[layout]:
        if f.kind != ALNUM:
            continue
        current = f.of(fixed)
        own_check = next((c for c in own.values() if c.name != "composite" and c.covers(f)), None)
        if own_check is not None:
            if own_check.verifies(fixed):
                continue
            variants = [
                v for v in _substitutions(current) if own_check.verifies(_with(fixed, f, v))
            ]
            if variants:
                options.append((f, variants))
        else:
            variants = _substitutions(current)
            if variants:
                options.append((f, [current, *variants]))
    winners: list[tuple[list[str], list[Repair]]] = []
    if options:
        count = 1
        for _, variants in options:
            count *= len(variants)
        if count <= _MAX_COMBINATIONS:
            for combo in itertools.product(*(v for _, v in options)):
                candidate = fixed
                subs: list[Repair] = []
                for (f, _), value in zip(options, combo, strict=True):
                    before = f.of(fixed)
                    if value != before:
                        candidate = _with(candidate, f, value)
                        subs.append(Repair(f.name, before, value, "substitution"))
                if subs and all(_checks_of(layout, candidate).values()):
                    winners.append((candidate, subs))
    if len(winners) == 1:
        candidate, subs = winners[0]
        return MrzReading(
            layout,
            tuple(raw),
            tuple(candidate),
            _checks_of(layout, candidate),
            tuple(repairs + subs),
            reference=reference,
        )
    return MrzReading(
        layout,
        tuple(raw),
        tuple(fixed),
        checks,
        tuple(repairs),
        ambiguous=len(winners) > 1,
        reference=reference,
        alternatives=max(0, len(winners) - 1),
    )


def _score(reading: MrzReading) -> tuple[int, int, int]:
    return (int(reading.valid), sum(reading.checks.values()), -len(reading.repairs))


def parse(text: str | Sequence[str], *, reference: dt.date | None = None) -> MrzReading | None:
    """The best reading of MRZ ``text`` (a string with newlines or '/', or lines), or
    None when it has no MRZ shape. ``reference`` (the registration date) sets the
    century of two-digit years. Check ``reading.valid`` before trusting a value."""
    lines = split_lines(text)
    candidates = _select_lines(lines)
    readings: list[MrzReading] = []
    for chosen in candidates:
        for layout in guess_layout(chosen):
            readings.extend(_readings_of(layout, chosen, reference))
    if not readings:
        return None
    valid = [r for r in readings if r.valid]
    distinct = {r.lines for r in valid}
    if len(distinct) > 1:
        best = max(valid, key=_score)
        return MrzReading(
            best.layout,
            best.raw,
            best.lines,
            best.checks,
            best.repairs,
            ambiguous=True,
            reference=reference,
            alternatives=len(distinct) - 1,
        )
    return max(readings, key=_score)


def _readings_of(
    layout: Layout, lines: Sequence[str], reference: dt.date | None
) -> list[MrzReading]:
    if layout is Layout.CNI_OLD and not _looks_like_old_card(lines):
        return []
    width = SHAPES[layout][1]
    checked_lines = {ln for c in CHECKS[layout] for ln, _, _ in c.parts}
    per_line = [
        variants if i in checked_lines else variants[:1]
        for i, variants in enumerate(_length_variants(ln, width) for ln in lines)
    ]
    if not all(per_line):
        return []
    out = []
    for combo in itertools.islice(itertools.product(*per_line), 256):
        reading = _read_layout(layout, lines, list(combo), reference)
        if combo != tuple(lines):
            extra = tuple(
                Repair(f"ligne {i + 1}", str(len(a)), str(len(b)), "length")
                for i, (a, b) in enumerate(zip(lines, combo, strict=True))
                if a != b
            )
            reading = MrzReading(
                reading.layout,
                reading.raw,
                reading.lines,
                reading.checks,
                extra + reading.repairs,
                reading.ambiguous,
                reference,
                reading.alternatives,
            )
        out.append(reading)
        if reading.valid and combo == tuple(lines):
            break
    return out


def _looks_like_old_card(lines: Sequence[str]) -> bool:
    head = lines[0][:5]
    return (
        len(head) == 5
        and head[0] in "I1L"
        and head[1] in "D0O"
        and head[2:5].translate(TO_ALPHA) == "FRA"
    )


def _select_lines(lines: Sequence[str]) -> list[list[str]]:
    """Runs of consecutive lines that may form an MRZ (OCR may add noise lines)."""
    plausible = [ln for ln in lines if len(ln) >= 20]
    if len(plausible) in (2, 3):
        return [list(plausible)]
    runs = []
    for size in (3, 2):
        for i in range(len(plausible) - size + 1):
            runs.append(list(plausible[i : i + size]))
    return runs


# ------------------------------------------------------------- old card expiry


def add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


@dataclass(frozen=True, slots=True)
class OldCardValidity:
    """End of validity of an old French ID card: a single date, or a range when the
    issue day (or which rule applies) is not known."""

    earliest: dt.date | None
    latest: dt.date | None
    rule: str  # "minor_10", "adult_10", "adult_15", "adult_10+5", or "ambiguous"
    printed: dt.date | None = None  # the date printed on the card, if different
    reasons: tuple[str, ...] = field(default=())

    @property
    def exact(self) -> bool:
        return self.earliest is not None and self.earliest == self.latest

    def status_on(self, day: dt.date) -> str:
        """ "valid", "expired" or "unknown" on ``day``."""
        if self.earliest is None or self.latest is None:
            return "unknown"
        if day <= self.earliest:
            return "valid"
        if day > self.latest:
            return "expired"
        return "unknown"


_EXTENSION_FROM = dt.date(2004, 1, 2)
_FIFTEEN_FROM = dt.date(2014, 1, 1)


def _rule_for(issued: dt.date, birth: dt.date) -> tuple[int, str]:
    adult = add_years(birth, 18) <= issued
    if not adult:
        return 10, "minor_10"
    if issued < _EXTENSION_FROM:
        return 10, "adult_10"
    if issued < _FIFTEEN_FROM:
        return 15, "adult_10+5"
    return 15, "adult_15"


def old_card_validity(
    issue_year: int, issue_month: int, birth: dt.date, *, issue_day: dt.date | None = None
) -> OldCardValidity:
    """Validity of an old card (domain.md §4.5): 10 years for minors and for adults'
    cards issued before 2 January 2004; adults' cards issued from 2 January 2004 to
    31 December 2013 run 5 years past the printed date (15 in all); 15 years for
    adults from 1 January 2014. With only the issue month (the MRZ), every day of
    that month is considered: an 18th birthday or 1 January 2004 in that month makes
    the rule ambiguous. ``issue_day`` (read on the verso) settles it."""
    if issue_day is not None and (issue_day.year, issue_day.month) != (issue_year, issue_month):
        issue_day = None  # not the same card: ignore the verso reading
    days = (
        [issue_day]
        if issue_day is not None
        else [
            dt.date(issue_year, issue_month, d)
            for d in range(1, calendar.monthrange(issue_year, issue_month)[1] + 1)
        ]
    )
    ends: list[dt.date] = []
    rules: set[str] = set()
    printed: set[dt.date] = set()
    for day in days:
        years, rule = _rule_for(day, birth)
        rules.add(rule)
        ends.append(add_years(day, years) - dt.timedelta(days=1))
        printed.add(add_years(day, 10) - dt.timedelta(days=1))
    reasons: list[str] = []
    if len(rules) > 1:
        if {"minor_10"} & rules and len(rules - {"minor_10"}) >= 1:
            reasons.append("18e anniversaire pendant le mois de délivrance")
        if {"adult_10", "adult_10+5"} <= rules:
            reasons.append("délivrée en janvier 2004")
    rule = rules.pop() if len(rules) == 1 else "ambiguous"
    printed_date = min(printed) if len(printed) == 1 else None
    return OldCardValidity(
        earliest=min(ends),
        latest=max(ends),
        rule=rule,
        printed=printed_date if rule == "adult_10+5" else None,
        reasons=tuple(reasons),
    )


_ISSUE_DATE = re.compile(
    r"D[ÉE]LIVR[ÉE]E?\s*LE\s*[:.]?\s*([0-3]?\d)[./\- ]([01]?\d)[./\- ]((?:19|20)\d\d)"
)


def issue_date_in_text(text: str) -> dt.date | None:
    """The « délivrée le JJ.MM.AAAA » date of an old card's verso, from OCR text."""
    match = _ISSUE_DATE.search(text.upper())
    if not match:
        return None
    try:
        return dt.date(int(match.group(3)), int(match.group(2)), int(match.group(1)))
    except ValueError:
        return None


def age_flags(birth: dt.date, day: dt.date) -> dict[str, Any]:
    """Age on the registration day and the two FAQ consequences (domain.md §1)."""
    from validators.base import age_on

    age = age_on(birth, day)
    return {
        "age_on_registration": age,
        "needs_parental_consent": age < 18,
        "needs_jdc": age < 25,
    }


def judge(lines: Sequence[str], reference: dt.date | None) -> tuple[bool, bool, str]:
    """For ``ocr.mrz.read_mrz``: (valid, needs a second read to agree, key of the
    reading)."""
    reading = parse(lines, reference=reference)
    if reading is None or not reading.valid:
        return False, False, ""
    return True, reading.needs_confirmation, reading.key


# ------------------------------------------------------------ reading cell by cell
#
# ``ocr.mrz.read_cells`` binds every character Tesseract gave to the cell under it and
# measures how alike the glyphs of any two cells are; the rules below make a reading of
# it. Tesseract's English model misreads OCR-B in a few systematic ways (0 as O, 9 as
# O/I/Y/Q, 5 as S, a glyph cut in two), and a document number is protected by one check
# digit only (the composite adds nothing: the number starts at a weight-7 place in both
# sums), so a misread number verifies by chance one time in ten, and G/6, L/1, S/8, Q/6
# swaps never show. Two sources therefore decide a document-number character:
#
# - the card's own print: a cell whose glyph is the same as the glyph of cells whose
#   value is settled (the digits of check-verified dates, the state codes) holds that
#   character (measured on generated OCR-B cards: two different characters are at most
#   0.84 alike, the same character 0.97 at the median; 0 and O are printed alike, only
#   the check digit tells them apart);
# - Tesseract, when it had no serious alternative for the cell.
#
# A character that rests on Tesseract alone while it hesitated (an alternative scored,
# two symbols or none in the cell), two cells printed alike but read differently, or a
# choice made by the check digit among several characters, make the reading *doubtful*:
# it is trusted only once an independent read confirms it (the document number printed
# on the other side of the card: ``confirm_number``).

GLYPH_SAME = 0.90  # at least this alike: the same character ...
GLYPH_MARGIN = 0.03  # ... when this much more alike than to any other character
GLYPH_OTHER = 0.72  # less alike than this to every sample of a character: not it
CHOICE_MIN = 10.0  # an LSTM alternative scored below this is not considered
_GLYPH_CLASS = {"O": "0"}  # printed alike in OCR-B
# the confusions Tesseract makes on OCR-B with full confidence (measured: 0 read as O,
# 5 as S), offered whatever it scored
_PARTNERS = {"0": "O", "O": "0", "5": "S", "S": "5"}
_MAX_CELL_COMBINATIONS = 4096
_MAX_ALTERNATIVES = 8
# document codes whose letters count as settled, by layout
_CODES = {Layout.TD1: ("ID", "IR", "AC", "I<"), Layout.TD3: ("P<",), Layout.CNI_OLD: ("ID",)}


class CellLike(Protocol):
    char: str
    choices: tuple[tuple[str, float], ...]
    count: int


class CellEvidence(Protocol):
    """What ``ocr.mrz.CellRead`` offers: the cells, and how alike two cells' glyphs are."""

    cells: Sequence[Sequence[CellLike]]

    def alike(self, a: tuple[int, int], b: tuple[int, int]) -> float | None: ...


Where = tuple[int, int]


@dataclass(frozen=True)
class CellResolution:
    """A reading made from a cell-by-cell read.

    ``lines`` is the single reading that verifies (None when none or several do);
    ``sure`` says it can be trusted as it is; otherwise ``doubtful`` lists the cells an
    independent read must confirm. ``alternatives`` holds every verifying reading found
    (several when the check digits cannot choose), ``top`` the cells' first reading."""

    layout: Layout
    top: tuple[str, ...]
    lines: tuple[str, ...] | None = None
    sure: bool = False
    doubtful: tuple[Where, ...] = ()
    alternatives: tuple[tuple[str, ...], ...] = ()
    reason: str = ""
    glyph_fixes: tuple[Where, ...] = ()
    # the words of the name fields no check digit covers, as their cells (for a
    # confirmation of doubtful letters by the names printed elsewhere)
    name_words: tuple[tuple[Where, ...], ...] = ()

    @property
    def key(self) -> str:
        return "\n".join(self.lines) if self.lines else ""


def _glyph_class(char: str) -> str:
    return _GLYPH_CLASS.get(char, char)


def _layout_of_cells(cells: Sequence[Sequence[CellLike]]) -> Layout | None:
    if not cells:
        return None
    shape = (len(cells), len(cells[0]))
    if any(len(line) != shape[1] for line in cells):
        return None
    return next((lay for lay, dims in SHAPES.items() if dims == shape), None)


def _fits(char: str, kind: str) -> str | None:
    """``char`` brought to the field's class (letters in alpha fields, digits in numeric
    ones), or None when it cannot be."""
    if kind == NUM:
        char = char.translate(TO_DIGIT)
        return char if char.isdigit() else None
    if kind == ALPHA:
        char = char.translate(TO_ALPHA)
        return char if char.isalpha() else None
    return char if char.isalnum() else None


def _cell_options(cell: CellLike, kind: str) -> list[str]:
    """Characters a cell may hold, Tesseract's first: its reading and the alternatives
    it scored, brought to the field's class."""
    if cell.char == "<":
        return ["<"]
    raw = [cell.char] if cell.char else []
    raw += [c for c, score in cell.choices if score >= CHOICE_MIN or not cell.char]
    out: list[str] = []
    for char in raw:
        fitted = _fits(char, kind)
        if fitted is not None and fitted not in out:
            out.append(fitted)
    if kind == ALNUM and out:
        # Tesseract often scores the other one of these 0 (the check digit always tells
        # them apart: their values are not a multiple of 10 apart)
        out.extend(c for c in _PARTNERS.get(out[0], "") if c not in out)
    return out


def _hesitated(cell: CellLike) -> bool:
    """Tesseract was not sure of this cell: nothing or two symbols in it, or an
    alternative it scored."""
    if cell.count != 1 or not cell.char:
        return True
    return any(c != cell.char and score >= CHOICE_MIN for c, score in cell.choices)


def _settled_cells(
    layout: Layout, lines: Sequence[str], unsure: Iterable[Where] = ()
) -> dict[Where, str]:
    """Cells whose character is known without the document number or the names: the
    digits of check-verified dates and their check digits, known state codes and the
    document code (when no ``unsure`` cell is in it)."""
    out: dict[Where, str] = {}
    checks = {c.name: c for c in CHECKS[layout]}
    fields = {f.name: f for f in FIELDS[layout]}
    dated = [("birth_date", ("birth", "birth_check"))]
    if layout is not Layout.CNI_OLD:
        dated.append(("expiry_date", ("expiry", "expiry_check")))
    for check_name, names in dated:
        if checks[check_name].verifies(lines):
            for name in names:
                f = fields[name]
                out.update({(f.line, i): lines[f.line][i] for i in range(f.start, f.end)})
    for name in ("issuer", "nationality"):
        f = fields.get(name)
        if f is not None and f.of(lines) in COUNTRY_CODES:
            out.update({(f.line, i): lines[f.line][i] for i in range(f.start, f.end)})
    f = fields["document_code"]
    unsure = set(unsure)
    if f.of(lines) in _CODES[layout] and not any((f.line, i) in unsure for i in range(2)):
        out.update({(f.line, i): lines[f.line][i] for i in range(f.start, f.end)})
    return {w: c for w, c in out.items() if c != "<"}


def _glyph_vote(
    evidence: CellEvidence, where: Where, settled: Mapping[Where, str]
) -> tuple[str | None, dict[str, float]]:
    """The character class the cell's glyph matches among the settled cells (None when
    no class is clearly the same), and the best likeness per class."""
    best: dict[str, float] = {}
    for other, char in settled.items():
        if other == where:
            continue
        score = evidence.alike(where, other)
        if score is not None:
            k = _glyph_class(char)
            best[k] = max(score, best.get(k, -1.0))
    ranked = sorted(best.items(), key=lambda kv: -kv[1])
    if not ranked:
        return None, best
    top, score = ranked[0]
    second = ranked[1][1] if len(ranked) > 1 else -1.0
    if score >= GLYPH_SAME and score - second >= GLYPH_MARGIN:
        return top, best
    return None, best


def _look_alikes(
    evidence: CellEvidence, chars: Mapping[Where, str], fixed: set[Where]
) -> set[Where]:
    """Cells printed alike (the same character) but read as different characters: the
    one not backed by the card's own print is wrong, or both may be."""
    out: set[Where] = set()
    items = sorted(chars.items())
    for n, (a, ca) in enumerate(items):
        for b, cb in items[n + 1 :]:
            if _glyph_class(ca) == _glyph_class(cb) or (a in fixed and b in fixed):
                continue
            score = evidence.alike(a, b)
            if score is not None and score >= GLYPH_SAME:
                out.update(w for w in (a, b) if w not in fixed)
    return out


def resolve_cells(
    evidence: CellEvidence, *, reference: dt.date | None = None
) -> CellResolution | None:
    """Make one reading out of a cell-by-cell read (see above); None when the cells do
    not have the shape of an MRZ layout."""
    cells = evidence.cells
    layout = _layout_of_cells(cells)
    if layout is None:
        return None
    if layout is Layout.CNI_OLD and not _looks_like_old_card(
        ["".join(c.char or "<" for c in line) for line in cells]
    ):
        return None
    kinds = {(f.line, i): f.kind for f in FIELDS[layout] for i in range(f.start, f.end)}
    options = {
        (li, ci): _cell_options(cell, kinds[(li, ci)])
        for li, line in enumerate(cells)
        for ci, cell in enumerate(line)
    }
    top = tuple(
        "".join((options[(li, ci)] or ["<"])[0] for ci in range(len(line)))
        for li, line in enumerate(cells)
    )
    if any(not opts for w, opts in options.items() if kinds[w] != ALPHA):
        return CellResolution(layout, top, reason="caractère illisible")
    hesitant = {
        (li, ci) for li, line in enumerate(cells) for ci, c in enumerate(line) if _hesitated(c)
    }
    settled = _settled_cells(layout, top, hesitant)
    doubtful: set[Where] = set()
    fixes: list[Where] = []
    numbered = {
        (f.line, i)
        for f in FIELDS[layout]
        if f.kind == ALNUM and any(c.covers(f) for c in CHECKS[layout] if c.name != "composite")
        for i in range(f.start, f.end)
    }
    names = {w for w, kind in kinds.items() if kind == ALPHA and w not in settled}
    backed: set[Where] = set(settled)
    for where in sorted(numbered | names):
        cell = cells[where[0]][where[1]]
        if cell.char == "<":
            continue
        kind = kinds[where]
        vote, best = _glyph_vote(evidence, where, settled)
        if vote is not None:
            members = [c for c in "0O" if _glyph_class(c) == vote] or [vote]
            members = [m for m in members if _fits(m, kind) == m]
            if members:
                members.sort(key=lambda c: c != cell.char)
                if members[0] != (options[where] or [""])[0]:
                    fixes.append(where)
                options[where] = members
                backed.add(where)
                continue
            doubtful.add(where)  # printed like a character its field cannot hold
            continue
        kept = [
            c
            for c in options[where]
            if not (_glyph_class(c) in best and best[_glyph_class(c)] < GLYPH_OTHER)
        ]
        if not kept and where in numbered:
            return CellResolution(layout, top, reason="caractère sans lecture plausible")
        options[where] = kept
        if not kept or _hesitated(cell) or kept[0] != _fits(cell.char, kind):
            doubtful.add(where)
    # every combination of the cells left open; the check digits choose
    open_cells = [w for w, opts in options.items() if len(opts) > 1 and kinds[w] != ALPHA]
    count = 1
    for w in open_cells:
        count *= len(options[w])
    if count > _MAX_CELL_COMBINATIONS:
        return CellResolution(layout, top, reason="trop de lectures possibles")
    base = [
        [(options[(li, ci)] or ["<"])[0] for ci in range(len(line))]
        for li, line in enumerate(cells)
    ]
    top = tuple("".join(row) for row in base)  # with what the card's print settled
    verifying: dict[tuple[str, ...], None] = {}
    for combo in itertools.product(*(options[w] for w in open_cells)):
        trial = [row[:] for row in base]
        for (li, ci), char in zip(open_cells, combo, strict=True):
            trial[li][ci] = char
        lines = tuple("".join(row) for row in trial)
        if all(_checks_of(layout, lines).values()):
            verifying.setdefault(lines, None)
    found = tuple(itertools.islice(verifying, _MAX_ALTERNATIVES))
    if not verifying:
        return CellResolution(
            layout, top, doubtful=tuple(sorted(doubtful)), reason="aucune lecture ne vérifie"
        )
    if len(verifying) > 1:
        return CellResolution(
            layout,
            top,
            doubtful=tuple(sorted(doubtful | set(open_cells))),
            alternatives=found,
            reason="plusieurs lectures vérifient",
        )
    (lines,) = found
    # a cell the check digits had to choose among characters Tesseract hesitated on
    doubtful.update(
        w for w in open_cells if w not in backed and lines[w[0]][w[1]] != base[w[0]][w[1]]
    )
    chars = {
        (li, ci): lines[li][ci]
        for li, line in enumerate(cells)
        for ci, cell in enumerate(line)
        if lines[li][ci] != "<"
    }
    doubtful |= _look_alikes(evidence, chars, backed)
    reading = parse(list(lines), reference=reference)
    if reading is None or not reading.valid or reading.lines != lines:
        return CellResolution(layout, top, alternatives=found, reason="lecture invalide")
    return CellResolution(
        layout,
        top,
        lines,
        sure=not doubtful,
        doubtful=tuple(sorted(doubtful)),
        alternatives=found,
        reason="caractères incertains" if doubtful else "",
        glyph_fixes=tuple(fixes),
        name_words=_name_words(layout, cells),
    )


def _name_cells(layout: Layout) -> set[Where]:
    """Cells of the name fields no check digit covers."""
    composite = next(c for c in CHECKS[layout] if c.name == "composite")
    return {
        (f.line, i)
        for f in FIELDS[layout]
        if f.name in ("names", "surname", "given_names") and not composite.covers(f)
        for i in range(f.start, f.end)
    }


def _name_words(
    layout: Layout, cells: Sequence[Sequence[CellLike]]
) -> tuple[tuple[Where, ...], ...]:
    """Runs of character (non-filler) cells in the unprotected name fields."""
    words: list[tuple[Where, ...]] = []
    run: list[Where] = []
    for w in sorted(_name_cells(layout)):
        if cells[w[0]][w[1]].char != "<" and (not run or run[-1] == (w[0], w[1] - 1)):
            run.append(w)
            continue
        if run:
            words.append(tuple(run))
        run = [w] if cells[w[0]][w[1]].char != "<" else []
    if run:
        words.append(tuple(run))
    return tuple(words)


# characters the check digit always tells apart (values not a multiple of 10 apart),
# which a second print in another font may still confuse
_FOLDS = ("0O", "1I", "5S", "8B", "2Z")
_FOLD = str.maketrans({c: group[0] for group in _FOLDS for c in group})
_FOLD_CLASS = {c: group for group in _FOLDS for c in group}
_MAX_PROPOSALS = 512


def _fold(value: str) -> str:
    return value.translate(_FOLD)


def _number_cells(layout: Layout) -> tuple[Field, Where]:
    """The document-number field and its check-digit cell."""
    check = next(c for c in CHECKS[layout] if c.name == "document_number")
    line, start, end = check.parts[0]
    return Field("number", line, start, end, ALNUM), check.digit


def can_confirm(resolution: CellResolution) -> bool:
    """Are the doubts of this TD1 reading all on its document number (or its check
    digit) and its unprotected names, which the other side of the card prints too?"""
    if resolution.layout is not Layout.TD1:
        return False
    f, check_cell = _number_cells(resolution.layout)
    allowed = {(f.line, i) for i in range(f.start, f.end)} | {check_cell}
    allowed |= _name_cells(resolution.layout)
    return all(w in allowed for w in resolution.doubtful)


def confirm_elsewhere(
    results: CellResolution | Sequence[CellResolution],
    text: str,
    *,
    reference: dt.date | None = None,
) -> tuple[str, ...] | None:
    """Doubtful or ambiguous TD1 readings of one band (``results``: one per read)
    confirmed by what the other side of the card prints (another print, another
    font): its document number and names, OCR'd as ``text``. The first reading whose
    doubts are all on the number and the names (``can_confirm``) and that they settle:

    - the number: ``_confirm_number``; and no other read of the band may have found
      only other numbers that verify (the other side never overrules the band);
    - each name word with a doubtful letter: exactly one word of the other side has its
      length and its other letters (accents aside); its letters fill the doubtful
      cells.

    The reading, wholly valid again, is returned; None when nothing is settled."""
    if isinstance(results, CellResolution):
        results = [results]
    f, _ = _number_cells(Layout.TD1)
    for resolution in results:
        lines = _confirm_one(resolution, text, reference)
        if lines is None:
            continue
        number = f.of(lines)
        if all(
            not (r.alternatives or r.lines)
            or number in {f.of(a) for a in (*r.alternatives, *([r.lines] if r.lines else []))}
            for r in results
            if r.layout is Layout.TD1
        ):
            return lines
    return None


def printed_elsewhere(lines: Sequence[str], text: str) -> bool:
    """Does the other side of a TD1 card (``text``, OCR'd) print this reading's document
    number (0/O, 1/I, 5/S, 8/B, 2/Z aside, the only such variant of it that verifies)
    and every word of its names? For a TD1 reading that did not come cell by cell,
    which nothing else backs."""
    layout = Layout.TD1
    if tuple(len(x) for x in lines) != (30, 30, 30):
        return False
    f, _ = _number_cells(layout)
    number = f.of(lines)
    every = {(f.line, i) for i in range(f.start, f.end)}
    resolution = CellResolution(
        layout, tuple(lines), tuple(lines), doubtful=tuple(sorted(every)), alternatives=()
    )
    if _confirm_number(resolution, _TOKEN.findall(_without_mrz(text))) != tuple(lines):
        return False
    names = _name_tokens(text)
    words = [w for w in re.split("<+", lines[2]) if w]
    return bool(number) and bool(words) and all(w in names for w in words)


def _confirm_one(
    resolution: CellResolution, text: str, reference: dt.date | None
) -> tuple[str, ...] | None:
    if not can_confirm(resolution):
        return None
    f, check_cell = _number_cells(resolution.layout)
    doubts = set(resolution.doubtful)
    number_cells = {(f.line, i) for i in range(f.start, f.end)} | {check_cell}
    if resolution.lines is None or doubts & number_cells:
        lines = _confirm_number(resolution, _TOKEN.findall(_without_mrz(text)))
        if lines is None:
            return None
    else:
        lines = resolution.lines
    named = [word for word in resolution.name_words if doubts & set(word)]
    if named:
        lines = _confirm_names(lines, named, doubts, _name_tokens(text))
        if lines is None:
            return None
    reading = parse(list(lines), reference=reference)
    if reading is None or not reading.valid or reading.lines != tuple(lines):
        return None
    return tuple(lines)


_TOKEN = re.compile(r"[A-Za-z0-9]+")


def _without_mrz(text: str) -> str:
    """The text without its MRZ-like lines (with '<'): the other side's own print only."""
    return "\n".join(line for line in text.splitlines() if "<" not in line)


def _name_tokens(text: str) -> set[str]:
    return set(name_tokens(_without_mrz(text)))


def _confirm_names(
    lines: Sequence[str],
    words: Sequence[tuple[Where, ...]],
    doubts: set[Where],
    printed: set[str],
) -> tuple[str, ...] | None:
    out = [list(line) for line in lines]
    for word in words:
        matches = {
            token
            for token in printed
            if len(token) == len(word)
            and all(w in doubts or token[i] == lines[w[0]][w[1]] for i, w in enumerate(word))
        }
        if len(matches) != 1:
            return None
        (token,) = matches
        for i, (li, ci) in enumerate(word):
            out[li][ci] = token[i]
    return tuple("".join(row) for row in out)


def _confirm_number(resolution: CellResolution, tokens: Iterable[str]) -> tuple[str, ...] | None:
    """The document number read elsewhere, a token of the number's width: it may fill
    the doubtful cells of the number, never the others, and may confuse characters the
    check digit tells apart (0/O, 1/I, 5/S, 8/B, 2/Z). Every reading that verifies and
    matches a token that way is a candidate, with the verifying readings the cells
    gave; the number is confirmed when exactly one candidate remains."""
    layout = resolution.layout
    f, _ = _number_cells(layout)
    width = f.end - f.start
    words = {t for t in (w.upper() for w in tokens) if len(t) == width and t.isalnum()}
    if not words:
        return None
    candidates: dict[tuple[str, ...], None] = dict.fromkeys(resolution.alternatives)
    if resolution.lines is not None:
        candidates.setdefault(resolution.lines, None)
    base = list(resolution.lines or resolution.top)
    known = f.of(base)
    open_at = {ci - f.start for li, ci in resolution.doubtful if li == f.line}
    for word in words:
        slots: list[str] = []
        for i, char in enumerate(word):
            if i in open_at:
                slots.append(_FOLD_CLASS.get(char, char))
            elif _fold(char) != _fold(known[i]):
                break
            else:
                slots.append("0O" if known[i] in "0O" else known[i])
        else:
            for value in itertools.islice(itertools.product(*slots), _MAX_PROPOSALS):
                lines = list(base)
                row = lines[f.line]
                lines[f.line] = row[: f.start] + "".join(value) + row[f.end :]
                if all(_checks_of(layout, lines).values()):
                    candidates.setdefault(tuple(lines), None)
    folded = {_fold(w) for w in words}
    matching = [c for c in candidates if _fold(f.of(c)) in folded]
    return matching[0] if len(matching) == 1 else None


def describe(reading: MrzReading) -> list[tuple[str, Any, bool | None]]:
    """(field, value, verified) rows for display (the CLI)."""
    checks = reading.field_checks()
    fields_ = reading.to_fields()
    rows = []
    for key in (*FIELD_KEYS, "issuer", "nationality"):
        rows.append((key, fields_.get(key), checks.get(key)))
    if "issue_month" in fields_:
        rows.append(("issue_month", fields_["issue_month"], checks.get("document_number")))
    return rows
