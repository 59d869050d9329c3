"""JSON API ``/api/v1`` for integrations, with bearer tokens (``justif token create``).

- ``POST /dossiers/{id}/pieces/{kind}`` — upload (multipart ``file``, or ``recto`` +
  ``verso``) → ``202`` with the status URL; a refused file → ``422`` with findings;
- ``GET /dossiers/me`` and ``GET /dossiers/{id}`` — dossier status, pieces, findings;
- ``GET /versions/{id}`` — one upload's processing state and report (the status URL);
- ``GET /review-queue`` — administrators: pieces waiting for a person;
- ``POST /pieces/{id}/decisions`` — administrators: validate, refuse (reasons), reopen;
- ``GET /openapi.json`` — this API described in OpenAPI 3.1.

The session cookie is never accepted here (no CSRF exposure); a student's token reaches
only that student's dossier (404 otherwise).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, abort, g, jsonify, request, url_for
from werkzeug.exceptions import Unauthorized

from intake.models import DecisionAction, Piece, PieceVersion, Role, User
from intake.pipeline import (
    ActionRefused,
    DossierView,
    PieceView,
    dossier_view,
    load_student,
    record_decision,
    review_queue,
)
from intake.status import ECANDIDAT_CODES, PieceStatus
from web import extensions as ext
from web.auth import token_user

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.before_request
def _authenticate() -> None:
    if request.endpoint == "api.openapi":
        return
    user = token_user()
    if user is None:
        raise Unauthorized("Jeton d’accès manquant ou invalide (en-tête Authorization: Bearer …).")
    g.api_user = user


def _user() -> User:
    return g.api_user


def _admin() -> User:
    user = _user()
    if user.role != Role.ADMIN:
        abort(403)
    return user


def _student_view(student_id: int) -> DossierView:
    user = _user()
    if user.role != Role.ADMIN and user.student_id != student_id:
        abort(404)
    student = load_student(ext.db(), student_id)
    if student is None:
        abort(404)
    return dossier_view(ext.pipeline(), ext.db(), student)


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def version_json(v: PieceVersion, *, admin: bool) -> dict[str, Any]:
    run = v.latest_run
    out: dict[str, Any] = {
        "id": v.id,
        "number": v.number,
        "state": v.state,
        "uploaded_at": _iso(v.uploaded_at),
        "mime": v.mime,
        "pages": v.pages,
        "size": v.size,
        "sha256": v.sha256,
        "source": v.source,
        "status_url": url_for("api.version", version_id=v.id, _external=False),
        "report": None,
    }
    if run is not None:
        out["report"] = {
            "id": run.id,
            "outcome": run.outcome,
            "ruleset": run.ruleset,
            "findings": run.findings,
            "fields": run.fields if admin else {},
            "finished_at": _iso(run.finished_at),
        }
    if v.fix and v.fix.get("state") == "offered":
        out["fix"] = {"state": "offered", "actions": v.fix.get("actions", [])}
    if admin:
        out["attempts"] = v.attempts
        out["last_error"] = v.last_error
    return out


def piece_json(p: PieceView, *, admin: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": p.kind,
        "label": p.spec.label,
        "required": p.required,
        "blocking": p.blocking,
        "status": p.status.value,
        "status_label": p.status.label,
        "ecandidat": ECANDIDAT_CODES[p.status],
        "piece_id": p.piece.id if p.piece else None,
        "version": version_json(p.version, admin=admin) if p.version else None,
        "decision": None,
    }
    if p.decision is not None:
        out["decision"] = {
            "action": p.decision.action,
            "reasons": p.decision.reasons,
            "comment": p.decision.comment,
            "at": _iso(p.decision.created_at),
        }
    if admin:
        out["needs_another_look"] = p.needs_look
        out["back_for_review"] = p.back_for_review
    return out


def dossier_json(view: DossierView, *, admin: bool) -> dict[str, Any]:
    st = view.student
    return {
        "id": st.id,
        "reference": st.reference,
        "name": st.display_name,
        "academic_year": st.academic_year,
        "status": view.summary.status.value,
        "status_label": view.summary.label,
        "status_detail": view.summary.detail,
        "pieces": [piece_json(p, admin=admin) for p in view.pieces],
    }


@bp.get("/dossiers/me")
def my_dossier() -> Any:
    user = _user()
    if user.student_id is None:
        abort(404)
    return jsonify(dossier_json(_student_view(user.student_id), admin=False))


@bp.get("/dossiers/<int:student_id>")
def dossier(student_id: int) -> Any:
    view = _student_view(student_id)
    return jsonify(dossier_json(view, admin=_user().role == Role.ADMIN))


@bp.post("/dossiers/<int:student_id>/pieces/<kind>")
def upload(student_id: int, kind: str) -> Any:
    from web.student import files_from_request, receive_files

    view = _student_view(student_id)
    piece = view.piece(kind)
    if piece is None:
        abort(404)
    user = _user()
    ext.check_upload_limits(user.id, student_id)
    files, names = files_from_request(piece.spec.two_sides)
    outcome = receive_files(student_id, kind, files, names, user.id)
    if not outcome.accepted:
        return (
            jsonify(
                {
                    "error": "file_refused",
                    "part": outcome.part,
                    "findings": [f.to_dict() for f in outcome.findings],
                }
            ),
            422,
        )
    ext.submit(outcome.version_id)
    status_url = url_for("api.version", version_id=outcome.version_id)
    response = jsonify(
        {
            "version_id": outcome.version_id,
            "state": "queued",
            "status_url": status_url,
            "findings": [f.to_dict() for f in outcome.findings],
        }
    )
    response.status_code = 202
    response.headers["Location"] = status_url
    return response


@bp.get("/versions/<int:version_id>")
def version(version_id: int) -> Any:
    user = _user()
    v = ext.db().get(PieceVersion, version_id)
    if v is None or (user.role != Role.ADMIN and v.piece.student_id != user.student_id):
        abort(404)
    body = version_json(v, admin=user.role == Role.ADMIN)
    body["kind"] = v.piece.kind
    body["dossier_url"] = url_for("api.dossier", student_id=v.piece.student_id)
    return jsonify(body)


@bp.get("/review-queue")
def queue() -> Any:
    _admin()
    args = request.args
    try:
        statuses = {PieceStatus(args.get("status", "pending_review"))}
        since = dt.date.fromisoformat(args["since"]) if args.get("since") else None
        until = dt.date.fromisoformat(args["until"]) if args.get("until") else None
        limit = max(1, min(int(args.get("limit", 100)), 500))
    except ValueError:
        raise ActionRefused("query.invalid", "Paramètre de filtre invalide.", 400) from None
    items = review_queue(
        ext.pipeline(),
        ext.db(),
        kind=args.get("kind") or None,
        statuses=statuses,
        code=args.get("code") or None,
        since=since,
        until=until,
        again_only=args.get("again") in ("1", "true"),
        limit=limit,
    )
    return jsonify(
        {
            "items": [
                {
                    "student_id": st.id,
                    "reference": st.reference,
                    "name": st.display_name,
                    **piece_json(p, admin=True),
                }
                for st, p in items
            ]
        }
    )


@bp.post("/pieces/<int:piece_id>/decisions")
def decide(piece_id: int) -> Any:
    user = _admin()
    s = ext.db()
    piece = s.get(Piece, piece_id)
    if piece is None:
        abort(404)
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ActionRefused("body.invalid", "Corps JSON attendu.", 400)
    action = data.get("action")
    if action not in {a.value for a in DecisionAction}:
        raise ActionRefused("decision.action", "Décision inconnue.", 400)
    reasons = data.get("reasons") or []
    if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
        raise ActionRefused("decision.reason", "« reasons » doit être une liste de codes.", 400)
    version_id = data.get("version_id")
    if version_id is not None and not isinstance(version_id, int):
        raise ActionRefused("body.invalid", "« version_id » doit être un entier.", 400)
    decision = record_decision(
        ext.pipeline(),
        s,
        piece=piece,
        action=action,
        user_id=user.id,
        reasons=reasons,
        comment=str(data.get("comment") or ""),
        version_id=version_id,
    )
    s.commit()
    body = {
        "id": decision.id,
        "piece_id": piece.id,
        "version_id": decision.version_id,
        "check_run_id": decision.check_run_id,
        "action": decision.action,
        "reasons": decision.reasons,
        "comment": decision.comment,
        "at": _iso(decision.created_at),
    }
    return jsonify(body), 201


@bp.get("/openapi.json")
def openapi() -> Any:
    return jsonify(openapi_document())


def openapi_document() -> dict[str, Any]:
    err = {"$ref": "#/components/schemas/Error"}
    kinds = [p.kind for p in ext.pipeline().catalogue.pieces]

    def resp(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"description": description}
        if schema is not None:
            out["content"] = {"application/json": {"schema": schema}}
        return out

    errors = {
        "401": resp("Jeton absent ou invalide", err),
        "404": resp("Introuvable (ou pas à vous)", err),
    }
    path_id = {"in": "path", "required": True, "schema": {"type": "integer"}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "justif API",
            "version": "1",
            "description": "Dépôt et vérification des pièces justificatives d’inscription.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "message"],
                    "properties": {
                        "error": {"type": "string"},
                        "message": {"type": "string"},
                        "reference": {"type": "string"},
                    },
                },
                "Finding": {
                    "type": "object",
                    "properties": {
                        "code": {"type": "string", "example": "cvec.year"},
                        "level": {"enum": ["info", "warning", "error"]},
                        "result": {"enum": ["pass", "fail", "inconclusive", "skipped"]},
                        "message": {"type": "string"},
                        "detail": {"type": "object"},
                    },
                },
                "Version": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "number": {"type": "integer"},
                        "state": {"enum": ["queued", "running", "done", "failed"]},
                        "status_url": {"type": "string"},
                        "report": {
                            "type": ["object", "null"],
                            "properties": {
                                "outcome": {"enum": ["accepted", "rejected", "review"]},
                                "ruleset": {"type": "string"},
                                "findings": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/Finding"},
                                },
                            },
                        },
                    },
                },
                "Piece": {
                    "type": "object",
                    "properties": {
                        "kind": {"enum": kinds},
                        "status": {"enum": [s.value for s in PieceStatus]},
                        "status_label": {"type": "string"},
                        "ecandidat": {"enum": ["AT", "TR", "VA", "RE", "NC"]},
                        "piece_id": {"type": ["integer", "null"]},
                        "version": {
                            "oneOf": [{"$ref": "#/components/schemas/Version"}, {"type": "null"}]
                        },
                    },
                },
                "Dossier": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "reference": {"type": "string"},
                        "status": {
                            "enum": ["incomplete", "checking", "pending_review", "validated"]
                        },
                        "status_label": {"type": "string"},
                        "pieces": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Piece"},
                        },
                    },
                },
            },
        },
        "paths": {
            "/dossiers/me": {
                "get": {
                    "summary": "Le dossier de l’étudiant du jeton",
                    "responses": {
                        "200": resp("Dossier", {"$ref": "#/components/schemas/Dossier"}),
                        **errors,
                    },
                }
            },
            "/dossiers/{student_id}": {
                "get": {
                    "summary": "Un dossier (administrateur, ou l’étudiant lui-même)",
                    "parameters": [{"name": "student_id", **path_id}],
                    "responses": {
                        "200": resp("Dossier", {"$ref": "#/components/schemas/Dossier"}),
                        **errors,
                    },
                }
            },
            "/dossiers/{student_id}/pieces/{kind}": {
                "post": {
                    "summary": "Déposer un fichier (ou recto + verso) pour une pièce",
                    "parameters": [
                        {"name": "student_id", **path_id},
                        {"name": "kind", "in": "path", "required": True, "schema": {"enum": kinds}},
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "file": {"type": "string", "format": "binary"},
                                        "recto": {"type": "string", "format": "binary"},
                                        "verso": {"type": "string", "format": "binary"},
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "202": resp(
                            "Fichier reçu, vérification en file d’attente (en-tête Location)",
                            {
                                "type": "object",
                                "properties": {
                                    "version_id": {"type": "integer"},
                                    "state": {"const": "queued"},
                                    "status_url": {"type": "string"},
                                },
                            },
                        ),
                        "409": resp("Pièce validée, non concernée ou dossier annulé", err),
                        "413": resp("Corps trop volumineux", err),
                        "422": resp(
                            "Fichier refusé (type, taille, sécurité)",
                            {
                                "type": "object",
                                "properties": {
                                    "error": {"const": "file_refused"},
                                    "findings": {
                                        "type": "array",
                                        "items": {"$ref": "#/components/schemas/Finding"},
                                    },
                                },
                            },
                        ),
                        "429": resp("Trop de dépôts en peu de temps, ou quota atteint", err),
                        **errors,
                    },
                }
            },
            "/versions/{version_id}": {
                "get": {
                    "summary": "État de traitement et rapport d’un dépôt",
                    "parameters": [{"name": "version_id", **path_id}],
                    "responses": {
                        "200": resp("Version", {"$ref": "#/components/schemas/Version"}),
                        **errors,
                    },
                }
            },
            "/review-queue": {
                "get": {
                    "summary": "File de revue (administrateurs), plus anciens d’abord",
                    "parameters": [
                        {"name": "kind", "in": "query", "schema": {"enum": kinds}},
                        {
                            "name": "status",
                            "in": "query",
                            "schema": {"enum": [s.value for s in PieceStatus]},
                        },
                        {"name": "code", "in": "query", "schema": {"type": "string"}},
                        {
                            "name": "since",
                            "in": "query",
                            "schema": {"type": "string", "format": "date"},
                        },
                        {
                            "name": "until",
                            "in": "query",
                            "schema": {"type": "string", "format": "date"},
                        },
                        {"name": "again", "in": "query", "schema": {"type": "boolean"}},
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {"type": "integer", "maximum": 500},
                        },
                    ],
                    "responses": {
                        "200": resp("Pièces à traiter"),
                        "403": resp("Réservé aux administrateurs", err),
                        **errors,
                    },
                }
            },
            "/pieces/{piece_id}/decisions": {
                "post": {
                    "summary": "Enregistrer une décision (administrateurs)",
                    "parameters": [{"name": "piece_id", **path_id}],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["action"],
                                    "properties": {
                                        "action": {"enum": [a.value for a in DecisionAction]},
                                        "reasons": {"type": "array", "items": {"type": "string"}},
                                        "comment": {"type": "string"},
                                        "version_id": {"type": "integer"},
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "201": resp("Décision enregistrée"),
                        "400": resp("Motif ou décision invalide", err),
                        "403": resp("Réservé aux administrateurs", err),
                        "409": resp("Version changée ou vérification en cours", err),
                        **errors,
                    },
                }
            },
        },
    }
