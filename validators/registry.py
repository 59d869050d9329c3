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

# kind -> "module:function"; add a line when a kind gets its checker.
CHECKERS: dict[Kind, str] = {}

# Modules whose ReasonCode enums must be importable for code_from_str.
CODE_MODULES: tuple[str, ...] = ("validators.codes",)


def _not_checked(doc: Document, ctx: Context) -> Verdict:
    return Verdict.of(
        [
            finding(
                KindCode.NOT_CHECKED, Level.WARNING, result=Result.INCONCLUSIVE, kind=str(doc.kind)
            )
        ]
    )


@cache
def get_checker(kind: Kind | str) -> Checker:
    target = CHECKERS.get(Kind(kind))
    if target is None:
        return _not_checked
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def import_code_modules() -> None:
    for module in (*CODE_MODULES, *(t.partition(":")[0] for t in CHECKERS.values())):
        importlib.import_module(module)


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
