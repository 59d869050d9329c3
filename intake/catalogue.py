"""Which pieces a dossier asks for, and the refusal reasons per kind — read from
``intake/data/pieces.toml`` (domain.md §1 and §6.6), never written in code.

``Catalogue.requirements(profile, day)`` evaluates each piece's ``when`` flags on the
registration day; the flags themselves come from :func:`profile_flags`, a pure function
of the student's record.
"""

from __future__ import annotations

import fnmatch
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from validators.base import Kind, age_on

FLAGS = (
    "always",
    "first_registration",
    "reregistration",
    "minor",
    "under_25",
    "apprentice",
    "formation_initiale",
    "jdc_concerned",
    "requests_prrel_beneficiary",
    "requests_prrel_tutor",
    "requests_rse",
)


@dataclass(frozen=True)
class PieceSpec:
    kind: str
    label: str
    group: str
    when: tuple[str, ...]
    help: str = ""
    two_sides: bool = False
    fixable: bool = False


@dataclass(frozen=True)
class Group:
    code: str
    label: str
    blocking: bool


@dataclass(frozen=True)
class Reason:
    code: str
    kinds: tuple[str, ...]
    message: str
    message_ants: str = ""
    appended: bool = False

    def applies_to(self, kind: str) -> bool:
        return "*" in self.kinds or kind in self.kinds

    def text(self, profile: str = "university") -> str:
        if profile == "ants" and self.message_ants:
            return self.message_ants
        return self.message


@dataclass(frozen=True)
class Requirement:
    """One piece of a dossier: its spec and whether it is required for this student."""

    spec: PieceSpec
    required: bool

    @property
    def kind(self) -> str:
        return self.spec.kind


def profile_flags(
    record: Mapping[str, Any], day: Any, *, jdc_exempt_foreign: bool = True
) -> dict[str, bool]:
    """The condition flags of domain.md §1 for a student's record on ``day``.

    ``record`` needs: birth_date, first_registration, apprentice, formation_continue,
    french_national, requests_prrel_beneficiary, requests_prrel_tutor, requests_rse.
    An unknown birth date makes the age flags false (the administrator can still mark
    a piece as required).
    """
    birth = record.get("birth_date")
    age = age_on(birth, day) if birth else None
    first = bool(record.get("first_registration", True))
    french = record.get("french_national")
    return {
        "always": True,
        "first_registration": first,
        "reregistration": not first,
        "minor": age is not None and age < 18,
        "under_25": age is not None and age < 25,
        "apprentice": bool(record.get("apprentice")),
        "formation_initiale": not record.get("formation_continue"),
        "jdc_concerned": not (jdc_exempt_foreign and french is False),
        "requests_prrel_beneficiary": bool(record.get("requests_prrel_beneficiary")),
        "requests_prrel_tutor": bool(record.get("requests_prrel_tutor")),
        "requests_rse": bool(record.get("requests_rse")),
    }


def _holds(condition: str, flags: Mapping[str, bool]) -> bool:
    negate = condition.startswith("!")
    name = condition.lstrip("!")
    return bool(flags[name]) != negate


@dataclass(frozen=True)
class Catalogue:
    pieces: tuple[PieceSpec, ...]
    groups: Mapping[str, Group]
    reasons: tuple[Reason, ...]
    options: Mapping[str, Any] = field(default_factory=dict)
    student_warnings: tuple[str, ...] = ()

    # -- loading ----------------------------------------------------------------------
    @classmethod
    def from_toml(cls, text: str) -> Catalogue:
        data = tomllib.loads(text)
        groups = {
            code: Group(code, g["label"], bool(g.get("blocking", False)))
            for code, g in data.get("groups", {}).items()
        }
        pieces = []
        for p in data.get("pieces", []):
            Kind(p["kind"])  # an unknown kind is a catalogue error
            when = tuple(p.get("when", []))
            for cond in when:
                if cond.lstrip("!") not in FLAGS:
                    raise ValueError(f"pieces.toml: unknown flag {cond!r} for {p['kind']}")
            if p["group"] not in groups:
                raise ValueError(f"pieces.toml: unknown group {p['group']!r}")
            pieces.append(
                PieceSpec(
                    kind=p["kind"],
                    label=p["label"],
                    group=p["group"],
                    when=when,
                    help=p.get("help", ""),
                    two_sides=bool(p.get("two_sides", False)),
                    fixable=bool(p.get("fixable", False)),
                )
            )
        kinds = [p.kind for p in pieces]
        if len(set(kinds)) != len(kinds):
            raise ValueError("pieces.toml: a kind is listed twice")
        reasons = tuple(
            Reason(
                code=r["code"],
                kinds=tuple(r.get("kinds", ["*"])),
                message=r["message"],
                message_ants=r.get("message_ants", ""),
                appended=bool(r.get("appended", False)),
            )
            for r in data.get("reasons", [])
        )
        codes = [r.code for r in reasons]
        if len(set(codes)) != len(codes):
            raise ValueError("pieces.toml: a reason code is listed twice")
        return cls(
            pieces=tuple(pieces),
            groups=groups,
            reasons=reasons,
            options=data.get("options", {}),
            student_warnings=tuple(data.get("display", {}).get("student_warnings", [])),
        )

    @classmethod
    def load(cls, path: Path | str | None = None) -> Catalogue:
        if path is not None:
            return cls.from_toml(Path(path).read_text(encoding="utf-8"))
        return default_catalogue()

    # -- pieces -----------------------------------------------------------------------
    def spec(self, kind: str) -> PieceSpec:
        for p in self.pieces:
            if p.kind == kind:
                return p
        raise KeyError(kind)

    def flags(self, record: Mapping[str, Any], day: Any) -> dict[str, bool]:
        return profile_flags(
            record, day, jdc_exempt_foreign=bool(self.options.get("jdc_exempt_foreign", True))
        )

    def requirements(self, record: Mapping[str, Any], day: Any) -> list[Requirement]:
        """Every piece of the dossier, in catalogue order. Enrolment pieces are always
        listed (required or "Non concernée"); the other groups only when requested."""
        flags = self.flags(record, day)
        out = []
        for spec in self.pieces:
            required = all(_holds(c, flags) for c in spec.when)
            if not required and not self.groups[spec.group].blocking:
                continue
            out.append(Requirement(spec, required))
        return out

    # -- reasons ----------------------------------------------------------------------
    def reasons_for(self, kind: str) -> list[Reason]:
        """Refusal reasons an administrator may pick for ``kind`` (specific first)."""
        own = [r for r in self.reasons if not r.appended and "*" not in r.kinds and kind in r.kinds]
        general = [r for r in self.reasons if not r.appended and "*" in r.kinds]
        return own + general

    def reason(self, code: str) -> Reason | None:
        for r in self.reasons:
            if r.code == code:
                return r
        return None

    def appended_for(self, kind: str) -> list[Reason]:
        return [r for r in self.reasons if r.appended and r.applies_to(kind)]

    def student_sees_warning(self, code: str) -> bool:
        return any(fnmatch.fnmatchcase(code, pattern) for pattern in self.student_warnings)


@cache
def default_catalogue() -> Catalogue:
    text = resources.files("intake").joinpath("data/pieces.toml").read_text(encoding="utf-8")
    return Catalogue.from_toml(text)
