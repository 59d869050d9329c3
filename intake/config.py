"""Intake settings: frozen, validated, every limit with its range.

Defaults are the embedded ones (FAQ: 5 Mo, PDF or JPG); ``from_env`` reads ``JUSTIF_*``
variables (``JUSTIF_MAX_PAGES=20``…). Nothing here is read by validators: the values
they need reach them through their frozen context.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# (minimum, maximum) for every numeric setting: a typo must not remove a limit.
_RANGES: dict[str, tuple[float, float]] = {
    "max_bytes": (1_000, 50_000_000),
    "max_raw_bytes": (1_000, 200_000_000),
    "max_pages": (1, 500),
    "max_pixels": (1_000_000, 400_000_000),
    "child_memory_mb": (128, 16_384),
    "check_memory_mb": (256, 16_384),
    "child_cpu_s": (1, 3_600),
    "child_timeout_s": (1, 3_600),
    "check_timeout_s": (1, 3_600),
    "ocr_timeout_s": (1, 600),
    "child_jobs": (1, 10_000),
    "lease_s": (0, 86_400),
    "retention_identity_days": (0, 3_650),
}


def _default_data_dir() -> Path:
    return Path(os.environ.get("JUSTIF_DATA_DIR", "instance/data"))


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path = field(default_factory=_default_data_dir)
    # FAQ « La taille maximale autorisée est de 5 Mo »: the stricter reading, 10^6 bytes
    max_bytes: int = 5_000_000
    # the web accepts a larger raw upload only to offer a shrunk copy (domain.md §2)
    max_raw_bytes: int = 20_000_000
    max_pages: int = 10
    max_pixels: int = 60_000_000
    # the child process that parses untrusted bytes
    child_memory_mb: int = 512
    child_cpu_s: int = 20
    child_timeout_s: float = 20.0
    # a full check (OCR, MRZ, faces) runs in a limited child too, on the stored file that
    # passed intake: longer, and with room for OpenCV and Tesseract
    check_timeout_s: float = 60.0
    check_memory_mb: int = 1024
    ocr_timeout_s: float = 15.0
    # jobs served by one warm child before it is replaced
    child_jobs: int = 50
    academic_year: str = ""
    photo_profile: str = "university"
    # appended to the ruleset version: bump it after changing rule configuration that
    # the code cannot see, so `justif revalidate` knows earlier reports are stale
    ruleset_tag: str = ""
    # how long a worker owns a version it checks before another may take it over
    # (0: derived from check_timeout_s)
    lease_s: float = 0.0
    # Celery broker (Redis); empty: checks run in the in-process pool
    broker_url: str = ""
    # identity documents are deleted this many days after the decision on them
    # (the appeal window); the decision, findings and extracted fields are kept
    retention_identity_days: int = 30

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir))
        for name, (low, high) in _RANGES.items():
            value = getattr(self, name)
            if not low <= value <= high:
                raise ValueError(f"setting {name}={value} outside [{low}, {high}]")
        if not self.academic_year:
            object.__setattr__(self, "academic_year", current_academic_year())

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Settings:
        """Settings from a mapping of field names (case-insensitive); unknown keys ignored,
        strings converted to each field's type."""
        by_name = {f.name: f for f in dataclasses.fields(cls)}
        kwargs: dict[str, Any] = {}
        for key, raw in values.items():
            f = by_name.get(key.lower())
            if f is None or raw is None:
                continue
            kwargs[f.name] = _convert(f.type, raw)
        return cls(**kwargs)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if environ is None else environ
        values = {k[len("JUSTIF_") :]: v for k, v in env.items() if k.startswith("JUSTIF_")}
        values.update(overrides)
        return cls.from_mapping(values)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def _convert(type_name: Any, raw: Any) -> Any:
    kind = str(type_name)
    if isinstance(raw, str):
        if "int" in kind:
            return int(raw)
        if "float" in kind:
            return float(raw)
        if "Path" in kind:
            return Path(raw)
    return raw


def current_academic_year(today: dt.date | None = None) -> str:
    """The campaign year: registrations for N/N+1 open in summer, so from July on the
    campaign is N-(N+1). Services should set it explicitly (``JUSTIF_ACADEMIC_YEAR``)."""
    day = today or dt.datetime.now(dt.UTC).date()
    start = day.year if day.month >= 7 else day.year - 1
    return f"{start}-{start + 1}"
