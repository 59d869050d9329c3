"""Accuracy and speed of the INE / CVEC / bac / JDC checks on generated documents.

Generates seeded synthetic documents (samples/documents.py: born-digital PDFs and
degraded scans), sends each through intake (``receive``: type, size, storage) and then
the real checks through ``intake.analyse`` with **one warm sandbox**, as the service
does, and prints Markdown tables:

- per field and per degradation, the exact-read rate (the value in the verdict's
  ``fields`` equals the truth);
- per degradation, the outcomes and the documents **accepted with a wrong value**
  (accepted while a field differs from the truth, or while the record disagrees with
  the document on purpose): this must be 0 — a doubtful reading ends in ``review``;
- p50 / p95 time per document: ``analyse`` wall time, the CPU time the sandbox child
  and its Tesseract processes spent on it (what a quiet machine would take on one
  core), and receive + analyse.

    python bench/accuracy.py --n 300 --seed 1          # a few hundred documents
    python bench/accuracy.py --quick                     # 63 documents: every combination once
    python bench/accuracy.py --dir DIR --n 300 --markdown docs/bench-accuracy.md

Timings depend on the machine: quote machine and date with any figure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from intake import BlobStore, Sandbox, Settings, analyse, check_context, receive  # noqa: E402
from intake.sandbox import limits_from  # noqa: E402
from samples import documents as gen  # noqa: E402
from validators.identifiers import normalize_ine, parse_cvec  # noqa: E402

FIELDS = ("ine", "cvec_number", "academic_year", "birth_date", "cvec_basis", "last_name")


def _norm(key: str, value: Any) -> Any:
    if value is None:
        return None
    if key == "ine":
        return normalize_ine(str(value))
    if key == "cvec_number":
        return parse_cvec(str(value)).normalized
    if key == "last_name":
        return gen.fold(str(value))
    return str(value)


def _row_key(sample: dict[str, Any]) -> str:
    if sample["form"] == "digital":
        return "born-digital PDF"
    return f"{sample['degradation']['name']} ({'JPG' if sample['form'] == 'scan_jpg' else 'PDF'})"


def _pct(num: int, den: int) -> str:
    return f"{100 * num / den:.1f} % ({num}/{den})" if den else "–"


def _ms(values: list[float], q: float) -> str:
    if not values:
        return "–"
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return f"{ordered[index]:.0f}"


def _child_cpu_ms(sandbox: Any) -> tuple[int, float] | None:
    """(pid, CPU ms) of the sandbox's child, its reaped children (Tesseract) included,
    from /proc: a load-independent estimate of the time on a quiet machine. Uses the
    sandbox's private process handle; None when unavailable (no child yet, not Linux)."""
    proc = getattr(sandbox, "_proc", None)
    if proc is None:
        return None
    try:
        fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
    return proc.pid, ticks * 1000 / os.sysconf("SC_CLK_TCK")


def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="justif-bench-"))
    truths = sorted(work.glob("*.json"))
    truths = [p for p in truths if not p.name.endswith(".student.json")]
    if len(truths) < args.n:
        started = time.perf_counter()
        gen.generate(
            work,
            args.n,
            args.seed,
            kinds=args.kinds,
            forms=args.forms,
            traps=args.traps,
            year=args.year,
        )
        print(
            f"generated {args.n} documents in {time.perf_counter() - started:.0f} s",
            file=sys.stderr,
        )
        truths = sorted(p for p in work.glob("*.json") if not p.name.endswith(".student.json"))
    truths = truths[: args.n]
    settings = Settings(data_dir=work / "store", academic_year=args.year)
    store = BlobStore(settings.data_dir).ensure()
    results = []
    with Sandbox(limits_from(settings, check=True), max_jobs=settings.child_jobs) as sandbox:
        for i, truth_path in enumerate(truths):
            sample = json.loads(truth_path.read_text(encoding="utf-8"))
            path = work / sample["file"]
            t0 = time.perf_counter()
            with path.open("rb") as fh:
                received = receive(
                    fh, path.name, sample["kind"], settings=settings, store=store, sandbox=sandbox
                )
            t1 = time.perf_counter()
            cpu_ms = None
            if received.stored is None:
                verdict = received.verdict
                analyse_ms = 0.0
            else:
                before = _child_cpu_ms(sandbox)
                t1 = time.perf_counter()
                context = check_context(settings, student=sample["student"])
                verdict = analyse(
                    received.stored,
                    received.mime or "",
                    sample["kind"],
                    context,
                    settings=settings,
                    sandbox=sandbox,
                )
                analyse_ms = (time.perf_counter() - t1) * 1000
                after = _child_cpu_ms(sandbox)
                if before and after and before[0] == after[0]:
                    cpu_ms = after[1] - before[1]
            total_ms = (time.perf_counter() - t0) * 1000
            results.append(
                {
                    "sample": sample,
                    "outcome": str(verdict.outcome),
                    "fields": dict(verdict.fields),
                    "codes": verdict.failed_codes(),
                    "analyse_ms": analyse_ms,
                    "cpu_ms": cpu_ms,
                    "total_ms": total_ms,
                }
            )
            if args.verbose:
                print(
                    f"{i + 1:4d} {sample['name']:<28} {verdict.outcome:<9} {analyse_ms:6.0f} ms "
                    f"{','.join(verdict.failed_codes())}",
                    file=sys.stderr,
                )
    if not args.dir and not args.keep:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return {"results": results, "work": str(work)}


