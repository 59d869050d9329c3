"""One translation point from errors to answers: a French page for people, JSON for
the API, each with a short reference to quote when writing to the service (domain.md
§7: error pages show identifiers to copy). The security headers of every response are
set here too.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from flask import Flask, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from intake.pipeline import ActionRefused

log = logging.getLogger("justif.web")

TITLES = {
    400: "Requête invalide",
    401: "Connexion nécessaire",
    403: "Accès refusé",
    404: "Page introuvable",
    405: "Méthode non autorisée",
    409: "Action impossible",
    413: "Fichier trop volumineux",
    422: "Fichier refusé",
    429: "Trop de demandes",
    500: "Erreur interne",
}

MESSAGES = {
    400: "La demande n’a pas pu être comprise. Rechargez la page puis recommencez.",
    401: "Connectez-vous pour accéder à cette page.",
    403: "Vous n’avez pas accès à cette page.",
    404: "Cette page n’existe pas, ou vous n’y avez pas accès.",
    405: "Cette action n’est pas possible ici.",
    413: (
        "Le fichier envoyé est bien trop volumineux. Vos fichiers doivent impérativement "
        "être sous format PDF ou JPG. La taille maximale autorisée est de 5 Mo."
    ),
    429: "Trop de demandes en peu de temps : patientez une minute puis réessayez.",
    500: "Une erreur inattendue s’est produite. Réessayez plus tard.",
}

CSRF_MESSAGE = (
    "Le formulaire a expiré ou ne vient pas de ce site. Rechargez la page puis recommencez."
)

# Content-Security-Policy of every HTML page: only our own files, no inline script,
# no framing. File responses set the stricter "sandbox" policy themselves.
CSP = (
    "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(status: int, message: str, code: str = "", **extra: Any) -> Any:
    reference = secrets.token_hex(4).upper()
    if status >= 500:
        log.error("error %s reference %s on %s", status, reference, request.path)
    if wants_json():
        body = {"error": code or TITLES.get(status, "error"), "message": message}
        body["reference"] = reference
        body.update(extra)
        return make_response(jsonify(body), status)
    page = render_template(
        "error.html",
        status=status,
        title=TITLES.get(status, "Erreur"),
        message=message,
        reference=reference,
    )
    return make_response(page, status)


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> Any:
        return error_response(400, CSRF_MESSAGE, "csrf")

    @app.errorhandler(ActionRefused)
    def _refused(exc: ActionRefused) -> Any:
        return error_response(exc.status, exc.message, exc.code)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        status = exc.code or 500
        message = MESSAGES.get(status, exc.description or "")
        # our own French descriptions (429 limits, 404 on a piece…) win over the default
        if exc.description and exc.description != type(exc).description:
            message = exc.description
        response = error_response(status, message, _slug(status))
        allowed = getattr(exc, "valid_methods", None)
        if allowed:
            response.headers["Allow"] = ", ".join(allowed)
        if status == 401 and wants_json():
            response.headers["WWW-Authenticate"] = 'Bearer realm="justif"'
        return response

    @app.errorhandler(Exception)
    def _internal(exc: Exception) -> Any:
        log.exception("unhandled error on %s", request.path)
        return error_response(500, MESSAGES[500], "internal")

    @app.after_request
    def _headers(response: Any) -> Any:
        h = response.headers
        h.setdefault("Content-Security-Policy", CSP)
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        h.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if not request.path.startswith("/static/"):
            h.setdefault("Cache-Control", "no-store")
        return response


def _slug(status: int) -> str:
    return {
        400: "bad_request",
        401: "unauthorized",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        409: "conflict",
        413: "too_large",
        422: "unprocessable",
        429: "too_many_requests",
    }.get(status, "error")
