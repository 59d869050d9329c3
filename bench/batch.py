"""Batch revalidation speed against two baselines, on the same documents (issue 7).

    .venv/bin/pip install -e ".[bench]"      # OCRmyPDF (PyPI) for the second baseline
    .venv/bin/python bench/batch.py --n 60

1. Generates N mixed documents (CVEC attestations, bac transcripts, JDC attestations;
   born-digital PDFs, scanned PDFs and phone JPEGs, with degradations) and stores them
   through the real upload gate into a fresh database, checked once.
2. justif: `revalidate --apply` of everything (a ruleset change) with 1 worker, then
   again with 2 workers (threads, one warm sandbox each — the embedded runner).
3. Baseline "plain": every page rendered at 300 dpi, full-page Tesseract (fra, psm 3,
   one thread), INE/CVEC found by regular expressions.
4. Baseline "OCRmyPDF": `ocrmypdf --skip-text -l fra --jobs 1` on each file, then the
   text layer read and the same regular expressions.

Prints documents per second, the ratios, the share of INE values read right, and the peak
resident memory per worker (the revalidate process and its sandbox children, sampled).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# the baselines run Tesseract in this process's children: one thread each, like justif
os.environ.setdefault("OMP_THREAD_LIMIT", "1")

INE = re.compile(
    r"\b([0-9]{10}[A-Z]|[0-9A-Z]{10}[0-9]|[0-9]{9}[A-Z]{2}|[0-9]{4}[AD][0-9]{5}[A-Z])\b"
)
CVEC = re.compile(r"\b([A-Z]{3}[0-9])[ -]?([A-Z0-9]{6})[ -]?([0-9]{1,2})\b")


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _descendants(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(child for child, parent in parents.items() if parent == pid)
    return found


def _sample_memory(proc: subprocess.Popen) -> tuple[float, float]:
    """Peak (MB) of the summed RSS of the process tree, and of the main process alone,
    sampled every 50 ms while it runs."""
    total_peak = process_peak = 0
    while proc.poll() is None:
        pids = _descendants(proc.pid)
        total_peak = max(total_peak, sum(_rss_kb(p) for p in pids))
        process_peak = max(process_peak, _rss_kb(proc.pid))
        time.sleep(0.05)
    return total_peak / 1024, process_peak / 1024


def _extract(text: str) -> dict[str, str | None]:
    ine = INE.search(text.upper())
    cvec = CVEC.search(text.upper())
    return {
        "ine": ine.group(1) if ine else None,
        "cvec_number": "".join(cvec.groups()) if cvec else None,
    }


def _pages(path: Path):
    from ocr import render

    data = path.read_bytes()
    if data[:3] == b"\xff\xd8\xff":
        from PIL import Image

        with Image.open(path) as im:
            yield im.convert("RGB")
        return
    doc = render.open_pdf(data)
    try:
        for page in doc:
            yield render.render_page(page, 300)
    finally:
        doc.close()


def plain_pipeline(path: Path) -> dict[str, str | None]:
    import pytesseract

    text = "\n".join(
        pytesseract.image_to_string(im, lang="fra", config="--psm 3", timeout=120)
        for im in _pages(path)
    )
    return _extract(text)


def ocrmypdf_pipeline(path: Path, work: Path) -> dict[str, str | None]:
    from ocr import render

    out = work / (path.stem + ".ocr.pdf")
    argv = [
        str(Path(sys.executable).parent / "ocrmypdf"),
        "-q",
        "--skip-text",
        "-l",
        "fra",
        "--jobs",
        "1",
        "--output-type",
        "pdf",
        "--rasterizer",
        "pypdfium",
        "--optimize",
        "0",
    ]
    if path.read_bytes()[:3] == b"\xff\xd8\xff":  # a stored JPEG: no dpi of its own
        argv += ["--image-dpi", "200"]
    subprocess.run([*argv, str(path), str(out)], check=True, capture_output=True, timeout=600)
    doc = render.open_pdf(out.read_bytes())
    try:
        text = "\n".join(render.page_text(p) for p in doc)
    finally:
        doc.close()
    return _extract(text)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=60)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--no-ocrmypdf", action="store_true")
    args = parser.parse_args()

    from sqlalchemy import select

    from intake.models import CheckRun, PieceVersion
    from tests import batchdata

    docs = batchdata.documents(
        args.n,
        args.seed,
        kinds=("cvec", "bac", "jdc"),
        forms=("digital", "scan_pdf", "scan_jpg"),
        degradations=("clean", "noise", "skew", "jpeg", "lighting"),
    )
    forms = {f: sum(1 for d in docs if d.form == f) for f in ("digital", "scan_pdf", "scan_jpg")}
    rows: list[tuple[str, float, float, int, str]] = []
    with tempfile.TemporaryDirectory(prefix="justif-bench-") as tmp:
        work = Path(tmp)
        pipe = batchdata.pipeline(work / "data")
        t0 = time.perf_counter()
        versions = batchdata.seed(pipe, docs)
        print(
            f"{len(docs)} documents stored and checked once in {time.perf_counter() - t0:.1f} s "
            f"({forms})",
            file=sys.stderr,
        )
        by_version = dict(zip(versions, docs, strict=True))

        def ine_right_justif(ruleset: str) -> int:
            right = 0
            with pipe.db.session() as s:
                for run in s.scalars(select(CheckRun).where(CheckRun.ruleset == ruleset)):
                    truth = (by_version[run.version_id].fields or {}).get("ine")
                    right += bool(truth) and run.fields.get("ine") == truth
            return right

        peaks: dict[int, tuple[float, float]] = {}
        env = {
            **os.environ,
            "JUSTIF_DATA_DIR": str(pipe.settings.data_dir),
            "JUSTIF_DATABASE_URL": pipe.db.url,
            "JUSTIF_ACADEMIC_YEAR": "2024-2025",
        }
        env.pop("JUSTIF_BROKER_URL", None)
        for workers in (1, 2):
            tag = f"bench{workers}"
            started = time.perf_counter()
            proc = subprocess.Popen(
                [
                    str(ROOT / ".venv/bin/justif"),
                    "revalidate",
                    "--apply",
                    "--no-progress-bar",
                    "--workers",
                    str(workers),
                ],
                env={**env, "JUSTIF_RULESET_TAG": tag},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            total_peak, process_peak = _sample_memory(proc)
            _, err = proc.communicate()
            elapsed = time.perf_counter() - started
            if proc.returncode != 0:
                raise SystemExit(f"revalidate failed: {err[-2000:]}")
            peaks[workers] = (total_peak / workers, process_peak)
            pipe.settings = pipe.settings.replace(ruleset_tag=tag)
            rows.append(
                (
                    f"justif revalidate, {workers} worker(s)",
                    elapsed,
                    len(docs) / elapsed,
                    ine_right_justif(pipe.ruleset),
                    "whole command, start-up included",
                )
            )

        with pipe.db.session() as s:
            paths = [
                (pipe.store.path_for(v.sha256), by_version[v.id])
                for v in s.scalars(select(PieceVersion).order_by(PieceVersion.id))
            ]

        def baseline(name: str, fn) -> None:
            right = 0
            started = time.perf_counter()
            times = []
            for path, doc in paths:
                t = time.perf_counter()
                got = fn(path)
                times.append(time.perf_counter() - t)
                truth = (doc.fields or {}).get("ine")
                right += bool(truth) and got["ine"] == truth
            elapsed = time.perf_counter() - started
            rows.append(
                (
                    name,
                    elapsed,
                    len(paths) / elapsed,
                    right,
                    f"p50 {statistics.median(times):.2f} s/doc",
                )
            )

        baseline("plain: Tesseract 300 dpi full page + regex, 1 process", plain_pipeline)
        if not args.no_ocrmypdf:
            baseline(
                "OCRmyPDF --skip-text + regex, 1 process", lambda p: ocrmypdf_pipeline(p, work)
            )

    with_ine = sum(1 for d in docs if (d.fields or {}).get("ine"))
    ref = next((r for r in rows if r[0].startswith("OCRmyPDF")), None)
    print(
        f"Machine: {platform.node()} — {os.cpu_count()} CPU, Python {platform.python_version()}"
        f" — {time.strftime('%Y-%m-%d')} — {len(docs)} documents ({forms})"
    )
    print()
    print("| pipeline | total s | documents/s | × OCRmyPDF | INE read right | note |")
    print("|---|---|---|---|---|---|")
    for name, elapsed, rate, right, note in rows:
        ratio = f"{rate / ref[2]:.1f}" if ref else "-"
        print(f"| {name} | {elapsed:.1f} | {rate:.2f} | {ratio} | {right}/{with_ine} | {note} |")
    print()
    print(
        "| workers | peak memory per worker: process tree RSS ÷ workers (MB) "
        "| of which the main process (MB) |"
    )
    print("|---|---|---|")
    for workers, (per_worker, process) in peaks.items():
        print(f"| {workers} | {per_worker:.0f} | {process:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
