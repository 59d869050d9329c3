"""The one result shape every check returns.

A :class:`Verdict` has an :class:`Outcome`, a tuple of :class:`Finding` and the extracted
``fields``. Findings carry a stable dotted reason code (a member of one of the
:mod:`validators.codes` enums), a :class:`Level`, the French message a student reads,
and a ``detail`` mapping of measured values. Their :class:`Result` says whether the
criterion passed, failed, could not be judged (``inconclusive``) or was not run.

The outcome is computed from the findings, never set by hand:

- any failed ``error`` finding → ``rejected`` (the student must fix something);
- otherwise any ``inconclusive`` finding or failed ``warning`` → ``review``
  (a person must look);
- otherwise → ``accepted``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from validators.codes import ReasonCode


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    REVIEW = "review"


class Level(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class Result(StrEnum):
    PASS = "pass"  # noqa: S105 - not a password
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"
    SKIPPED = "skipped"


def _frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True, slots=True)
class Finding:
    """One judged criterion. Build it with :func:`finding` so the message comes from
    the catalogue."""

    code: ReasonCode
    level: Level
    message: str
    detail: Mapping[str, Any] = field(default_factory=dict)
    result: Result = Result.FAIL

    def __post_init__(self) -> None:
        object.__setattr__(self, "detail", _frozen(self.detail))

    @property
    def blocks(self) -> bool:
        """A failed error: the student must fix something."""
        return self.result is Result.FAIL and self.level is Level.ERROR

    @property
    def flags(self) -> bool:
        """Something a person must look at."""
        return self.result is Result.INCONCLUSIVE or (
            self.result is Result.FAIL and self.level is Level.WARNING
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": str(self.code),
            "level": str(self.level),
            "message": self.message,
            "detail": _jsonable(self.detail),
            "result": str(self.result),
        }


def finding(
    code: ReasonCode,
    level: Level | str = Level.ERROR,
    *,
    result: Result | str = Result.FAIL,
    message: str | None = None,
    **detail: Any,
) -> Finding:
    """A finding whose message is the code's French text, formatted with ``detail``."""
    return Finding(
        code=code,
        level=Level(level),
        message=message if message is not None else code.render(detail),
        detail=detail,
        result=Result(result),
    )


def passed(code: ReasonCode, **detail: Any) -> Finding:
    """A criterion that was measured and met (level info)."""
    return finding(
        code, Level.INFO, result=Result.PASS, message=code.render(detail, code.ok_message), **detail
    )


def inconclusive(code: ReasonCode, **detail: Any) -> Finding:
    """A criterion that could not be judged: a person looks, the student is not blamed."""
    return finding(
        code,
        Level.WARNING,
        result=Result.INCONCLUSIVE,
        message=code.render(detail, code.inconclusive_message),
        **detail,
    )


def outcome_of(findings: Iterable[Finding]) -> Outcome:
    found = list(findings)
    if any(f.blocks for f in found):
        return Outcome.REJECTED
    if any(f.flags for f in found):
        return Outcome.REVIEW
    return Outcome.ACCEPTED


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: Outcome
    findings: tuple[Finding, ...] = ()
    fields: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", _frozen(self.fields))

    @classmethod
    def of(cls, findings: Iterable[Finding], fields: Mapping[str, Any] | None = None) -> Verdict:
        found = tuple(findings)
        return cls(outcome=outcome_of(found), findings=found, fields=fields or {})

    def merged(self, other: Verdict) -> Verdict:
        """Both verdicts' findings and fields (``other`` wins on a field clash)."""
        return Verdict.of(self.findings + other.findings, {**self.fields, **other.fields})

    @property
    def codes(self) -> list[str]:
        return [str(f.code) for f in self.findings]

    def failed_codes(self) -> list[str]:
        """Codes of the findings that did not pass (fail or inconclusive)."""
        return [
            str(f.code) for f in self.findings if f.result in (Result.FAIL, Result.INCONCLUSIVE)
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": str(self.outcome),
            "findings": [f.to_dict() for f in self.findings],
            "fields": _jsonable(self.fields),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Verdict:
        from validators.codes import code_from_str

        findings = tuple(
            Finding(
                code=code_from_str(f["code"]),
                level=Level(f["level"]),
                message=f["message"],
                detail=f.get("detail") or {},
                result=Result(f.get("result", "fail")),
            )
            for f in data.get("findings", ())
        )
        return cls(
            outcome=Outcome(data["outcome"]),
            findings=findings,
            fields=data.get("fields") or {},
        )


def _jsonable(value: Any) -> Any:
    """Plain JSON types (dates as ISO strings, enums as their value, tuples as lists)."""
    import datetime as _dt

    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, StrEnum):
        return str(value)
    if isinstance(value, _dt.date | _dt.datetime):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 4)
    if value is None or isinstance(value, str | int | bool):
        return value
    if hasattr(value, "item"):  # numpy scalars
        return _jsonable(value.item())
    return str(value)
