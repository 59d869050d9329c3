"""Helpers for the web tests: an app on a fresh SQLite database, a client that logs in
and keeps the CSRF token of the last page, generated documents (no third-party file)."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from tests.dburl import fresh_database_url

STUDENT_PW = "pw-etudiant-test"
ADMIN_PW = "pw-admin-test"

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_app(tmp_path: Path, **overrides: Any) -> Any:
    """A fresh app on ``tmp_path`` with the schema (no demo accounts)."""
    from web import create_app

    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": fresh_database_url(tmp_path),
        "RUNNER": "none",
        "ACADEMIC_YEAR": "2026-2027",
        "PASSWORD_METHOD": "pbkdf2:sha256:1000",  # scrypt is slow by design
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

    def _seen(self, r: Any) -> Any:
        r.get_data()
        r.close()  # streamed files (send_file) are closed here, as a server would
        m = _TOKEN.search(r.get_data(as_text=True)) if r.mimetype == "text/html" else None
        if m:
            self.token = m.group(1)
        return r

    def get(self, url: str, **kw: Any) -> Any:
        return self._seen(self.c.get(url, **kw))

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
        return self._seen(self.c.post(url, data=data, **kw))

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
    """The form's upload. The body is encoded in memory: the test client would spool a
    body over 500 KB to a temporary file it never closes (a ResourceWarning)."""
    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    client.get(f"/dossier/{kind}")
    fields: dict[str, Any] = {"csrf_token": client.csrf()}
    for name, (content, filename) in files.items():
        fields[name] = FileStorage(io.BytesIO(content), filename=filename)
    boundary, body = encode_multipart(fields)
    return client._seen(
        client.c.post(
            f"/dossier/{kind}/depot",
            data=body,
            content_type=f"multipart/form-data; boundary={boundary}",
        )
    )


class FakeSandbox:
    """Answers the child ops without a child: a canned verdict and a PNG preview."""

    def __init__(self, verdict: dict[str, Any] | None = None, fail: BaseException | None = None):
        self.verdict = verdict or {"outcome": "review", "findings": [], "fields": {}}
        self.fail = fail
        self.calls: list[str] = []

    def run(self, op: str, args: dict[str, Any], **_: Any) -> Any:
        self.calls.append(op)
        if op == "check":
            if self.fail is not None:
                raise self.fail
            return self.verdict
        if op == "preview":
            from PIL import Image

            target = Path(args["out_dir"]) / "page-1.png"
            Image.new("RGB", (20, 30), (255, 255, 255)).save(target, "PNG")
            return {"pages": [str(target)]}
        from intake.sandbox import SandboxFailure

        raise SandboxFailure("crashed", {"reason": f"no fake for {op}"})

    def close(self) -> None:
        pass


def finding(
    code: str, level: str = "error", result: str = "fail", message: str = ""
) -> dict[str, Any]:
    return {
        "code": code,
        "level": level,
        "result": result,
        "message": message or code,
        "detail": {},
    }


def seed_version(
    app: Any,
    key: str,
    kind: str = "cvec",
    verdict: dict[str, Any] | None = None,
    data: bytes | None = None,
) -> tuple[int, int]:
    """A stored, checked version for a demo student: (piece id, version id)."""
    from sqlalchemy import func, select

    from intake.models import PieceVersion
    from intake.pipeline import check_version, ensure_piece

    ext = app.extensions["justif"]
    pipe = ext.pipeline
    sid = student_id(app, key)
    sha = pipe.store.put_bytes(data or text_pdf(f"{key} {kind}"))
    with ext.db.session() as s:
        piece = ensure_piece(s, sid, kind)
        n = (
            s.scalar(select(func.max(PieceVersion.number)).where(PieceVersion.piece_id == piece.id))
            or 0
        ) + 1
        v = PieceVersion(
            piece_id=piece.id,
            number=n,
            sha256=sha,
            mime="application/pdf",
            size=100,
            display_name=f"{kind}.pdf",
            queued_at=pipe.clock(),
        )
        s.add(v)
        s.flush()
        piece_id, version_id = piece.id, v.id
    if verdict is not False:
        check_version(version_id, pipe, sandbox=FakeSandbox(verdict))
    return piece_id, version_id
