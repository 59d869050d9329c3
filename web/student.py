"""Student pages: the dossier with every piece's computed status, one page per piece
(what to upload, what was found and how to fix it, the repaired photo offer, the
history), the upload itself and the explanation of an "À corriger" verdict.

An upload is received (type, size, safety: in the limited child), stored and answered
at once; its check is queued and the page refreshes itself until the status changes.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.datastructures import FileStorage

from intake import offers
from intake.pipeline import (
    ActionRefused,
    DossierView,
    PieceView,
    UploadOutcome,
    accept_fix,
    clean_display_name,
    decline_fix,
    dossier_view,
    explain,
    load_student,
    store_upload,
    upload_allowed,
)
from intake.status import PIECE_HINTS, PieceStatus, student_findings
from validators.codes import FileCode
from web import extensions as ext
from web.auth import current_user, student_required

bp = Blueprint("student", __name__, url_prefix="/dossier")


def _dossier() -> DossierView:
    user = current_user()
    if user is None or user.student_id is None:
        abort(403)
    student = load_student(ext.db(), user.student_id)
    if student is None:
        abort(404)
    return dossier_view(ext.pipeline(), ext.db(), student)


def _piece(view: DossierView, kind: str) -> PieceView:
    piece = view.piece(kind)
    if piece is None:
        abort(404)
    return piece


def refusal_messages(piece: PieceView) -> list[str]:
    """The catalogue messages of the reasons of the refusal holding for the piece, the
    messages appended for its kind (cvec.contact) — the comment is shown apart."""
    if piece.decision is None or piece.status is not PieceStatus.REFUSED:
        return []
    catalogue = ext.pipeline().catalogue
    profile = ext.pipeline().settings.photo_profile
    out = []
    for code in piece.decision.reasons or []:
        reason = catalogue.reason(code)
        out.append(reason.text(profile) if reason else code)
    out.extend(r.text(profile) for r in catalogue.appended_for(piece.kind))
    return out


def what_to_do(code: str) -> str:
    """The catalogue's advice for an error code, when the catalogue has that code."""
    reason = ext.pipeline().catalogue.reason(code)
    return reason.text(ext.pipeline().settings.photo_profile) if reason else ""


def can_upload(view: DossierView, piece: PieceView) -> bool:
    return not view.student.cancelled and piece.status not in (
        PieceStatus.VALIDATED,
        PieceStatus.NOT_APPLICABLE,
    )


def render_piece(
    view: DossierView,
    piece: PieceView,
    *,
    refused: UploadOutcome | None = None,
    offer: offers.Offer | None = None,
    status: int = 200,
) -> Any:
    catalogue = ext.pipeline().catalogue
    split = student_findings(piece.findings, catalogue.student_sees_warning)
    return (
        render_template(
            "student/piece.html",
            view=view,
            piece=piece,
            split=split,
            hint=PIECE_HINTS[piece.status],
            refusal=refusal_messages(piece),
            what_to_do=what_to_do,
            can_upload=can_upload(view, piece),
            refused=refused,
            offer=offer,
            refreshing=piece.status is PieceStatus.PROCESSING and offer is None,
        ),
        status,
    )


@bp.get("/")
@student_required
def dossier() -> Any:
    view = _dossier()
    processing = any(p.status is PieceStatus.PROCESSING for p in view.pieces)
    return render_template(
        "student/dossier.html", view=view, hints=PIECE_HINTS, refreshing=processing
    )


@bp.get("/<kind>")
@student_required
def piece(kind: str) -> Any:
    view = _dossier()
    offer = None
    if token := request.args.get("offre"):
        offer = offers.load_offer(
            ext.pipeline().settings, token, student_id=view.student.id, kind=kind
        )
    return render_piece(view, _piece(view, kind), offer=offer)


def _chosen(name: str) -> FileStorage | None:
    f = request.files.get(name)
    return f if f is not None and f.filename else None


@bp.post("/<kind>/depot")
@student_required
def upload(kind: str) -> Any:
    user = current_user()
    view = _dossier()
    piece = _piece(view, kind)
    upload_allowed(ext.pipeline(), ext.db(), view.student, kind)  # validated, cancelled…
    ext.check_upload_limits(user.id, view.student.id)
    with ExitStack() as stack:
        earlier = _one_side(piece, stack) if piece.spec.two_sides else None
        files, names = files_from_request(piece.spec.two_sides, earlier_side=earlier)
        outcome = receive_files(view.student.id, kind, files, names, user.id)
    if not outcome.accepted:
        offer = _shrink_offer(view.student.id, kind, files, outcome)
        if offer is not None:
            return redirect(url_for(".piece", kind=kind, offre=offer.token) + "#reduction", 303)
        return render_piece(view, piece, refused=outcome, status=422)
    ext.submit(outcome.version_id)
    flash("Fichier reçu : la vérification est en cours, cette page se met à jour seule.", "success")
    return redirect(url_for(".piece", kind=kind), code=303)


def _one_side(piece: PieceView, stack: ExitStack) -> tuple[Any, str] | None:
    """The piece's current file when it is one page (a recto sent alone): a verso sent
    later is merged with it, so the student never sends the recto twice."""
    version = piece.version
    if version is None or version.pages != 1 or version.purged_at is not None:
        return None
    path = ext.pipeline().store.path_for(version.sha256)
    if not path.is_file():
        return None
    return stack.enter_context(path.open("rb")), version.display_name or "recto"


