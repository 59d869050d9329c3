"""Bytes in → a judged, stored piece file.

``receive`` streams the upload to a private temporary file while counting (never
more than the limit + 1 byte is read), refuses empty and oversized files, has the
limited child decide the type and parse it (intake.parse), and stores the sanitised
copy content-addressed. ``analyse`` runs the kind's checks on a stored file in the
child. ``merge`` joins recto and verso in the child. None of them raises for a bad
file: every problem is a finding with its reason code.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import shutil
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from intake.config import Settings
from intake.sandbox import Sandbox, SandboxFailure, limits_from
from intake.storage import BlobStore
from validators.base import Kind, Student
from validators.codes import FileCode
from validators.verdict import Finding, Level, Result, Verdict, finding

_CHUNK = 64 * 1024
log = logging.getLogger("justif.intake")


@dataclass(frozen=True)
class Received:
    verdict: Verdict
    declared_name: str
    kind: str
    size: int
    upload_sha256: str | None = None
    mime: str | None = None
    pages: int = 0
    sha256: str | None = None  # of the stored (sanitised) bytes
    stored: Path | None = None
    duplicate: bool = False
    width: int | None = None
    height: int | None = None
    elapsed_ms: float = 0.0

    @property
    def accepted_for_storage(self) -> bool:
        return self.stored is not None


@dataclass
class _Spool:
    path: Path
    size: int = 0
    sha256: str = ""
    over: bool = False
    head: bytes = field(default=b"", repr=False)


def _spool(stream: BinaryIO, target: Path, limit: int) -> _Spool:
    """Copy at most ``limit + 1`` bytes of ``stream`` to ``target``."""
    digest = hashlib.sha256()
    spool = _Spool(target)
    with open(target, "wb") as fh:
        target.chmod(0o600)
        while spool.size <= limit:
            chunk = stream.read(min(_CHUNK, limit + 1 - spool.size))
            if not chunk:
                break
            fh.write(chunk)
            digest.update(chunk)
            spool.size += len(chunk)
    spool.over = spool.size > limit
    spool.sha256 = digest.hexdigest()
    return spool


def receive(
    stream: BinaryIO,
    declared_name: str,
    kind: str | Kind,
    *,
    settings: Settings | None = None,
    store: BlobStore | None = None,
    sandbox: Sandbox | None = None,
) -> Received:
    started = time.perf_counter()
    settings = settings or Settings()
    store = (store or BlobStore(settings.data_dir)).ensure()
    kind = str(Kind(kind))
    work = store.scratch_dir()
    own_sandbox = sandbox is None
    sandbox = sandbox or Sandbox(limits_from(settings), max_jobs=1)
    try:
        spool = _spool(stream, work / "upload", settings.max_bytes)

        def done(findings: list[Finding], **extra: Any) -> Received:
            blocking = [str(f.code) for f in findings if f.blocks]
            if blocking:
                # the class of refusal only: never the client's name or file content
                log.info("upload refused (%s): %s", kind, ",".join(blocking))
            return Received(
                verdict=Verdict.of(findings),
                declared_name=declared_name,
                kind=kind,
                size=spool.size,
                upload_sha256=spool.sha256 if not spool.over else None,
                elapsed_ms=round((time.perf_counter() - started) * 1000, 1),
                **extra,
            )

        if spool.size == 0:
            return done([finding(FileCode.EMPTY, size=0)])
        if spool.over:
            return done(
                [
                    finding(
                        FileCode.TOO_LARGE,
                        size=f"> {settings.max_bytes}",
                        size_mb=f"plus de {settings.max_bytes / 1e6:g}",
                        max_bytes=settings.max_bytes,
                    )
                ]
            )
        try:
            info = sandbox.run(
                "inspect",
                {
                    "path": str(spool.path),
                    "kind": kind,
                    "declared_name": declared_name,
                    "out_path": str(work / "stored"),
                    "max_bytes": settings.max_bytes,
                    "max_pages": settings.max_pages,
                    "max_pixels": settings.max_pixels,
                },
                timeout_s=settings.child_timeout_s,
                cpu_s=settings.child_cpu_s,
            )
        except SandboxFailure as failure:
            return done([failure.finding(Level.ERROR, Result.FAIL)])

        findings = [_finding_from(f) for f in info["findings"]]
        meta = {
            "mime": info.get("mime"),
            "pages": info.get("pages") or 0,
            "width": info.get("width"),
            "height": info.get("height"),
        }
        if any(f.blocks for f in findings) or not info.get("output"):
            return done(findings, **meta)
        output = Path(info["output"])
        sha = hashlib.sha256(output.read_bytes()).hexdigest()
        duplicate = store.exists(sha)
        store.put_file(output)
        if duplicate:
            findings.append(
                finding(FileCode.DUPLICATE, Level.INFO, result=Result.PASS, where="", sha256=sha)
            )
        meta["mime"] = info.get("output_mime") or meta["mime"]
        return done(findings, sha256=sha, stored=store.path_for(sha), duplicate=duplicate, **meta)
    finally:
        if own_sandbox:
            sandbox.close()
        shutil.rmtree(work, ignore_errors=True)


def _finding_from(data: Mapping[str, Any]) -> Finding:
    return Verdict.from_dict({"outcome": "review", "findings": [data]}).findings[0]


def upload_options(findings: Iterable[Mapping[str, Any] | Finding]) -> dict[str, Any]:
    """What the upload gate saw that checkers may use once the metadata is gone: the
    editing program named in a photo's EXIF (photo check, info for the reviewer)."""
    for f in findings:
        data = f.to_dict() if isinstance(f, Finding) else f
        if data.get("code") == FileCode.METADATA_REMOVED:
            software = (data.get("detail") or {}).get("software")
            if software:
                return {"source_software": software}
    return {}


