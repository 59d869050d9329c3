"""`justif photo-fix IN -o OUT.jpg [--profile P]`: repair an ID photo.

The file goes through intake like any upload (type, size, safety, metadata removed),
then photo-fix runs in the limited child: turned upright, straightened, cropped to
35:45 with the head at the profile's size and centred (intake.photofix). OUT is written
atomically, only when the repair worked; the repaired photo is then checked against the
same profile and what still fails is listed (colours, blur, light or background need a
new photo).

Exit codes: 0 repaired and written; 1 the file was refused or cannot be repaired (the
reason is printed); 2 usage error.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import click

PROFILES = ("university", "ants")  # validators/data/photo_profiles.toml (a test checks)

_OUTCOME = {
    "accepted": "conforme",
    "review": "à vérifier par un gestionnaire",
    "rejected": "encore à corriger",
}


@click.command("photo-fix")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Photo réparée (JPG).",
)
@click.option(
    "--profile",
    type=click.Choice(PROFILES),
    default=None,
    help="Profil photo (défaut : celui de la configuration, university).",
)
@click.option("--json", "as_json", is_flag=True, help="Sortie JSON.")
def photo_fix_cmd(source: Path, output: Path, profile: str | None, as_json: bool) -> None:
    """Répare une photo d’identité : remise dans le bon sens, redressée, recadrée 35 × 45."""
    from intake import BlobStore, Sandbox, Settings, analyse, check_context, receive
    from intake.photofix import fix_photo
    from intake.sandbox import limits_from
    from intake.storage import atomic_write

    settings = Settings.from_env()
    profile = profile or settings.photo_profile
    report: dict[str, Any] = {"input": str(source), "output": None, "profile": profile}
    with (
        tempfile.TemporaryDirectory(prefix="justif-photo-") as tmp,
        Sandbox(limits_from(settings, check=True)) as sandbox,
    ):
        store = BlobStore(Path(tmp) / "store")
        with source.open("rb") as fh:
            received = receive(
                fh, source.name, "photo", settings=settings, store=store, sandbox=sandbox
            )
        if received.stored is None:
            blocking = [f for f in received.verdict.findings if f.blocks]
            report.update(
                ok=False,
                actions=[],
                reason=str(blocking[0].code) if blocking else "file.unreadable",
                message=" ".join(f.message for f in blocking),
            )
            _finish(report, as_json, 1)
        fixed = Path(tmp) / "fixed.jpg"
        result = fix_photo(
            received.stored, fixed, profile=profile, settings=settings, sandbox=sandbox
        )
        report.update(result.to_dict())
        report.pop("out", None)
        if not result.ok:
            _finish(report, as_json, 1)
        atomic_write(output, fixed.read_bytes(), mode=0o644)
        report["output"] = str(output)
        verdict = analyse(
            fixed,
            "image/jpeg",
            "photo",
            check_context(settings, photo_profile=profile),
            settings=settings,
            sandbox=sandbox,
        )
        report["check"] = {
            "outcome": str(verdict.outcome),
            "remaining": [
                {"code": str(f.code), "level": str(f.level), "message": f.message}
                for f in verdict.findings
                if f.flags or f.blocks
            ],
        }
    _finish(report, as_json, 0)


def _finish(report: dict[str, Any], as_json: bool, code: int) -> None:
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
        sys.exit(code)
    if report.get("ok"):
        for action in report.get("actions", []):
            click.echo(f"  {action}")
        click.echo(f"{report['output']} : photo réparée (profil {report['profile']}).")
        check = report.get("check") or {}
        if check:
            click.echo(f"Vérification : {_OUTCOME.get(check['outcome'], check['outcome'])}.")
            for item in check["remaining"]:
                click.echo(f"    {item['level']:<7} {item['code']:<26} {item['message']}")
    else:
        click.echo(
            f"{report['input']} : réparation impossible ({report.get('reason')}). "
            f"{report.get('message', '')}",
            err=True,
        )
    sys.exit(code)


COMMANDS = [photo_fix_cmd]
