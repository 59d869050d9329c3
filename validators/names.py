"""Comparing a person's names across a document and the enrolment record.

One place for the rule used by CVEC, MRZ and the other document checks: accents,
case, hyphens, apostrophes and spacing never matter; compound first names may be
given in part ("MAELYS GAELLE MARIE" on the card, "Maëlys" in the record); long
tokens tolerate one OCR slip; surname and first name swapped is its own result (the
FAQ: « vous avez peut-être inversé votre nom et prénom »).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

_NON_LETTER = re.compile(r"[^A-Z]+")


def fold(text: str) -> str:
    """Upper case A–Z and single spaces: accents removed, every other character a space.
    ``fold("Lefèvre-d’Aubigné")`` → ``"LEFEVRE D AUBIGNE"``."""
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_only = "".join(c for c in decomposed if not unicodedata.combining(c))
    ascii_only = ascii_only.replace("ß", "SS").replace("Æ", "AE").replace("æ", "AE")
    ascii_only = ascii_only.replace("Œ", "OE").replace("œ", "OE")
    return _NON_LETTER.sub(" ", ascii_only.upper()).strip()


def tokens(text: str) -> list[str]:
    return [t for t in fold(text).split() if t]


def edit_distance(a: str, b: str, limit: int = 3) -> int:
    """Levenshtein distance, stopping early above ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def token_matches(a: str, b: str) -> bool:
    """Equal, or one slip apart when both are long enough (≥ 5 letters)."""
    if a == b:
        return True
    return min(len(a), len(b)) >= 5 and edit_distance(a, b, 1) <= 1


def names_match(document: str, record: str) -> bool:
    """Every token of the shorter side is found on the other (order free); joined
    forms count too ("JEAN PIERRE" = "JEANPIERRE")."""
    doc, rec = tokens(document), tokens(record)
    if not doc or not rec:
        return False
    if "".join(doc) == "".join(rec):
        return True
    short, long_ = (doc, rec) if len(doc) <= len(rec) else (rec, doc)
    return all(any(token_matches(s, t) for t in long_) for s in short)


class NameMatch(StrEnum):
    MATCH = "match"
    INVERTED = "inverted"  # surname and first name swapped
    LAST_NAME_DIFFERS = "last_name_differs"
    FIRST_NAME_DIFFERS = "first_name_differs"
    MISMATCH = "mismatch"
    UNKNOWN = "unknown"  # a side is missing


@dataclass(frozen=True, slots=True)
class PersonComparison:
    result: NameMatch
    document: str
    record: str

    @property
    def ok(self) -> bool:
        return self.result is NameMatch.MATCH


def compare_person(
    doc_last: str | None, doc_first: str | None, rec_last: str | None, rec_first: str | None
) -> PersonComparison:
    """Compare (surname, first names) read on a document with the record's."""
    shown_doc = f"{fold(doc_last or '')} / {fold(doc_first or '')}"
    shown_rec = f"{fold(rec_last or '')} / {fold(rec_first or '')}"
    if not (doc_last and rec_last):
        return PersonComparison(NameMatch.UNKNOWN, shown_doc, shown_rec)
    last_ok = names_match(doc_last, rec_last)
    first_ok = not (doc_first and rec_first) or names_match(doc_first, rec_first)
    if last_ok and first_ok:
        return PersonComparison(NameMatch.MATCH, shown_doc, shown_rec)
    if (
        doc_first
        and rec_first
        and names_match(doc_last, rec_first)
        and names_match(doc_first, rec_last)
    ):
        return PersonComparison(NameMatch.INVERTED, shown_doc, shown_rec)
    if last_ok:
        return PersonComparison(NameMatch.FIRST_NAME_DIFFERS, shown_doc, shown_rec)
    if first_ok and doc_first and rec_first:
        return PersonComparison(NameMatch.LAST_NAME_DIFFERS, shown_doc, shown_rec)
    return PersonComparison(NameMatch.MISMATCH, shown_doc, shown_rec)


def name_in_text(name: str, text: str) -> bool:
    """Is every token of ``name`` in ``text`` (OCR or text layer), one slip allowed on
    long tokens?"""
    wanted = tokens(name)
    if not wanted:
        return False
    present = tokens(text)
    return all(any(token_matches(w, p) for p in present) for w in wanted)
