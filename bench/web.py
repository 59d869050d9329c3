"""Web service latency: how long an upload request takes (the gate in the child, the
store, the row) and how long until the student's status changes (the check in the
in-process runner), per kind.

    .venv/bin/python bench/web.py --n 10 [--threads 2] [--quick]

A real app on SQLite in a temporary directory, the Flask test client as the browser,
the real sandbox and checkers. Documents come from the project's generators: born-digital
CVEC attestations (text layer) and ID photos turned sideways (the photo check, then the
repair offer). Prints p50/p95 per kind; machine load changes the figures a lot.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=10, help="uploads per kind")
    parser.add_argument("--threads", type=int, default=2, help="runner threads")
    parser.add_argument("--quick", action="store_true", help="--n 3")
    args = parser.parse_args()
    n = 3 if args.quick else args.n

    import os

    os.environ["JUSTIF_RUNNER_THREADS"] = str(args.threads)
    from sqlalchemy import select

    from intake.models import PieceVersion
    from samples.documents import Person, build_pdf, cvec_layout
    from samples.photos import generate
    from web import create_app
    from web.commands.service import create_demo

    tmp = Path(tempfile.mkdtemp(prefix="justif-bench-web-"))
    os.environ["JUSTIF_INSTANCE_PATH"] = str(tmp / "instance")
    app = create_app(
        {
            "SECRET_KEY": "bench",
            "DATA_DIR": str(tmp / "data"),
            "DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite3'}",
            "RUNNER": "inprocess",
            "ACADEMIC_YEAR": "2026-2027",
            "UPLOAD_RATE_LIMIT": 10_000,
            "UPLOAD_QUOTA": 10_000,
            "UPLOAD_QUOTA_BYTES": 10**12,
        }
    )
    ext = app.extensions["justif"]
    ext.db.upgrade()
    create_demo(app, student_password="bench-pw", admin_password="bench-admin")  # noqa: S106
    client = app.test_client()
    page = client.get("/connexion").get_data(as_text=True)
    client.post(
        "/connexion",
        data={"login": "P241000001", "password": "bench-pw", "csrf_token": _TOKEN.search(page)[1]},
    )

    person = Person("Martin", "Camille", dt.date(2007, 3, 14), "Mme")
    cvec = [
        build_pdf(
            cvec_layout(
                random.Random(i),
                person,
                ine="0100008010J",
                number_printed="AMI6 ABCDEF 12 / MARTI",
                year="2026-2027",
                basis="paid",
                variant=i % 2,
            )
        )
        for i in range(n)
    ]
    photo_file = (
        tmp
        / "photos"
        / generate(tmp / "photos", only=["turned_90"], sources=["astronaut"])[0]["file"]
    )
    photos = [photo_file.read_bytes()] * n

    rows = []
    for kind, files in (("cvec", cvec), ("photo", photos)):
        request_s, status_s = [], []
        for i, data in enumerate(files):
            token = _TOKEN.search(client.get(f"/dossier/{kind}").get_data(as_text=True))[1]
            t0 = time.perf_counter()
            r = client.post(
                f"/dossier/{kind}/depot",
                data={
                    "file": (io.BytesIO(data), f"{kind}-{i}.{'pdf' if kind == 'cvec' else 'jpg'}"),
                    "csrf_token": token,
                },
                content_type="multipart/form-data",
            )
            request_s.append(time.perf_counter() - t0)
            if r.status_code != 303:
                print(f"{kind} upload {i}: HTTP {r.status_code}", file=sys.stderr)
                continue
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                with ext.db.session() as s:
                    v = s.scalar(select(PieceVersion).order_by(PieceVersion.id.desc()))
                    if v.state in ("done", "failed"):
                        status_s.append((v.finished_at - v.uploaded_at).total_seconds())
                        break
                time.sleep(0.05)
        rows.append((kind, len(status_s), request_s, status_s))
    ext.close()

    print(f"web latency, {n} uploads per kind, {args.threads} runner thread(s), one at a time")
    print(
        f"{'kind':<7} {'done':>4}  {'request p50':>11} {'p95':>6}  {'to status p50':>13} {'p95':>6}"
    )
    for kind, done, req, stat in rows:
        print(
            f"{kind:<7} {done:>4}  {statistics.median(req):>10.2f}s {_pct(req, 0.95):>5.2f}s"
            f"  {statistics.median(stat) if stat else float('nan'):>12.2f}s"
            f" {_pct(stat, 0.95) if stat else float('nan'):>5.2f}s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
