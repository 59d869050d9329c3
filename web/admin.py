"""Administrator pages: the review queue (filters by kind, status, reason code and date,
oldest first; « À traiter de nouveau » and « à revoir »), a piece page with server-side
PNG previews and the findings with their measured values, decisions (validate, refuse
with catalogue reasons and a comment, reopen, "Non concernée"), bulk validation, the
dossiers, the audit trail and a CSV export. Every view of a student's data is audited.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from intake.models import AuditEvent, DecisionAction, Piece, PieceVersion, Student, User
from intake.pipeline import (
    ActionRefused,
    audit,
    dossier_view,
    ensure_piece,
    load_student,
    piece_view,
    record_decision,
    review_queue,
)
from intake.status import ECANDIDAT_CODES, PIECE_LABELS, PieceStatus
from web import extensions as ext
from web.auth import admin_required, current_user, safe_next

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _audit(action: str, target_type: str, target_id: int | None, **detail: Any) -> None:
    s = ext.db()
    audit(s, current_user().id, action, target_type, target_id, **detail)
    s.commit()


@bp.get("/")
@admin_required
def queue() -> Any:
    args = request.args
    status_arg = args.get("status", PieceStatus.PENDING_REVIEW.value)
    if status_arg == "all":
        statuses: set[PieceStatus] = set()
    else:
        try:
            statuses = {PieceStatus(status_arg)}
        except ValueError:
            statuses = {PieceStatus.PENDING_REVIEW}
    kind = args.get("kind") or None
    items = review_queue(
        ext.pipeline(),
        ext.db(),
        kind=kind,
        statuses=statuses,
        code=(args.get("code") or "").strip() or None,
        since=_date(args.get("since")),
        until=_date(args.get("until")),
        again_only=args.get("again") == "1",
        look_only=args.get("look") == "1",
    )
    return render_template(
        "admin/queue.html",
        items=items,
        kinds=ext.pipeline().catalogue.pieces,
        labels=PIECE_LABELS,
        args=args,
        status_arg=status_arg,
    )


@bp.post("/validation-groupee")
@admin_required
def bulk_validate() -> Any:
    """Validate the ticked pieces whose current version is still the one shown."""
    s = ext.db()
    user = current_user()
    done, skipped = 0, 0
    for value in request.form.getlist("item"):
        piece_id, _, version_id = value.partition(":")
        if not (piece_id.isdigit() and version_id.isdigit()):
            skipped += 1
            continue
        piece = s.get(Piece, int(piece_id))
        if piece is None:
            skipped += 1
            continue
        spec = ext.pipeline().catalogue.spec(piece.kind)
        view = piece_view(spec, True, True, piece)
        if view.status is not PieceStatus.PENDING_REVIEW:
            skipped += 1
            continue
        try:
            record_decision(
                ext.pipeline(),
                s,
                piece=piece,
                action=DecisionAction.VALIDATED,
                user_id=user.id,
                version_id=int(version_id),
                comment="validation groupée",
            )
            done += 1
        except ActionRefused:
            skipped += 1
    s.commit()
    flash(f"{done} pièce(s) validée(s), {skipped} ignorée(s).", "success" if done else "info")
    return redirect(safe_next(request.form.get("back")) or url_for(".queue"), code=303)


@bp.get("/pieces/<int:piece_id>")
@admin_required
def piece(piece_id: int) -> Any:
    s = ext.db()
    row = s.get(Piece, piece_id)
    if row is None:
        abort(404)
    student = load_student(s, row.student_id)
    view = dossier_view(ext.pipeline(), s, student)
    pv = view.piece(row.kind)
    if pv is None:  # a piece outside the catalogue (data kept): show it anyway
        spec = ext.pipeline().catalogue.spec(row.kind)
        pv = piece_view(spec, False, False, row)
    _audit("admin.view_piece", "piece", piece_id, student_id=student.id)
    return render_template(
        "admin/piece.html",
        view=view,
        piece=pv,
        reasons=ext.pipeline().catalogue.reasons_for(row.kind),
        catalogue=ext.pipeline().catalogue,
    )


@bp.post("/pieces/<int:piece_id>/decision")
@admin_required
def decide(piece_id: int) -> Any:
    s = ext.db()
    piece = s.get(Piece, piece_id)
    if piece is None:
        abort(404)
    action = request.form.get("action", "")
    if action not in {a.value for a in DecisionAction}:
        raise ActionRefused("decision.action", "Décision inconnue.", 400)
    record_decision(
        ext.pipeline(),
        s,
        piece=piece,
        action=action,
        user_id=current_user().id,
        reasons=request.form.getlist("reasons"),
        comment=request.form.get("comment", ""),
        version_id=request.form.get("version", type=int),
    )
    s.commit()
    flash(_DONE.get(action, "Décision enregistrée."), "success")
    return redirect(url_for(".piece", piece_id=piece_id), code=303)


_DONE = {
    "validated": "Pièce validée.",
    "refused": "Pièce refusée : l’étudiant voit le motif sur son dossier.",
    "reopened": "Décision annulée : la pièce est de nouveau à traiter.",
    "not_applicable": "Pièce marquée « Non concernée ».",
    "applicable": "Pièce de nouveau demandée.",
}


@bp.post("/etudiants/<int:student_id>/pieces/<kind>/applicabilite")
@admin_required
def applicability(student_id: int, kind: str) -> Any:
    s = ext.db()
    student = s.get(Student, student_id)
    if student is None:
        abort(404)
    try:
        ext.pipeline().catalogue.spec(kind)
    except KeyError:
        abort(404)
    action = request.form.get("action")
    if action not in (DecisionAction.NOT_APPLICABLE, DecisionAction.APPLICABLE):
        raise ActionRefused("decision.action", "Décision inconnue.", 400)
    piece = ensure_piece(s, student_id, kind)
    record_decision(
        ext.pipeline(),
        s,
        piece=piece,
        action=action,
        user_id=current_user().id,
        comment=request.form.get("comment", ""),
    )
    s.commit()
    flash(_DONE[action], "success")
    return redirect(url_for(".student", student_id=student_id), code=303)


@bp.get("/etudiants")
@admin_required
def students() -> Any:
    s = ext.db()
    q = (request.args.get("q") or "").strip()
    query = select(Student).order_by(Student.last_name, Student.first_name).limit(200)
    if q:
        like = f"%{q}%"
        query = query.where(
            or_(
                Student.last_name.ilike(like),
                Student.first_name.ilike(like),
                Student.application_id.ilike(like),
                Student.student_number.ilike(like),
            )
        )
    query = query.options(
        selectinload(Student.pieces).selectinload(Piece.versions).selectinload(PieceVersion.runs),
        selectinload(Student.pieces).selectinload(Piece.decisions),
    )
    rows = [(st, dossier_view(ext.pipeline(), s, st)) for st in s.scalars(query)]
    _audit("admin.list_students", "", None, q=q)
    return render_template("admin/students.html", rows=rows, q=q)


@bp.get("/etudiants/<int:student_id>")
@admin_required
def student(student_id: int) -> Any:
    s = ext.db()
    st = load_student(s, student_id)
    if st is None:
        abort(404)
    view = dossier_view(ext.pipeline(), s, st)
    _audit("admin.view_dossier", "student", student_id)
    return render_template("admin/student.html", view=view)


@bp.get("/journal")
@admin_required
def journal() -> Any:
    s = ext.db()
    action = (request.args.get("action") or "").strip()
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(300)
    if action:
        query = query.where(AuditEvent.action.like(f"{action}%"))
    events = list(s.scalars(query.options(selectinload(AuditEvent.user))))
    return render_template("admin/journal.html", events=events, action=action)


def _cell(value: Any) -> str:
    """A CSV cell that a spreadsheet will never run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@bp.get("/export.csv")
