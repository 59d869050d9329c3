"""What justif needs outside Python, checked before work starts, with install advice."""

from __future__ import annotations

import shutil
from dataclasses import dataclass

from ocr import _exec

_APT = "sudo apt-get install -y tesseract-ocr tesseract-ocr-fra tesseract-ocr-eng libmagic1"


@dataclass(frozen=True)
class Dependency:
    name: str
    ok: bool
    version: str = ""
    advice: str = ""


def tesseract_version() -> str | None:
    if shutil.which("tesseract") is None:
        return None
    done = _exec.run(["tesseract", "--version"], timeout=10)
    first = (done.stdout or done.stderr).splitlines()
    return first[0].strip() if first else "?"


def tesseract_languages() -> set[str]:
    if shutil.which("tesseract") is None:
        return set()
    done = _exec.run(["tesseract", "--list-langs"], timeout=10)
    return {line.strip() for line in done.stdout.splitlines()[1:] if line.strip()}


def check_deps() -> list[Dependency]:
    found: list[Dependency] = []
    version = tesseract_version()
    found.append(Dependency("tesseract", version is not None, version or "", _APT))
    langs = tesseract_languages()
    for lang in ("fra", "eng"):
        found.append(Dependency(f"tesseract langue {lang}", lang in langs, "", _APT))
    try:
        import magic

        found.append(Dependency("libmagic", True, str(magic.version())))
    except Exception as exc:  # ImportError or the C library missing
        found.append(Dependency("libmagic", False, str(exc), _APT))
    try:
        import cv2

        ok = hasattr(cv2, "CascadeClassifier") and bool(getattr(cv2, "data", None))
        found.append(
            Dependency(
                "opencv (Haar)",
                ok,
                cv2.__version__,
                "pip install 'opencv-python-headless>=4.10,<5'",
            )
        )
    except ImportError as exc:
        found.append(Dependency("opencv (Haar)", False, str(exc), "pip install -e ."))
    try:
        import pypdfium2

        found.append(Dependency("pypdfium2", True, str(pypdfium2.PYPDFIUM_INFO)))
    except ImportError as exc:
        found.append(Dependency("pypdfium2", False, str(exc), "pip install -e ."))
    return found