def report(data: dict[str, Any], args: argparse.Namespace) -> str:
    results = data["results"]
    lines: list[str] = []
    # -- exact reads per field and degradation
    exact: dict[tuple[str, str], list[bool]] = defaultdict(list)
    rows: list[str] = []
    misses: list[str] = []
    for r in results:
        sample = r["sample"]
        row = _row_key(sample)
        if row not in rows:
            rows.append(row)
        for key in FIELDS:
            if key not in sample["fields"] or (sample["kind"] != "cvec" and key in ("cvec_basis",)):
                continue
            if key == "last_name" and sample["kind"] == "bac":
                pass
            want = _norm(key, sample["fields"][key])
            got = _norm(key, r["fields"].get(key))
            ok = want == got
            exact[(key, row)].append(ok)
            exact[(key, "all")].append(ok)
            if not ok and key in ("ine", "cvec_number"):
                misses.append(f"{sample['name']} {key}: read {got} for {want} ({r['outcome']})")
    rows.sort(key=lambda x: (x != "born-digital PDF", x))
    keys = [k for k in FIELDS if exact.get((k, "all"))]
    lines.append("### Exact reads per field and degradation\n")
    lines.append("| documents | " + " | ".join(keys) + " |")
    lines.append("|---|" + "---|" * len(keys))
    for row in [*rows, "all"]:
        cells = []
        for key in keys:
            got = exact.get((key, row), [])
            cells.append(_pct(sum(got), len(got)))
        lines.append(f"| {row} | " + " | ".join(cells) + " |")

    # -- outcomes and wrong acceptances
    lines.append("\n### Outcomes and documents accepted with a wrong value\n")
    lines.append(
        "| documents | n | accepted | review | rejected | traps not accepted "
        "| accepted with a wrong value |"
    )
    lines.append("|---|---|---|---|---|---|---|")
    wrong_total = 0
    per_row: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in results:
        per_row[_row_key(r["sample"])].append(r)
        per_row["all"].append(r)
    wrong_list = []
    for row in [*rows, "all"]:
        items = per_row[row]
        counts = Counter(r["outcome"] for r in items)
        traps = [r for r in items if r["sample"]["expected"]["outcome"] != "accepted"]
        traps_ok = sum(r["outcome"] != "accepted" for r in traps)
        wrong = 0
        for r in items:
            if r["outcome"] != "accepted":
                continue
            sample = r["sample"]
            bad_field = any(
                key in r["fields"]
                and _norm(key, r["fields"][key]) != _norm(key, sample["fields"][key])
                for key in ("ine", "cvec_number", "academic_year", "birth_date")
                if key in sample["fields"]
            )
            if bad_field or sample["expected"]["outcome"] != "accepted":
                wrong += 1
                if row == "all":
                    wrong_list.append(f"{sample['name']} ({sample['scenario']}): {r['fields']}")
        if row == "all":
            wrong_total = wrong
        lines.append(
            f"| {row} | {len(items)} | {counts['accepted']} | {counts['review']} | "
            f"{counts['rejected']} | {traps_ok}/{len(traps)} | **{wrong}** |"
        )

    # -- time
    lines.append("\n### Time per document (ms)\n")
    lines.append(
        "| documents | n | analyse p50 | analyse p95 | analyse CPU p50 | analyse CPU p95 "
        "| receive + analyse p50 | receive + analyse p95 |"
    )
    lines.append("|---|---|---|---|---|---|---|---|")
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in results:
        s = r["sample"]
        label = (
            f"{s['kind']} born-digital" if s["form"] == "digital" else f"{s['kind']} scan (1 page)"
        )
        groups[label].append(r)
    for label in sorted(groups):
        items = groups[label]
        a = [r["analyse_ms"] for r in items]
        t = [r["total_ms"] for r in items]
        c = [r["cpu_ms"] for r in items if r.get("cpu_ms") is not None]
        lines.append(
            f"| {label} | {len(items)} | {_ms(a, 0.5)} | {_ms(a, 0.95)} "
            f"| {_ms(c, 0.5)} | {_ms(c, 0.95)} | {_ms(t, 0.5)} | {_ms(t, 0.95)} |"
        )
    if args.show_misses and misses:
        lines.append("\nMisreads (identifiers):\n")
        lines.extend(f"- {m}" for m in misses)
    if wrong_list:
        lines.append("\nAccepted with a wrong value:\n")
        lines.extend(f"- {w}" for w in wrong_list)
    lines.append(f"\nAccepted with a wrong value, total: **{wrong_total}**")
    return "\n".join(lines)


def header(args: argparse.Namespace) -> str:
    uname = platform.uname()
    cpus = os.cpu_count()
    day = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = "python bench/accuracy.py " + " ".join(sys.argv[1:])
    return (
        f"Machine: {uname.system} {uname.release}, {uname.machine}, {cpus} CPU, "
        f"Python {platform.python_version()}; date: {day}\n\nCommand: `{command}`\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument(
        "--quick", action="store_true", help="63 documents: every kind × form × degradation once"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--kinds", default=",".join(gen.KINDS))
    parser.add_argument("--forms", default=",".join(gen.FORMS))
    parser.add_argument("--traps", type=float, default=0.2)
    parser.add_argument("--year", default="2024-2025")
    parser.add_argument("--dir", help="work directory (documents are reused when present)")
    parser.add_argument("--keep", action="store_true", help="keep the generated documents")
    parser.add_argument("--markdown", help="also write the report to this file")
    parser.add_argument("--show-misses", action="store_true")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.n = min(args.n, 63)
    args.kinds = [k for k in args.kinds.split(",") if k]
    args.forms = [f for f in args.forms.split(",") if f]
    data = run(args)
    text = header(args) + "\n" + report(data, args)
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
