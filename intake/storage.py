"""Content-addressed private storage.

A blob lives at ``<root>/blobs/<aa>/<bb>/<sha256>``: the name comes from the content,
never from the client. Writes go to a temporary file in the same directory, are
fsync'ed, renamed into place with ``os.replace`` and the directory is fsync'ed, so a
crash leaves either the whole blob or nothing. Files are 0600, directories 0700.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

_CHUNK = 1 << 20


def sha256_file(path: Path | str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(target: Path, data: bytes, mode: int = 0o600) -> None:
    """Write ``data`` to ``target`` atomically (temp file, fsync, rename, fsync dir)."""
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)


class BlobStore:
    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.blobs = self.root / "blobs"
        self.tmp = self.root / "tmp"

    def ensure(self) -> BlobStore:
        for d in (self.root, self.blobs, self.tmp):
            d.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(d, 0o700)
        return self

    def path_for(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError("not a sha256 hex digest")
        return self.blobs / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def put_file(self, source: Path | str) -> str:
        """Store the bytes of ``source`` (a file justif wrote); returns their sha256.
        Storing the same content twice is a no-op."""
        data = Path(source).read_bytes()
        return self.put_bytes(data)

    def put_bytes(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        target = self.path_for(sha)
        if target.is_file() and target.stat().st_size == len(data):
            return sha
        atomic_write(target, data)
        return sha

    def read(self, sha256: str) -> bytes:
        return self.path_for(sha256).read_bytes()

    def delete(self, sha256: str) -> bool:
        """Remove a blob (callers check no other piece references it)."""
        target = self.path_for(sha256)
        try:
            target.unlink()
        except FileNotFoundError:
            return False
        _fsync_dir(target.parent)
        return True

    def iter_hashes(self) -> Iterator[str]:
        if not self.blobs.is_dir():
            return
        for path in self.blobs.glob("*/*/*"):
            if path.is_file() and not path.name.startswith(".tmp-"):
                yield path.name

    def scratch_dir(self) -> Path:
        """A private temporary directory for one job (the caller removes it)."""
        self.tmp.mkdir(parents=True, exist_ok=True, mode=0o700)
        return Path(tempfile.mkdtemp(dir=self.tmp, prefix="job-"))