def _shrink_offer(
    student_id: int, kind: str, files: list[tuple[Any, str]], outcome: UploadOutcome
) -> offers.Offer | None:
    """A single file refused only for its size (up to JUSTIF_MAX_RAW_BYTES): a shrunk copy
    to offer (domain.md §2.2). Two sides are shrunk by their merge already."""
    codes = {f.code for f in outcome.problems}
    if len(files) != 1 or codes != {FileCode.TOO_LARGE}:
        return None
    stream, name = files[0]
    stream.seek(0)
    pipe = ext.pipeline()
    with ext.justif().sandboxes.get() as box:
        return offers.make_offer(
            stream,
            clean_display_name(name),
            kind,
            student_id,
            settings=pipe.settings,
            store=pipe.store,
            sandbox=box,
        )


@bp.post("/<kind>/reduction")
@student_required
def shrunk(kind: str) -> Any:
    """The student takes (or declines) the shrunk copy of a file over 5 Mo."""
    user = current_user()
    view = _dossier()
    _piece(view, kind)
    settings = ext.pipeline().settings
    token = request.form.get("offre", "")
    offer = offers.load_offer(settings, token, student_id=view.student.id, kind=kind)
    if offer is None:
        raise ActionRefused(
            "offer.gone",
            "Cette version réduite n’est plus disponible : déposez à nouveau votre fichier.",
            404,
        )
    if request.form.get("choice") != "accept":
        offers.drop_offer(settings, token)
        flash("La version réduite est supprimée. Vous pouvez déposer un autre fichier.", "info")
        return redirect(url_for(".piece", kind=kind), code=303)
    upload_allowed(ext.pipeline(), ext.db(), view.student, kind)
    ext.check_upload_limits(user.id, view.student.id)
    claimed = offers.claim_offer(settings, offer)
    if claimed is None:  # taken a moment ago (a second click)
        return redirect(url_for(".piece", kind=kind), code=303)
    try:
        with claimed.open("rb") as fh:
            outcome = receive_files(
                view.student.id, kind, [(fh, offer.display_name)], [""], user.id, source="shrink"
            )
    finally:
        offers.drop_offer(settings, token)
    if not outcome.accepted:
        return render_piece(view, _piece(view, kind), refused=outcome, status=422)
    ext.submit(outcome.version_id)
    flash("La version réduite est déposée : la vérification est en cours.", "success")
    return redirect(url_for(".piece", kind=kind), code=303)


def files_from_request(
    two_sides: bool, *, earlier_side: tuple[Any, str] | None = None
) -> tuple[list[tuple[Any, str]], list[str]]:
    """The uploaded file, or recto + verso for a two-sided piece (400 when unclear); a
    verso alone goes with ``earlier_side`` (the recto already sent) when there is one."""
    single, recto, verso = _chosen("file"), _chosen("recto"), _chosen("verso")
    if two_sides and (recto or verso):
        if single is not None:
            raise ActionRefused(
                "upload.ambiguous",
                "Déposez soit un seul fichier (recto/verso ou passeport), soit le recto et le "
                "verso séparément, pas les deux.",
                400,
            )
        if recto is None:
            if earlier_side is None or verso is None:
                raise ActionRefused("upload.recto", "Déposez aussi le recto de votre carte.", 400)
            return [earlier_side, (verso.stream, verso.filename or "")], ["recto", "verso"]
        if verso is None:
            return [(recto.stream, recto.filename or "")], ["recto"]
        return (
            [(recto.stream, recto.filename or ""), (verso.stream, verso.filename or "")],
            ["recto", "verso"],
        )
    if single is None:
        raise ActionRefused("upload.none", "Choisissez un fichier à déposer.", 400)
    return [(single.stream, single.filename or "")], [""]


def receive_files(
    student_id: int,
    kind: str,
    files: list[tuple[Any, str]],
    names: list[str],
    user_id: int,
    *,
    source: str = "upload",
) -> UploadOutcome:
    with ext.justif().sandboxes.get() as box:
        return store_upload(
            ext.pipeline(),
            student_id=student_id,
            kind=kind,
            files=files,
            user_id=user_id,
            sandbox=box,
            source=source,
            part_names=names,
        )


@bp.post("/<kind>/explication")
@student_required
def explanation(kind: str) -> Any:
    user = current_user()
    view = _dossier()
    piece = _piece(view, kind)
    if piece.status is not PieceStatus.TO_FIX or piece.version is None:
        raise ActionRefused("explain.state", "Cette pièce n’est pas « À corriger ».")
    s = ext.db()
    explain(
        ext.pipeline(),
        s,
        version=piece.version,
        text=request.form.get("explanation", ""),
        user_id=user.id,
    )
    s.commit()
    flash("Merci : votre explication sera lue par le service des inscriptions.", "success")
    return redirect(url_for(".piece", kind=kind), code=303)


@bp.post("/<kind>/correction")
@student_required
def correction(kind: str) -> Any:
    user = current_user()
    view = _dossier()
    piece = _piece(view, kind)
    if piece.version is None:
        abort(404)
    version_id = request.form.get("version", type=int)
    if version_id != piece.version.id:
        raise ActionRefused(
            "fix.stale", "Un autre fichier a été déposé depuis : rechargez la page."
        )
    s = ext.db()
    if request.form.get("choice") == "accept":
        ext.check_upload_limits(user.id, view.student.id)
        new_id = accept_fix(ext.pipeline(), s, version=piece.version, user_id=user.id)
        s.commit()
        ext.submit(new_id)
        flash("La photo corrigée est déposée : vérification en cours.", "success")
    else:
        decline_fix(ext.pipeline(), s, version=piece.version, user_id=user.id)
        s.commit()
        flash("Vous gardez votre photo. Vous pouvez en déposer une autre à tout moment.", "info")
    return redirect(url_for(".piece", kind=kind), code=303)
