"""A file over 5 Mo, made to fit and offered to the student (domain.md §2.2).

The web takes a raw upload up to ``max_raw_bytes`` (20 MB) only to offer a shrunk copy:
the original is parsed and re-compressed in the limited child (a JPEG re-encoded with
its orientation applied, quality then long side reduced; an image-only PDF with its
scans re-compressed), the copy waits under ``<data>/offers/`` (0600, written atomically)
with a small JSON record, and only the student's confirmation sends it through the
normal intake as a new version. Nothing over the limit is ever stored as a piece; the
original is never kept; an offer not taken is deleted after ``OFFER_TTL_S``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import BinaryIO

from intake.config import Settings
from intake.receive import _spool
from intake.sandbox import Sandbox, SandboxFailure
from intake.storage import BlobStore

OFFER_TTL_S = 24 * 3600
_TOKEN = re.compile(r"[A-Za-z0-9_-]{24}")


@dataclass(frozen=True)
class Offer:
    token: str
    student_id: int
    kind: str
    display_name: str
    original_size: int
    size: int
    mime: str
    steps: tuple[str, ...]
    created: float
    preview: bool = False  # a PNG of the first page, rendered in the child

    @property
    def original_mb(self) -> str:
        return _mb(self.original_size)

    @property
    def size_mb(self) -> str:
        return _mb(self.size)


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f}".replace(".", ",")


def offers_dir(settings: Settings) -> Path:
    path = Path(settings.data_dir) / "offers"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _write_atomic(target: Path, data: bytes) -> None:
    tmp = target.with_name(f".tmp-{target.name}")
    with open(tmp, "wb") as fh:
        os.fchmod(fh.fileno(), 0o600)
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, target)


def make_offer(
    stream: BinaryIO,
    display_name: str,
    kind: str,
    student_id: int,
    *,
    settings: Settings,
    store: BlobStore,
    sandbox: Sandbox,
    clock: Callable[[], float] = time.time,
) -> Offer | None:
    """A shrunk copy of an upload over ``max_bytes``, or None when there is none to offer
    (over ``max_raw_bytes``, not a JPEG or PDF, unreadable, a PDF with a text layer, or
    still too large once compressed as far as it may be)."""
    sweep_offers(settings, now=clock())
    work = store.ensure().scratch_dir()
    try:
        spool = _spool(stream, work / "upload", settings.max_raw_bytes)
        if spool.over or spool.size <= settings.max_bytes:
            return None
        with open(spool.path, "rb") as fh:
            head = fh.read(5)
        if not (head.startswith(b"\xff\xd8\xff") or head.startswith(b"%PDF-")):
            return None
        out = work / "shrunk"
        try:
            value = sandbox.run(
                "shrink",
                {"path": str(spool.path), "out": str(out), "max_bytes": settings.max_bytes},
                timeout_s=settings.check_timeout_s,
            )
        except SandboxFailure:
            return None
        if not value["fits"] or not out.is_file() or out.stat().st_size > settings.max_bytes:
            return None
        png = _render_preview(out, value["mime"], work, settings, sandbox)
        offer = Offer(
            token=secrets.token_urlsafe(18),
            student_id=student_id,
            kind=kind,
            display_name=display_name,
            original_size=spool.size,
            size=out.stat().st_size,
            mime=value["mime"],
            steps=tuple(value["steps"]),
            created=clock(),
            preview=png is not None,
        )
        folder = offers_dir(settings)
        _write_atomic(folder / f"{offer.token}.bin", out.read_bytes())
        if png is not None:
            _write_atomic(folder / f"{offer.token}.png", png.read_bytes())
        _write_atomic(folder / f"{offer.token}.json", json.dumps(asdict(offer)).encode())
        return offer
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _render_preview(
    path: Path, mime: str, work: Path, settings: Settings, sandbox: Sandbox
) -> Path | None:
    """The shrunk copy's first page as a PNG (the student sees what they would send);
    a failure only means no preview."""
    try:
        value = sandbox.run(
            "preview",
            {"path": str(path), "mime": mime, "out_dir": str(work), "dpi": 100, "max_pages": 1},
            timeout_s=settings.child_timeout_s,
        )
    except SandboxFailure:
        return None
    pages = value.get("pages") or []
    return Path(pages[0]) if pages else None


def load_offer(
    settings: Settings,
    token: str,
    *,
    student_id: int,
    kind: str,
    now: float | None = None,
) -> Offer | None:
    """The student's offer for this piece, or None (unknown, someone else's, expired)."""
    if not _TOKEN.fullmatch(token or ""):
        return None
    folder = offers_dir(settings)
    try:
        data = json.loads((folder / f"{token}.json").read_text())
    except (OSError, ValueError):
        return None
    offer = Offer(**{**data, "steps": tuple(data["steps"])})
    expired = (now if now is not None else time.time()) - offer.created > OFFER_TTL_S
    if offer.student_id != student_id or offer.kind != kind or expired:
        return None
    if not (folder / f"{token}.bin").is_file():
        return None
    return offer


def offer_path(settings: Settings, offer: Offer) -> Path:
    return offers_dir(settings) / f"{offer.token}.bin"


def claim_offer(settings: Settings, offer: Offer) -> Path | None:
    """Take the offer's file for one upload: renamed, so a second click (or a second tab)
    finds nothing to take. The caller deletes it with ``drop_offer``."""
    folder = offers_dir(settings)
    claimed = folder / f"{offer.token}.claimed"
    try:
        (folder / f"{offer.token}.bin").rename(claimed)
    except FileNotFoundError:
        return None
    return claimed


def preview_path(settings: Settings, offer: Offer) -> Path | None:
    path = offers_dir(settings) / f"{offer.token}.png"
    return path if offer.preview and path.is_file() else None


def drop_offer(settings: Settings, token: str) -> None:
    if not _TOKEN.fullmatch(token or ""):
        return
    folder = offers_dir(settings)
    for suffix in (".json", ".bin", ".png", ".claimed"):
        (folder / f"{token}{suffix}").unlink(missing_ok=True)


def sweep_offers(settings: Settings, *, now: float) -> int:
    """Delete offers older than the TTL (and half-written files); returns how many files."""
    removed = 0
    for path in offers_dir(settings).iterdir():
        try:
            if now - path.stat().st_mtime > OFFER_TTL_S:
                path.unlink(missing_ok=True)
                removed += 1
        except OSError:
            continue
    return removed
