"""Piece kind → checker. One line per kind; modules are imported lazily so that a
CVEC check does not pay for OpenCV.

A kind without its checker yet gets ``review`` with ``kind.not_checked``.
"""

from __future__ import annotations

import hashlib
import importlib
from functools import cache

from validators.base import Checker, Context, Document, Kind
from validators.codes import KindCode
from validators.verdict import Level, Result, Verdict, finding

# Bump when a rule changes what a check decides: stored reports made under another
# version are stale and `justif revalidate` re-runs them.
RULESET_BASE = "2026.11.1"

# kind -> "module:function". A kind whose module does not exist (yet) answers
# review / kind.not_checked.
CHECKERS: dict[Kind, str] = {
    Kind.IDENTITY: "validators.identity:check",
    Kind.PHOTO: "validators.photo:check",
    Kind.CVEC: "validators.cvec:check",
    Kind.BAC: "validators.bac:check",
    Kind.JDC: "validators.documents:check_jdc",
    Kind.DIPLOMA: "validators.documents:check_diploma",
    Kind.PARENTAL_CONSENT: "validators.documents:check_parental_consent",
    Kind.APPRENTICESHIP_CONTRACT: "validators.documents:check_apprenticeship_contract",
}

# Modules whose ReasonCode enums must be importable for code_from_str.
CODE_MODULES: tuple[str, ...] = (
    "validators.codes",
    "validators.identifiers",
    "validators.mrz",
    "validators.photo",
    "validators.documents",
)


def _not_checked(doc: Document, ctx: Context) -> Verdict:
    return Verdict.of(
        [
            finding(
                KindCode.NOT_CHECKED, Level.WARNING, result=Result.INCONCLUSIVE, kind=str(doc.kind)
            )
        ]
    )


def _import_if_present(module: str):
    """The module, or None when that very module does not exist (an import error
    inside an existing module still raises)."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name == module:
            return None
        raise


@cache
def get_checker(kind: Kind | str) -> Checker:
    target = CHECKERS.get(Kind(kind))
    if target is None:
        return _not_checked
    module_name, _, name = target.partition(":")
    module = _import_if_present(module_name)
    if module is None or not hasattr(module, name):
        return _not_checked
    return getattr(module, name)


def import_code_modules() -> None:
    for module in (*CODE_MODULES, *(t.partition(":")[0] for t in CHECKERS.values())):
        _import_if_present(module)


@cache
def ruleset_version() -> str:
    """RULESET_BASE plus a digest of the rule data files (profiles, catalogues), so a
    threshold change in configuration also makes earlier reports stale."""
    from importlib import resources

    digest = hashlib.sha256(RULESET_BASE.encode())
    data = resources.files("validators").joinpath("data")
    if data.is_dir():
        for item in sorted(data.iterdir(), key=lambda p: p.name):
            if item.is_file():
                digest.update(item.name.encode())
                digest.update(item.read_bytes())
    return f"{RULESET_BASE}+{digest.hexdigest()[:8]}"