def check_context(
    settings: Settings,
    *,
    student: Student | Mapping[str, Any] | None = None,
    registration_date: dt.date | None = None,
    photo_profile: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON context the child turns into a frozen validators Context."""
    if isinstance(student, Mapping):
        student = Student.from_mapping(student)
    day = registration_date or (student.registration_date if student else None)
    day = day or dt.datetime.now(dt.UTC).date()
    year = (student.academic_year if student else None) or settings.academic_year
    return {
        "registration_date": day.isoformat(),
        "academic_year": year,
        "student": student.to_dict() if student else None,
        "photo_profile": photo_profile or settings.photo_profile,
        "ocr_timeout_s": settings.ocr_timeout_s,
        "options": dict(options or {}),
    }


def analyse(
    stored: Path | str,
    mime: str,
    kind: str | Kind,
    context: Mapping[str, Any],
    *,
    settings: Settings | None = None,
    sandbox: Sandbox | None = None,
) -> Verdict:
    """The kind's checks on a stored file, in the child. A timeout or crash there is
    an inconclusive finding (a person looks), never an exception."""
    settings = settings or Settings()
    own = sandbox is None
    sandbox = sandbox or Sandbox(limits_from(settings, check=True), max_jobs=1)
    try:
        value = sandbox.run(
            "check",
            {"path": str(stored), "mime": mime, "kind": str(Kind(kind)), "context": dict(context)},
            timeout_s=settings.check_timeout_s,
        )
    except SandboxFailure as failure:
        return Verdict.of([failure.finding(Level.WARNING, Result.INCONCLUSIVE)])
    finally:
        if own:
            sandbox.close()
    return Verdict.from_dict(value)


@dataclass(frozen=True)
class Merged:
    ok: bool
    pages: int = 0
    size: int = 0
    fits: bool = True
    steps: tuple[str, ...] = ()
    finding: Finding | None = None


def merge(
    paths: list[Path | str],
    out: Path | str,
    *,
    settings: Settings | None = None,
    sandbox: Sandbox | None = None,
) -> Merged:
    """Recto first: ``paths`` in order into one PDF at ``out`` (see intake.merge)."""
    settings = settings or Settings()
    own = sandbox is None
    sandbox = sandbox or Sandbox(limits_from(settings), max_jobs=1)
    try:
        value = sandbox.run(
            "merge",
            {"paths": [str(p) for p in paths], "out": str(out), "max_bytes": settings.max_bytes},
            timeout_s=settings.check_timeout_s,
        )
    except SandboxFailure as failure:
        return Merged(ok=False, finding=failure.finding())
    finally:
        if own:
            sandbox.close()
    return Merged(
        ok=True,
        pages=value["pages"],
        size=value["size"],
        fits=value["fits"],
        steps=tuple(value["steps"]),
    )
