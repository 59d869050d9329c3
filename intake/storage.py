"""Content-addressed private storage.

A blob lives at ``<root>/blobs/<aa>/<bb>/<sha256>``: the name comes from the content,
never from the client. Writes go to a temporary file in ``<root>/tmp`` (same file
system), are fsync'ed, renamed into place with ``os.replace`` and the directory is
fsync'ed, so a crash leaves either the whole blob or nothing in ``blobs/``. Files are
0600, directories 0700.

Scratch directories (``<root>/tmp/job-…``) and temporary files carry their owner's
host, process id and start time in their name: :meth:`BlobStore.sweep_stale`, run when
a web process or a worker starts, removes those of dead processes (a ``kill -9`` in the
middle of an upload or a check) and never those of live ones.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

_CHUNK = 1 << 20
# <prefix>-<host hash>-<pid>-<process start, clock ticks since boot>-<random>
_OWNED = re.compile(r"^(?:job|\.tmp)-([0-9a-f]{8})-(\d+)-(\d+)-")
# entries of another host, or without an owner: removed only when this old
STALE_AFTER_S = 3600.0


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


def _host_tag() -> str:
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def _start_ticks(pid: int) -> str:
    """When process ``pid`` started (clock ticks since boot, Linux), or "0"."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return "0"
    fields = stat.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else "0"


def owner_tag() -> str:
    """This process as the owner of a scratch entry (computed again after a fork)."""
    pid = os.getpid()
    return f"{_host_tag()}-{pid}-{_start_ticks(pid)}"


def _owner_alive(host: str, pid: int, ticks: str) -> bool | None:
    """True/False for a process of this host; None when the owner is on another host."""
    if host != _host_tag():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, another user's
    return ticks == "0" or _start_ticks(pid) in ("0", ticks)  # else: the pid was reused


def atomic_write(
    target: Path, data: bytes, mode: int = 0o600, *, tmp_dir: Path | None = None
) -> None:
    """Write ``data`` to ``target`` atomically (temp file, fsync, rename, fsync dir).
    The temporary file goes to ``tmp_dir`` (same file system) when given."""
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    where = tmp_dir or target.parent
    where.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=where, prefix=f".tmp-{owner_tag()}-")
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
            # stored again: fresh for the orphan sweep (intake.retention) until the
            # version that references it is committed
            os.utime(target)
            return sha
        atomic_write(target, data, tmp_dir=self.tmp)
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

    def delete_if_stale(self, sha256: str, min_age_s: float) -> bool:
        """Remove a blob not stored again for ``min_age_s``. Moved aside first, then its age
        read again: an upload storing the same bytes meanwhile either made it fresh (it is
        put back) or wrote a new copy (which stays)."""
        target = self.path_for(sha256)
        aside = target.with_name(f".tmp-purge-{sha256}")
        try:
            target.rename(aside)
        except FileNotFoundError:
            return False
        if time.time() - aside.stat().st_mtime < min_age_s:
            os.replace(aside, target)
            return False
        aside.unlink()
        _fsync_dir(target.parent)
        return True

    def age_s(self, sha256: str, now: float | None = None) -> float:
        """Seconds since the blob was last stored."""
        return (now if now is not None else time.time()) - self.path_for(sha256).stat().st_mtime

    def iter_hashes(self) -> Iterator[str]:
        if not self.blobs.is_dir():
            return
        for path in self.blobs.glob("*/*/*"):
            if path.is_file() and not path.name.startswith(".tmp-"):
                yield path.name

    def scratch_dir(self) -> Path:
        """A private temporary directory for one job (the caller removes it)."""
        self.tmp.mkdir(parents=True, exist_ok=True, mode=0o700)
        return Path(tempfile.mkdtemp(dir=self.tmp, prefix=f"job-{owner_tag()}-"))

    def sweep_stale(self, max_age_s: float = STALE_AFTER_S) -> int:
        """Remove the scratch directories and temporary files left by dead processes
        of this host (``kill -9`` mid-upload or mid-check), and entries of other hosts
        or without an owner once older than ``max_age_s``. Entries of live processes
        are kept. Returns how many entries were removed."""
        if not self.tmp.is_dir():
            return 0
        removed = 0
        now = time.time()
        for entry in self.tmp.iterdir():
            m = _OWNED.match(entry.name)
            alive = _owner_alive(m[1], int(m[2]), m[3]) if m else None
            if alive is None:
                try:
                    alive = now - entry.lstat().st_mtime < max_age_s
                except FileNotFoundError:
                    continue
            if alive:
                continue
            for _ in range(3):  # a dead owner's orphaned child may still add a file
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
                if not entry.exists():
                    removed += 1
                    break
        return removed
