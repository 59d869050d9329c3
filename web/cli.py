"""The ``justif`` command line.

Exit codes: 0 every file accepted; 1 a file rejected or needing review (or a
command-level failure); 2 a usage error (click's own). Commands of other areas live
in their own modules, listed in ``LAZY_COMMANDS`` and imported when first used.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import click

from validators.base import Kind

# the commands of other areas: name -> module defining it (in a ``COMMANDS`` list).
# They are imported only when their name is run (or listed by --help), so
# `justif check` does not pay for SQLAlchemy and Flask.
LAZY_COMMANDS: dict[str, str] = {
    "ine": "web.commands.identifiers",
    "cvec": "web.commands.identifiers",
    "mrz": "web.commands.mrz",
    "photo-fix": "web.commands.photo",
    "init-db": "web.commands.service",
    "demo": "web.commands.service",
    "serve": "web.commands.service",
    "create-admin": "web.commands.service",
    "token": "web.commands.service",
    "revalidate": "web.commands.batch",
    "worker": "web.commands.batch",
    "purge": "web.commands.batch",
}
COMMAND_MODULES: tuple[str, ...] = tuple(dict.fromkeys(LAZY_COMMANDS.values()))


class LazyGroup(click.Group):
    """A click group whose other commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None or cmd_name not in LAZY_COMMANDS:
            return command
        module = importlib.import_module(LAZY_COMMANDS[cmd_name])
        for found in getattr(module, "COMMANDS", ()):
            self.add_command(found)
        return super().get_command(ctx, cmd_name)


COMMAND_MODULES: tuple[str, ...] = (
    "web.commands.identifiers",  # justif ine, justif cvec
    "web.commands.mrz",  # justif mrz
    "web.commands.photo",  # justif photo-fix
    "web.commands.service",  # justif init-db, demo, serve…
    "web.commands.batch",  # justif revalidate, worker, purge
)

_OUTCOME_LABEL = {
    "accepted": "acceptée / accepted",
    "rejected": "à corriger / rejected",
    "review": "à vérifier / review",
}


def _version() -> str:
    try:
        return metadata.version("justif")
    except metadata.PackageNotFoundError:
        return "0+unknown"


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(_version(), "--version", prog_name="justif")
def cli() -> None:
    """justif — contrôle des pièces justificatives d’inscription."""


def _load_student(path: str | None) -> dict[str, Any] | None:
    if not path:
        return None
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise click.BadParameter(f"{path}: {exc}", param_hint="--student") from exc
    if not isinstance(data, dict):
        raise click.BadParameter(f"{path}: an object is expected", param_hint="--student")
    return data


def check_one(
    path: Path,
    kind: str | None,
    *,
    settings: Any,
    store: Any,
    sandbox: Any,
    gate: Any = None,
    student: dict[str, Any] | None,
    registration_date: dt.date | None,
    profile: str | None,
) -> dict[str, Any]:
    """intake (type, size, safety, storage) then the kind's checks → one JSON object."""
    from intake import analyse, check_context, receive
    from intake.receive import upload_options
    from validators.codes import KindCode
    from validators.verdict import Level, Result, Verdict, finding

    started = time.perf_counter()
    with path.open("rb") as fh:
        received = receive(
            fh,
            path.name,
            kind or Kind.DIPLOMA,
            settings=settings,
            store=store,
            sandbox=gate or sandbox,
        )
    verdict = received.verdict
    if kind and received.stored is not None:
        context = check_context(
            settings,
            student=student,
            registration_date=registration_date,
            photo_profile=profile,
            options=upload_options(received.verdict.findings),
        )
        checked = analyse(
            received.stored, received.mime or "", kind, context, settings=settings, sandbox=sandbox
        )
        verdict = verdict.merged(checked)
        if student is None and kind in {
            "identity",
            "cvec",
            "bac",
            "jdc",
            "diploma",
            "parental_consent",
            "apprenticeship_contract",
        }:
            verdict = Verdict.of(
                (
                    *verdict.findings,
                    finding(KindCode.NO_STUDENT, Level.INFO, result=Result.SKIPPED),
                ),
                verdict.fields,
            )
    return {
        "file": str(path),
        "kind": kind,
        "outcome": str(verdict.outcome),
        "findings": [f.to_dict() for f in verdict.findings],
        "fields": verdict.to_dict()["fields"],
        "mime": received.mime,
        "pages": received.pages,
        "sha256": received.sha256 or received.upload_sha256,
        "elapsed_ms": round((time.perf_counter() - started) * 1000, 1),
    }


