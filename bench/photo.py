"""ID-photo checker and photo-fix, measured on the labelled samples (samples/photos.py).

For every sample and profile the photo goes through intake as an upload would
(``intake.receive``: type, safety, metadata removed, stored copy) and is then checked by
``intake.analyse`` in a warm :class:`intake.Sandbox` (the child already has OpenCV and
the cascades loaded). Prints, as Markdown:

- per criterion: how many variants must raise it and how many did, how many compliant
  variants raised it wrongly, and how many defect variants raised it unexpectedly;
- per variant: missed and unexpected codes, outcome per profile;
- p50/p95 time per photo of ``intake.analyse`` (``--n`` repeats per photo and profile),
  and the checker's own CPU time in-process on one thread (a figure the load that other
  programs put on the machine hardly changes);
- photo-fix: each repairable variant repaired and re-checked (must then raise only what
  photo-fix cannot change, e.g. a white wall under ANTS), each refusal with its reason.

Usage::

    .venv/bin/python -m bench.photo [--quick] [--n 3] [--seed 7] [--samples DIR]

``--quick``: one source portrait, one timing run, photo-fix on the repairable variants
only. Timings on a loaded machine are noisy; quote machine and date with any figure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/photo.py` as well as `python -m bench.photo`
    sys.path.insert(0, str(ROOT))

from intake import BlobStore, Sandbox, Settings, analyse, check_context, receive  # noqa: E402
from intake.photofix import fix_photo  # noqa: E402
from intake.sandbox import limits_from  # noqa: E402
from samples import photos as generator  # noqa: E402
from validators.photo import PhotoCode  # noqa: E402

PROFILES = ("university", "ants")
CRITERIA = [str(c) for c in PhotoCode if not str(c).startswith("photo.fix")]


def flagged(verdict: Any) -> dict[str, str]:
    """code → "fail" or "unsure" for the findings a person or the student must see."""
    out: dict[str, str] = {}
    for f in verdict.findings:
        if f.result == "inconclusive":
            out[str(f.code)] = "unsure"
        elif f.result == "fail" and f.level != "info":
            out[str(f.code)] = "fail"
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def machine() -> str:
    import cv2

    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
    return (
        f"{platform.platform()}, {os.cpu_count()} CPU, Python {platform.python_version()}, "
        f"OpenCV {cv2.__version__}, load average {load[0]:.2f} at start"
    )


def run(args: argparse.Namespace) -> int:
    settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="bench-photo-")) / "data")
    sources = ("astronaut",) if args.quick else None
    repeats = 1 if args.quick else args.n
    with tempfile.TemporaryDirectory(prefix="bench-photo-") as tmp:
        sample_dir = Path(args.samples) if args.samples else Path(tmp) / "samples"
        if args.samples and (sample_dir / "photos.json").is_file():
            entries = json.loads((sample_dir / "photos.json").read_text())["photos"]
        else:
            entries = generator.generate(sample_dir, seed=args.seed, sources=sources)
        if sources:
            entries = [e for e in entries if e["source"] in sources]
        store = BlobStore(Path(tmp) / "store").ensure()
        limits = limits_from(settings, check=True)
        with Sandbox(limits, max_jobs=100_000) as sandbox:
            stored: dict[str, Path] = {}
            for entry in entries:
                data = (sample_dir / entry["file"]).read_bytes()
                received = receive(
                    io.BytesIO(data),
                    entry["file"],
                    "photo",
                    settings=settings,
                    store=store,
                    sandbox=sandbox,
                )
                if received.stored is None:
                    raise SystemExit(f"{entry['file']} refused by intake: {received.verdict.codes}")
                stored[entry["file"]] = received.stored
            # warm-up: the first check imports OpenCV and loads the cascades
            first = entries[0]["file"]
            analyse(
                stored[first],
                "image/jpeg",
                "photo",
                _context(settings, "university"),
                settings=settings,
                sandbox=sandbox,
            )

            times: list[float] = []
            results: dict[tuple[str, str], dict[str, str]] = {}
            outcomes: dict[tuple[str, str], str] = {}
            for entry in entries:
                for profile in PROFILES:
                    context = _context(settings, profile)
                    for attempt in range(repeats):
                        started = time.perf_counter()
                        verdict = analyse(
                            stored[entry["file"]],
                            "image/jpeg",
                            "photo",
                            context,
                            settings=settings,
                            sandbox=sandbox,
                        )
                        times.append((time.perf_counter() - started) * 1000)
                        if attempt == 0:
                            results[(entry["file"], profile)] = flagged(verdict)
                            outcomes[(entry["file"], profile)] = str(verdict.outcome)

            fixes = _fixes(entries, stored, settings, sandbox, Path(tmp), quick=args.quick)
            cpu = _cpu_times(entries, stored, repeats)

    _report(args, entries, results, outcomes, times, fixes, repeats, cpu)
    return 0


def _cpu_times(entries: list[dict[str, Any]], stored: dict[str, Path], repeats: int) -> list[float]:
    """CPU time of the checker alone, in this process on one thread (as in the child):
    close to the wall time an idle core would give, whatever else loads the machine."""
    import cv2
    from PIL import Image

    from ocr.vision import default_detector
    from validators.base import Context, Kind, StaticDocument
    from validators.photo import check

    cv2.setNumThreads(1)
    detector = default_detector()
    values = []
    for entry in entries:
        with Image.open(stored[entry["file"]], formats=["JPEG"]) as im:
            document = StaticDocument.of_images(Kind.PHOTO, im.convert("RGB"))
        for profile in PROFILES:
            context = Context(
                dt.date(2026, 9, 1), "2026-2027", photo_profile=profile, vision=detector
            )
            check(document, context)  # warm (first call per photo decodes nothing new)
            for _ in range(repeats):
                started = time.thread_time()
                check(document, context)
                values.append((time.thread_time() - started) * 1000)
    return values


def _context(settings: Settings, profile: str) -> dict[str, Any]:
    return check_context(settings, registration_date=dt.date(2026, 9, 1), photo_profile=profile)


def _fixes(
    entries: list[dict[str, Any]],
    stored: dict[str, Path],
    settings: Settings,
    sandbox: Sandbox,
    tmp: Path,
    *,
    quick: bool,
) -> list[dict[str, Any]]:
    rows = []
    for entry in entries:
        want = entry.get("repair")
        if want is None or (quick and want != "ok"):
            continue
        for profile in PROFILES:
            target = tmp / "fixed" / profile / entry["file"]
            started = time.perf_counter()
            result = fix_photo(
                stored[entry["file"]], target, profile=profile, settings=settings, sandbox=sandbox
            )
            elapsed = (time.perf_counter() - started) * 1000
            row: dict[str, Any] = {
                "file": entry["file"],
                "profile": profile,
                "want": want,
                "got": "ok" if result.ok else str(result.reason),
                "ms": elapsed,
                "actions": len(result.actions),
            }
            if result.ok:
                verdict = analyse(
                    target,
                    "image/jpeg",
                    "photo",
                    _context(settings, profile),
                    settings=settings,
                    sandbox=sandbox,
                )
                after = sorted(flagged(verdict))
                row["after"] = after
                row["good"] = want == "ok" and after == entry["after_fix"][profile]
            else:
                row["good"] = row["got"] == want
            rows.append(row)
    return rows


def _report(
    args: argparse.Namespace,
    entries: list[dict[str, Any]],
    results: dict[tuple[str, str], dict[str, str]],
    outcomes: dict[tuple[str, str], str],
    times: list[float],
    fixes: list[dict[str, Any]],
    repeats: int,
    cpu: list[float],
) -> None:
    command = "python -m bench.photo " + " ".join(sys.argv[1:])
    print("# ID-photo bench\n")
    print(f"- date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC")
    print(f"- machine: {machine()}")
    print(f"- command: `{command.strip()}`")
    print(
        f"- samples: {len(entries)} photos (seed {args.seed}) × {len(PROFILES)} profiles, "
        f"{repeats} timed run(s) each\n"
    )

    expected_n: dict[str, int] = defaultdict(int)
    hit: dict[str, int] = defaultdict(int)
    unsure: dict[str, int] = defaultdict(int)
    compliant_n = 0
    wrong: dict[str, int] = defaultdict(int)
    unexpected: dict[str, int] = defaultdict(int)
    rejected_compliant = 0
    per_variant = []
    for entry in entries:
        for profile in PROFILES:
            got = results[(entry["file"], profile)]
            want = set(entry["expected"][profile])
            allowed = set(entry["allowed"])
            for code in want:
                expected_n[code] += 1
                if code in got:
                    hit[code] += 1
                    if got[code] == "unsure":
                        unsure[code] += 1
            if not want:
                compliant_n += 1
                for code in got:
                    wrong[code] += 1
                if outcomes[(entry["file"], profile)] == "rejected":
                    rejected_compliant += 1
            else:
                for code in got:
                    if code not in want and code not in allowed:
                        unexpected[code] += 1
            missed = sorted(want - set(got))
            extra = sorted(set(got) - want - allowed)
            per_variant.append(
                (entry["file"], profile, outcomes[(entry["file"], profile)], missed, extra)
            )

    print("## Per criterion\n")
    print(
        "| criterion | must flag | flagged (of which inconclusive) | compliant wrongly flagged "
        f"(of {compliant_n}) | unexpected on defect variants |"
    )
    print("|---|---|---|---|---|")
    for code in CRITERIA:
        must = expected_n.get(code, 0)
        flagged_text = f"{hit.get(code, 0)}/{must}" if must else "–"
        if unsure.get(code):
            flagged_text += f" ({unsure[code]})"
        print(
            f"| `{code}` | {must} | {flagged_text} | {wrong.get(code, 0)} | "
            f"{unexpected.get(code, 0)} |"
        )

    correct = sum(1 for _, _, _, missed, extra in per_variant if not missed and not extra)
    print(
        f"\nVariant × profile fully as labelled: **{correct}/{len(per_variant)}**; "
        f"compliant variants rejected: **{rejected_compliant}/{compliant_n}**.\n"
    )
    bad = [row for row in per_variant if row[3] or row[4]]
    if bad:
        print("| photo | profile | outcome | missed | unexpected |")
        print("|---|---|---|---|---|")
        for name, profile, outcome, missed, extra in bad:
            print(f"| {name} | {profile} | {outcome} | {', '.join(missed)} | {', '.join(extra)} |")
        print()

    print("## Time per photo through `intake.analyse` (warm sandbox)\n")
    print("| measure | runs | p50 ms | p95 ms | max ms |")
    print("|---|---|---|---|---|")
    print(
        f"| wall time of `intake.analyse` | {len(times)} | {statistics.median(times):.0f} | "
        f"{percentile(times, 0.95):.0f} | {max(times):.0f} |"
    )
    print(
        f"| CPU time of the checker (in-process, 1 thread) | {len(cpu)} | "
        f"{statistics.median(cpu):.0f} | {percentile(cpu, 0.95):.0f} | {max(cpu):.0f} |\n"
    )

    if fixes:
        print("## photo-fix\n")
        print("| photo | profile | expected | got | re-check flags | ok | ms |")
        print("|---|---|---|---|---|---|---|")
        for row in fixes:
            after = ", ".join(row.get("after", [])) if "after" in row else "–"
            print(
                f"| {row['file']} | {row['profile']} | {row['want']} | {row['got']} | "
                f"{after or 'none'} | {'yes' if row['good'] else '**no**'} | {row['ms']:.0f} |"
            )
        good = sum(1 for r in fixes if r["good"])
        repair_ms = [r["ms"] for r in fixes]
        print(
            f"\nphoto-fix as expected: **{good}/{len(fixes)}**; time p50 "
            f"{statistics.median(repair_ms):.0f} ms, p95 {percentile(repair_ms, 0.95):.0f} ms."
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one portrait, one run")
    parser.add_argument("--n", type=int, default=3, help="timed runs per photo and profile")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--samples", default="", help="reuse (or write) samples here")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