@admin_required
def export() -> Any:
    s = ext.db()
    query = (
        select(Student)
        .order_by(Student.id)
        .options(
            selectinload(Student.pieces)
            .selectinload(Piece.versions)
            .selectinload(PieceVersion.runs),
            selectinload(Student.pieces).selectinload(Piece.decisions),
        )
    )
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(
        [
            "dossier",
            "candidature",
            "numero_etudiant",
            "nom",
            "prenom",
            "piece",
            "statut",
            "libelle",
            "code_ecandidat",
            "version",
            "depose_le",
            "analyse",
            "codes",
            "motifs_refus",
            "statut_dossier",
        ]
    )
    count = 0
    for st in s.scalars(query):
        view = dossier_view(ext.pipeline(), s, st)
        for p in view.pieces:
            failed = [
                f["code"]
                for f in p.findings
                if f.get("result") in ("fail", "inconclusive") and f.get("level") != "info"
            ]
            writer.writerow(
                [
                    _cell(c)
                    for c in (
                        st.reference,
                        st.application_id,
                        st.student_number,
                        st.last_name,
                        st.first_name,
                        p.kind,
                        p.status.value,
                        p.status.label,
                        ECANDIDAT_CODES[p.status],
                        p.version.number if p.version else "",
                        p.version.uploaded_at.isoformat() if p.version else "",
                        p.run.outcome if p.run else "",
                        " ".join(failed),
                        " ".join(p.decision.reasons or []) if p.decision else "",
                        view.summary.label if p.blocking else "",
                    )
                ]
            )
            count += 1
    _audit("admin.export", "", None, rows=count)
    return Response(
        "\ufeff" + out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="justif-export.csv"'},
    )


@bp.app_template_global()
def user_name(user: User | None) -> str:
    if user is None:
        return "système"
    return user.display_name or user.login
