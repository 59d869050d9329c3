"""``justif mrz FILE_OR_TEXT [--json]``: read an identity document's MRZ.

A file (PDF or JPG) goes through intake like ``justif check --kind identity`` (type,
size, safety, storage, then the identity checks in the limited child); anything else
is taken as MRZ text, lines separated by newlines or '/'. The output lists the fields
with a validity flag each: ``ok`` (a check digit covering it verified), ``FAUX`` (one
failed), ``-`` (no check digit protects it: names of TD1/TD3, sex, nationality).
``--json`` prints the identity fields plus ``valid``. Exit code 0 when the MRZ is
valid, 1 otherwise.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from validators import mrz as rules
from validators.identity import FIELD_KEYS as KEYS

_FLAG = {True: "ok", False: "FAUX", None: "-"}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def from_text(text: str, day: dt.date) -> dict[str, Any]:
    """The identity fields of MRZ text, plus ``valid`` and ``checks``."""
    reading = rules.parse(text, reference=day)
    if reading is None:
        out: dict[str, Any] = {key: None for key in KEYS}
        out.update(valid=False, checks={}, lines=rules.split_lines(text), error="pas de MRZ")
        return out
    fields = reading.to_fields()
    birth = reading.birth_date if reading.valid else None
    ages = rules.age_flags(birth, day) if birth else {}
    expiry = fields.get("expiry_date")
    extra: dict[str, Any] = {}
    issue = reading.issue_month
    if issue is not None and reading.birth_date is not None:
        validity = rules.old_card_validity(issue[0], issue[1], reading.birth_date)
        expiry = validity.earliest
        extra = {
            "expiry_latest": _jsonable(validity.latest),
            "expiry_rule": validity.rule,
            "issue_month": fields.get("issue_month"),
        }
    out = {
        "document_type": fields["document_type"],
        "document_number": fields["document_number"],
        "last_name": fields["last_name"],
        "first_names": fields["first_names"],
        "birth_date": _jsonable(fields["birth_date"]),
        "expiry_date": _jsonable(expiry),
        "sex": fields["sex"],
        "age_on_registration": ages.get("age_on_registration"),
        "needs_parental_consent": ages.get("needs_parental_consent"),
        "needs_jdc": ages.get("needs_jdc"),
        "valid": reading.valid,
        "checks": reading.field_checks(),
        "lines": list(reading.lines),
        "issuer": reading.issuer,
        "nationality": reading.nationality,
        "repairs": [str(r) for r in reading.repairs],
        **extra,
    }
    if reading.unknown_countries:
        out["unknown_countries"] = reading.unknown_countries
    return out


def from_file(path: Path, day: dt.date, student: dict[str, Any] | None) -> dict[str, Any]:
    """The identity checks on a file, through intake and the sandbox."""
    from intake import BlobStore, Sandbox, Settings
    from intake.sandbox import limits_from
    from web.cli import check_one

    settings = Settings.from_env()
    with (
        tempfile.TemporaryDirectory(prefix="justif-mrz-") as tmp,
        Sandbox(limits_from(settings, check=True), max_jobs=4) as sandbox,
    ):
        result = check_one(
            path,
            "identity",
            settings=settings,
            store=BlobStore(tmp),
            sandbox=sandbox,
            student=student,
            registration_date=day,
            profile=None,
        )
    fields = result["fields"]
    out = {key: fields.get(key) for key in KEYS}
    out["valid"] = bool(fields.get("mrz_valid"))
    out["checks"] = fields.get("mrz_checks") or {}
    out["lines"] = fields.get("mrz_lines") or []
    for key in ("issuer", "nationality", "expiry_latest", "expiry_rule", "issue_month", "mrz_page"):
        if key in fields:
            out[key] = fields[key]
    out["outcome"] = result["outcome"]
    out["findings"] = [
        {"code": f["code"], "level": f["level"], "result": f["result"], "message": f["message"]}
        for f in result["findings"]
        if not (f["result"] == "pass" and f["level"] == "info")
    ]
    out["elapsed_ms"] = result["elapsed_ms"]
    return out


def _print(out: dict[str, Any]) -> None:
    checks = out.get("checks") or {}
    status = "valide" if out["valid"] else "NON VALIDE (à vérifier par une personne)"
    click.echo(f"MRZ {status}")
    for line in out.get("lines") or []:
        click.echo(f"    {line}")
    for key in KEYS:
        value = out.get(key)
        flag = _FLAG.get(checks.get(key)) if key in checks else ""
        click.echo(f"  {key:<24} {'' if value is None else value!s:<28} {flag}")
    for key in ("expiry_latest", "expiry_rule", "issue_month", "repairs", "unknown_countries"):
        if out.get(key):
            click.echo(f"  {key:<24} {out[key]}")
    if "outcome" in out:
        click.echo(f"Pièce : {out['outcome']}")
        for f in out.get("findings", []):
            click.echo(f"    {f['level']:<7} {f['code']:<26} {f['message']}")


@click.command("mrz")
@click.argument("source")
@click.option("--json", "as_json", is_flag=True, help="Sortie JSON.")
@click.option(
    "--registration-date",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Jour d’inscription pour l’âge et la validité (défaut : aujourd’hui).",
)
@click.option(
    "--student",
    "student_path",
    type=click.Path(exists=True, dir_okay=False),
    help="Dossier étudiant (JSON) pour comparer nom et date de naissance (fichier seulement).",
)
def mrz_cmd(
    source: str, as_json: bool, registration_date: dt.datetime | None, student_path: str | None
) -> None:
    """Lit la bande MRZ d’une pièce d’identité (fichier PDF/JPG ou texte, lignes
    séparées par des retours à la ligne ou « / »)."""
    day = registration_date.date() if registration_date else dt.datetime.now(dt.UTC).date()
    path = Path(source)
    if path.is_file():
        student = None
        if student_path:
            student = json.loads(Path(student_path).read_text(encoding="utf-8"))
        out = from_file(path, day, student)
    else:
        out = from_text(source, day)
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False, indent=2, default=str))
    else:
        _print(out)
    sys.exit(0 if out["valid"] else 1)


COMMANDS = [mrz_cmd]
