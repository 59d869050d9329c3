"""Batch commands: `justif revalidate`, `justif worker`, `justif purge`.

Progress bars go to stderr (stdout stays clean for pipes and tests); `--no-progress-bar`
turns them off.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

import click

from validators.base import Kind

_STATUSES = ["to_fix", "pending_review", "validated", "refused", "processing"]


def _pipeline():
    from intake.pipeline import Pipeline

    return Pipeline.from_env()


class _Bar:
    """A rich progress bar on stderr with rate and ETA, or nothing."""

    def __init__(self, enabled: bool, total: int, label: str) -> None:
        self.enabled = enabled and total > 0
        self._progress = None
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self._task = self._progress.add_task(label, total=total, rate="")

    def __enter__(self) -> _Bar:
        if self._progress:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress:
            self._progress.stop()

    def set(self, done: int) -> None:
        if self._progress:
            task = self._progress.tasks[0]
            speed = task.speed
            self._progress.update(
                self._task, completed=done, rate=f"{speed:.1f} doc/s" if speed else ""
            )

    def advance(self) -> None:
        if self._progress:
            self.set(int(self._progress.tasks[0].completed) + 1)


@click.command("revalidate")
@click.option("--kind", type=click.Choice([k.value for k in Kind]), default=None)
@click.option(
    "--status",
    type=click.Choice(_STATUSES),
    default=None,
    help="Only pieces whose computed status is this one.",
)
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Only versions uploaded on or after this day.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    help="Threads here (without a broker); with JUSTIF_BROKER_URL the Celery workers do the work.",
)
@click.option(
    "--dry-run",
    "mode",
    flag_value="dry_run",
    default=True,
    help="Compute and show the differences, write no report (default).",
)
@click.option(
    "--apply",
    "mode",
    flag_value="apply",
    help="Write the new reports (human decisions are never changed).",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Per-document results as .csv or .json.",
)
@click.option("--no-progress-bar", is_flag=True)
def revalidate_cmd(
    kind: str | None,
    status: str | None,
    since: dt.datetime | None,
    workers: int,
    mode: str,
    report_path: Path | None,
    no_progress_bar: bool,
) -> None:
    """Relance les contrôles actuels sur les fichiers conservés et affiche les différences.

    Une révision interrompue, relancée avec les mêmes options, reprend où elle s’était arrêtée.
    Les décisions humaines ne sont jamais modifiées (elles apparaissent comme conflits).
    """
    from intake import revalidate as rv

    if report_path and report_path.suffix.lower() not in (".csv", ".json"):
        raise click.BadParameter("use a .csv or .json file", param_hint="--report")
    pipe = _pipeline()
    if not pipe.db.has_schema():
        click.echo("Base de données absente : lancez d’abord `justif init-db`.", err=True)
        sys.exit(1)
    selection = rv.Selection(kind=kind, status=status, since=since.date() if since else None)
    run_id, resumed = rv.open_run(
        pipe, rv.Mode(mode), selection, started_by=os.environ.get("USER", "cli")
    )
    done, total = rv.progress(pipe, run_id)
    verb = "reprise" if resumed else "nouvelle révision"
    click.echo(
        f"Révision #{run_id} ({verb}, {'application' if mode == 'apply' else 'essai'}) "
        f"— règles {pipe.ruleset} — {total} document(s), {done} déjà fait(s).",
        err=True,
    )
    broker = pipe.settings.broker_url
    with _Bar(not no_progress_bar, total, "revalidation") as bar:
        bar.set(done)
        if broker:
            rv.run_on_celery(pipe, run_id, on_progress=lambda d, t: bar.set(d))
        else:
            rv.run_in_process(pipe, run_id, workers=workers, on_item=lambda _r: bar.advance())
    rep = rv.report(pipe, run_id)
    _print_report(rep)
    if report_path:
        rv.write_report(rep, report_path)
        click.echo(f"Rapport écrit : {report_path}", err=True)
    left, total = rv.progress(pipe, run_id)
    sys.exit(0 if left == total and not any(d.errors for d in rep.by_kind.values()) else 1)


def _print_report(rep) -> None:
    click.echo(f"Révision #{rep.run_id} — mode {rep.mode} — règles {rep.ruleset}")
    click.echo(
        "| pièce | vérifiés | nouveaux refus | nouveaux acceptés | codes changés "
        "| inchangés | conflits | erreurs |"
    )
    click.echo("|---|---|---|---|---|---|---|---|")
    totals = [0] * 7
    for kind, d in rep.by_kind.items():
        row = [
            d.checked,
            d.newly_rejected,
            d.newly_accepted,
            d.codes_changed,
            d.unchanged,
            d.conflicts,
            d.errors,
        ]
        totals = [a + b for a, b in zip(totals, row, strict=True)]
        click.echo(f"| {kind} | " + " | ".join(str(x) for x in row) + " |")
    click.echo("| **total** | " + " | ".join(str(x) for x in totals) + " |")
    if rep.code_changes:
        changes = ", ".join(f"{c} ×{n}" for c, n in rep.code_changes.most_common(12))
        click.echo(f"Codes : {changes}")
    if rep.conflicts:
        click.echo(
            f"{len(rep.conflicts)} conflit(s) avec une décision humaine (à revoir, "
            "décision inchangée) :"
        )
        for c in rep.conflicts[:20]:
            click.echo(
                f"  pièce {c['piece']} ({c['kind']}, {c['student']}) : décision "
                f"{c['decision']}, {c['before_outcome']} → {c['after_outcome']} "
                f"{' '.join(c['after_codes'])}"
            )


@click.command("worker", context_settings={"ignore_unknown_options": True})
@click.option(
    "--concurrency", type=int, default=None, help="Pool processes (default: the CPU count)."
)
@click.option("--loglevel", default="INFO")
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
def worker_cmd(concurrency: int | None, loglevel: str, celery_args: tuple[str, ...]) -> None:
    """Démarre un worker Celery (JUSTIF_BROKER_URL requis)."""
    if not os.environ.get("JUSTIF_BROKER_URL"):
        click.echo(
            "JUSTIF_BROKER_URL n’est pas défini : sans broker, les contrôles tournent "
            "dans le service (make run).",
            err=True,
        )
        sys.exit(1)
    from intake.celery_app import app

    argv = ["worker", f"--loglevel={loglevel}", "-Q", "justif"]
    if concurrency:
        argv.append(f"--concurrency={concurrency}")
    argv.extend(celery_args)
    app.worker_main(argv)


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="List what would be deleted, delete nothing.")
def purge_cmd(dry_run: bool) -> None:
    """Supprime les pièces d’identité conservées au-delà du délai après décision.

    Le délai est JUSTIF_RETENTION_IDENTITY_DAYS (30 jours par défaut) ; la décision, le
    rapport et les champs extraits sont conservés, seuls les fichiers sont supprimés.
    """
    from intake.retention import purge

    pipe = _pipeline()
    if not pipe.db.has_schema():
        click.echo("Base de données absente : lancez d’abord `justif init-db`.", err=True)
        sys.exit(1)
    rep = purge(pipe, dry_run=dry_run)
    verb = "à supprimer" if dry_run else "supprimée(s)"
    click.echo(
        f"{len(rep.versions)} version(s) de pièce d’identité {verb} "
        f"(délai {pipe.settings.retention_identity_days} j après décision) ; "
        f"{rep.blobs_deleted} fichier(s) effacé(s), {rep.blobs_kept} conservé(s) car "
        "utilisé(s) ailleurs."
    )
    orphans = "à supprimer" if dry_run else "supprimé(s)"
    click.echo(
        f"{rep.orphans} fichier(s) orphelin(s) {orphans} (stockés par un dépôt interrompu, "
        f"jamais enregistrés) ; {rep.offers_deleted} fichier(s) de versions réduites "
        "non retenues supprimé(s)."
    )


COMMANDS = [revalidate_cmd, worker_cmd, purge_cmd]