@cli.command("check")
@click.option(
    "--kind",
    type=click.Choice([k.value for k in Kind]),
    default=None,
    help="Type de pièce (sans --kind : seulement le contrôle du fichier).",
)
@click.option("--json", "as_json", is_flag=True, help="Sortie JSON (une liste).")
@click.option(
    "--student",
    "student_path",
    type=click.Path(exists=True, dir_okay=False),
    help="Dossier étudiant (JSON) pour les comparaisons.",
)
@click.option(
    "--registration-date",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Jour d’inscription (défaut : celui du dossier, sinon aujourd’hui).",
)
@click.option(
    "--profile", type=click.Choice(["university", "ants"]), default=None, help="Profil photo."
)
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
def check_cmd(
    kind: str | None,
    as_json: bool,
    student_path: str | None,
    registration_date: dt.datetime | None,
    profile: str | None,
    files: tuple[Path, ...],
) -> None:
    """Contrôle des fichiers : format, taille, sécurité, puis la pièce elle-même."""
    from intake import BlobStore, Sandbox, Settings
    from intake.sandbox import limits_from

    settings = Settings.from_env()
    student = _load_student(student_path)
    day = registration_date.date() if registration_date else None
    results = []
    with (
        tempfile.TemporaryDirectory(prefix="justif-check-") as tmp,
        # untrusted bytes in a child with the intake limits; the checks of the stored
        # copy in another, with room for OpenCV and Tesseract
        Sandbox(limits_from(settings), max_jobs=settings.child_jobs) as gate,
        Sandbox(limits_from(settings, check=True), max_jobs=settings.child_jobs) as sandbox,
    ):
        store = BlobStore(tmp)
        for path in files:
            results.append(
                check_one(
                    path,
                    kind,
                    settings=settings,
                    store=store,
                    gate=gate,
                    sandbox=sandbox,
                    student=student,
                    registration_date=day,
                    profile=profile,
                )
            )
    if as_json:
        click.echo(json.dumps(results, ensure_ascii=False, indent=2))
    else:
        _print_table(results)
    sys.exit(0 if all(r["outcome"] == "accepted" for r in results) else 1)


def _print_table(results: list[dict[str, Any]]) -> None:
    for r in results:
        click.echo(
            f"{r['file']}  [{r['kind'] or '-'}]  {_OUTCOME_LABEL[r['outcome']]}"
            f"  ({r['mime'] or '?'}, {r['pages']} p., {r['elapsed_ms']:.0f} ms)"
        )
        for f in r["findings"]:
            if f["result"] == "pass" and f["level"] == "info":
                continue
            click.echo(f"    {f['level']:<7} {f['code']:<28} {f['message']}")


@cli.command("merge")
@click.argument("recto", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("verso", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path))
def merge_cmd(recto: Path, verso: Path, output: Path) -> None:
    """Réunit recto et verso (JPG ou PDF) en un seul PDF de 5 Mo au plus."""
    from intake import BlobStore, Sandbox, Settings, merge, receive
    from intake.sandbox import limits_from
    from intake.storage import atomic_write

    settings = Settings.from_env()
    with (
        tempfile.TemporaryDirectory(prefix="justif-merge-") as tmp,
        Sandbox(limits_from(settings, check=True)) as sandbox,
    ):
        store = BlobStore(tmp)
        failed = False
        for path in (recto, verso):
            with path.open("rb") as fh:
                received = receive(
                    fh, path.name, Kind.IDENTITY, settings=settings, store=store, sandbox=sandbox
                )
            for f in received.verdict.findings:
                if f.blocks:
                    failed = True
                    click.echo(f"{path}: {f.code}: {f.message}", err=True)
        if failed:
            sys.exit(1)
        out_tmp = Path(tmp) / "merged.pdf"
        result = merge([recto, verso], out_tmp, settings=settings, sandbox=sandbox)
        if not result.ok:
            click.echo(f"{result.finding.code}: {result.finding.message}", err=True)
            sys.exit(1)
        atomic_write(output, out_tmp.read_bytes(), mode=0o644)
    for step in result.steps:
        click.echo(f"  {step}")
    size_mb = result.size / 1e6
    click.echo(f"{output} : {result.pages} pages, {size_mb:.2f} Mo (recto puis verso)")
    if not result.fits:
        click.echo("Le fichier dépasse encore 5 Mo : scannez en résolution plus faible.", err=True)
        sys.exit(1)


@cli.command("check-deps")
def check_deps_cmd() -> None:
    """Vérifie les programmes et données nécessaires (tesseract, langues, libmagic…)."""
    from ocr.deps import check_deps

    problems = 0
    for item in check_deps():
        mark = "ok " if item.ok else "MANQUE"
        click.echo(f"{mark:<6} {item.name:<22} {item.version or ''}")
        if not item.ok:
            problems += 1
            click.echo(f"       → {item.advice}")
    sys.exit(1 if problems else 0)


def _register() -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name in (name, "web.commands"):
                continue
            raise
        for command in getattr(module, "COMMANDS", ()):
            cli.add_command(command)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
