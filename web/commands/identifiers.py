"""`justif ine VALUE...` and `justif cvec VALUE...`: what an identifier is, as the
checkers see it.

One JSON object per value with ``--json`` (a list, as ``justif check --json``):
``{"input", "valid", "family", "normalized", "repaired_from", "code", "level",
"message"}`` (plus ``result`` and ``alternatives``). ``valid`` is true when the value,
after a repair proven by its check key, is a valid identifier; ``normalized`` is then
the repaired value and ``repaired_from`` lists each change (position, read, meant).

``--source`` says where the values come from: ``ocr`` (the default: read off a
document, a repair is accepted when a key proves it, doubt is inconclusive — the
results of domain.md §3.5), ``typed`` (entered by the student: any repair means the
value is wrong and is reported as an error with the corrected value) or ``text_layer``
(copied from a born-digital PDF: exact, like ``typed``).

Exit codes: 0 every value valid, 1 otherwise, 2 usage error.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

_SOURCES = ("ocr", "typed", "text_layer")
_MARK = {True: "valide", False: "non valide"}


def _source_option(func: Any) -> Any:
    return click.option(
        "--source",
        type=click.Choice(_SOURCES),
        default="ocr",
        show_default=True,
        help="Origine des valeurs : lues par OCR, saisies par l’étudiant, ou couche texte PDF.",
    )(func)


def _emit(results: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(results, ensure_ascii=False, indent=2))
    else:
        for r in results:
            family = r.get("family") or "-"
            click.echo(
                f"{r['input']}  {_MARK[r['valid']]}  [{family}]  {r['normalized']}  "
                f"{r['level']} {r['code']}"
            )
            click.echo(f"    {r['message']}")
            verb = "corrigé en" if r["valid"] else "peut-être"
            for change in r["repaired_from"]:
                click.echo(
                    f"    position {change['position']} : lu {change['read']}, "
                    f"{verb} {change['meant']}"
                )
    sys.exit(0 if all(r["valid"] for r in results) else 1)


@click.command("ine")
@click.argument("values", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Sortie JSON (une liste).")
@_source_option
def ine_cmd(values: tuple[str, ...], as_json: bool, source: str) -> None:
    """Vérifie des numéros INE / NNE / INES (famille, clé, correction 0/O 1/I)."""
    from validators.identifiers import check_ine

    _emit([check_ine(v, source).to_json() for v in values], as_json)


@click.command("cvec")
@click.argument("values", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Sortie JSON (une liste).")
@_source_option
def cvec_cmd(values: tuple[str, ...], as_json: bool, source: str) -> None:
    """Vérifie des numéros d’attestation CVEC (forme, suffixe / NOMXX)."""
    from validators.identifiers import check_cvec

    _emit([check_cvec(v, source).to_json() for v in values], as_json)


COMMANDS = [ine_cmd, cvec_cmd]
