"""The only routes that serve stored bytes (security.md §7).

- PNG previews rendered in the child: to the piece's owner and to administrators,
  ``inline``;
- the repaired-photo preview: same audience;
- the original file: administrators only, always ``attachment`` with a fixed name
  (``piece-<id>.pdf``), the display name only in RFC 6266 ``filename*``.

Every answer carries ``nosniff``, ``Content-Security-Policy: sandbox; default-src
'none'``, ``Cache-Control: no-store`` and ``Cross-Origin-Resource-Policy: same-origin``.
A student asking for another student's file gets 404 (its existence is not
revealed); every administrator read is audited.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from flask import Blueprint, abort, send_file

from intake import offers
from intake.models import PieceVersion, Role
from intake.pipeline import audit
from web import extensions as ext
from web.auth import admin_required, current_user, login_required

bp = Blueprint("files", __name__, url_prefix="/fichiers")

FILE_CSP = "sandbox; default-src 'none'"
_EXT = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}


def _version_for_reader(version_id: int) -> PieceVersion:
    """The version if the current user may see it: its owner or an administrator."""
    user = current_user()
    version = ext.db().get(PieceVersion, version_id)
    if version is None or user is None:
        abort(404)
    if user.role == Role.ADMIN:
        return version
    if user.student_id is None or version.piece.student_id != user.student_id:
        abort(404)
    return version


def _serve(sha: str, mime: str, *, download_name: str, display: str | None = None) -> Any:
    store = ext.pipeline().store
    try:
        path = store.path_for(sha)
    except ValueError:
        abort(404)
    return _serve_path(path, mime, download_name=download_name, display=display)


def _serve_path(
    path: Path | None, mime: str, *, download_name: str, display: str | None = None
) -> Any:
    if path is None or not path.is_file():
        abort(404)
    response = send_file(path, mimetype=mime, conditional=False, max_age=0)
    disposition = "attachment" if display is not None else "inline"
    value = f'{disposition}; filename="{download_name}"'
    if display:
        value += f"; filename*=UTF-8''{quote(display, safe='')}"
    response.headers["Content-Disposition"] = value
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = FILE_CSP
    response.headers["Cache-Control"] = "no-store"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


def _audit_admin(action: str, version: PieceVersion, **detail: Any) -> None:
    user = current_user()
    if user is not None and user.role == Role.ADMIN:
        s = ext.db()
        audit(s, user.id, action, "version", version.id, **detail)
        s.commit()


@bp.get("/versions/<int:version_id>/apercu/<int:page>.png")
@login_required
def preview(version_id: int, page: int) -> Any:
    version = _version_for_reader(version_id)
    previews = list(version.previews or [])
    if not 1 <= page <= len(previews):
        abort(404)
    _audit_admin("admin.view_preview", version, page=page)
    return _serve(previews[page - 1], "image/png", download_name=f"apercu-{version.id}-{page}.png")


@bp.get("/versions/<int:version_id>/correction.png")
@login_required
def fix_preview(version_id: int) -> Any:
    version = _version_for_reader(version_id)
    fix = version.fix or {}
    if not fix.get("preview"):
        abort(404)
    _audit_admin("admin.view_preview", version, fix=True)
    return _serve(fix["preview"], "image/png", download_name=f"correction-{version.id}.png")


@bp.get("/reduction/<kind>/<token>.png")
@login_required
def offer_preview(kind: str, token: str) -> Any:
    """The shrunk copy offered to a student (intake.offers), to that student only."""
    user = current_user()
    if user is None or user.student_id is None:
        abort(404)
    settings = ext.pipeline().settings
    offer = offers.load_offer(settings, token, student_id=user.student_id, kind=kind)
    if offer is None:
        abort(404)
    path = offers.preview_path(settings, offer)
    return _serve_path(path, "image/png", download_name="version-reduite.png")


@bp.get("/versions/<int:version_id>/original")
@admin_required
def original(version_id: int) -> Any:
    version = ext.db().get(PieceVersion, version_id)
    if version is None:
        abort(404)
    suffix = _EXT.get(version.mime, "bin")
    _audit_admin("admin.download", version)
    # the student's name for the file, with justif's own extension (never theirs)
    stem = (version.display_name or "").rpartition(".")[0] or version.display_name
    display = f"{stem or version.piece.kind}.{suffix}"
    return _serve(
        version.sha256,
        version.mime if version.mime in _EXT else "application/octet-stream",
        download_name=f"piece-{version.id}.{suffix}",
        display=display,
    )
