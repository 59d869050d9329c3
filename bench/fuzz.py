"""Longer fuzzing run of intake and every checker (issue 8).

    .venv/bin/python bench/fuzz.py --n 2000 --seed 1

Mutates valid PDFs and JPEGs (tests/fuzzing.py), sends each through intake.receive in
one warm sandbox, then through a random kind's checker when intake stored it. Prints
the outcome and reason-code distribution, the sandbox findings (timeouts, memory,
crashes), the exceptions that escaped (must be 0) and the time per input.
"""

from __future__ import annotations

import argparse
import collections
import io
import random
import statistics
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from intake import Limits, Sandbox, Settings, analyse, check_context, receive
from tests.fuzzing import mutate
from validators.base import Kind


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    outcomes: collections.Counter[str] = collections.Counter()
    codes: collections.Counter[str] = collections.Counter()
    escaped: list[str] = []
    sandbox_findings: list[str] = []
    times: list[float] = []
    checked = 0
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), academic_year="2026-2027")
        context = check_context(
            settings,
            student={"last_name": "Martin", "first_name": "Léa", "birth_date": "2007-03-02"},
        )
        with Sandbox(Limits(timeout_s=60, cpu_s=60), max_jobs=500) as box:
            started_all = time.perf_counter()
            for i in range(args.n):
                data = mutate(rng)
                kind = rng.choice(list(Kind))
                started = time.perf_counter()
                try:
                    got = receive(
                        io.BytesIO(data),
                        rng.choice(["a.pdf", "b.jpg", "c"]),
                        kind,
                        settings=settings,
                        sandbox=box,
                    )
                    verdict = got.verdict
                    if got.stored is not None:
                        verdict = analyse(
                            got.stored, got.mime, kind, context, settings=settings, sandbox=box
                        )
                        checked += 1
                except Exception:
                    escaped.append(f"#{i}: {traceback.format_exc(limit=3)}")
                    continue
                times.append(time.perf_counter() - started)
                outcomes[str(verdict.outcome)] += 1
                for code in verdict.failed_codes():
                    codes[code] += 1
                for f in verdict.findings:
                    if str(f.code).startswith("sandbox."):
                        sandbox_findings.append(f"#{i} {kind}: {f.code} {dict(f.detail)}")
            total = time.perf_counter() - started_all
    times.sort()
    print(
        "| inputs | through a checker | escaped exceptions | p50 ms | p95 ms | max ms | total s |"
    )
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {args.n} | {checked} | {len(escaped)} | {statistics.median(times) * 1000:.0f} | "
        f"{times[int(len(times) * 0.95)] * 1000:.0f} | {times[-1] * 1000:.0f} | {total:.1f} |"
    )
    print()
    print("| outcome | count |")
    print("|---|---|")
    for outcome, count in outcomes.most_common():
        print(f"| {outcome} | {count} |")
    print()
    print("| reason code (failed or inconclusive) | count |")
    print("|---|---|")
    for code, count in codes.most_common(25):
        print(f"| {code} | {count} |")
    if sandbox_findings:
        print()
        print("Sandbox findings (a limit, a timeout or a crash in the child):")
        for line in sandbox_findings[:20]:
            print(f"- {line}")
    for item in escaped[:5]:
        print(item, file=sys.stderr)
    return 1 if escaped else 0


if __name__ == "__main__":
    sys.exit(main())
