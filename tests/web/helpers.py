"""Helpers for the web tests: an app on a fresh SQLite database, a client that logs in
and keeps the CSRF token of the last page, generated documents (no third-party file)."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

STUDENT_PW = "pw-etudiant-test"
ADMIN_PW = "pw-admin-test"

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_app(tmp_path: Path, **overrides: Any) -> Any:
    from web import create_app

    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'justif.sqlite3'}",
        "RUNNER": "none",
        "ACADEMIC_YEAR": "2026-2027",
    }
    config.update(overrides)
    app = create_app(config)
    app.extensions["justif"].db.upgrade()
    return app


class Client:
    """A test client that keeps the last CSRF token it saw."""

    def __init__(self, flask_client: Any) -> None:
        self.c = flask_client
        self.token = ""

    def get(self, url: str, **kw: Any) -> Any:
        r = self.c.get(url, **kw)
        m = _TOKEN.search(r.get_data(as_text=True)) if r.mimetype == "text/html" else None
        if m:
            self.token = m.group(1)
        return r

    def csrf(self) -> str:
        if not self.token:
            self.get("/connexion")
        return self.token

    def post(
        self, url: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kw: Any
    ) -> Any:
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf_token", self.csrf())
        files = any(isinstance(v, tuple) for v in data.values())
        if files:
            kw.setdefault("content_type", "multipart/form-data")
        r = self.c.post(url, data=data, **kw)
        m = _TOKEN.search(r.get_data(as_text=True)) if r.mimetype == "text/html" else None
        if m:
            self.token = m.group(1)
        return r

    def login(self, login: str, password: str) -> Any:
        r = self.post("/connexion", {"login": login, "password": password})
        assert r.status_code == 302, r.get_data(as_text=True)[:500]
        self.token = ""
        return r


def student_id(app: Any, key: str) -> int:
    from sqlalchemy import or_, select

    from intake.models import Student

    with app.extensions["justif"].db.session() as s:
        return s.scalar(
            select(Student.id).where(
                or_(Student.application_id == key, Student.student_number == key)
            )
        )


def jpeg_bytes(
    width: int = 600, height: int = 800, colour: tuple[int, int, int] = (240, 240, 240)
) -> bytes:
    from PIL import Image, ImageDraw

    im = Image.new("RGB", (width, height), colour)
    ImageDraw.Draw(im).rectangle((50, 50, width - 50, height // 2), fill=(30, 60, 120))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def png_bytes() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 10, 10)).save(buf, "PNG")
    return buf.getvalue()


def text_pdf(*lines: str) -> bytes:
    """A born-digital one-page PDF with a real text layer (Helvetica, WinAnsi), written
    by hand with a correct cross-reference table."""
    ops = ["BT", "/F1 12 Tf", "14 TL", "60 780 Td"]
    for line in lines:
        escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        ops.append(f"({escaped}) Tj T*")
    ops.append("ET")
    content = "\n".join(ops).encode("cp1252")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def upload(client: Client, kind: str, **files: tuple[bytes, str]) -> Any:
    data = {name: (io.BytesIO(content), filename) for name, (content, filename) in files.items()}
    client.get(f"/dossier/{kind}")
    return client.post(f"/dossier/{kind}/depot", data)
