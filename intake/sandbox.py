"""The parent side of the limited child process.

:class:`Sandbox` starts ``python -m intake._child`` as the leader of a new process
group with a minimal environment (thread limits for Tesseract/OpenMP/OpenBLAS, a
pixel cap for OpenCV, no secrets), sends it one JSON request at a time and waits with
a wall-clock deadline. On timeout the whole group is killed (Tesseract runs as a
grandchild). A timeout, a memory or CPU limit, a crash or a garbled reply becomes a
:class:`SandboxFailure`, which callers turn into a finding: never an exception that
escapes to a student or an administrator.

A child serves up to ``max_jobs`` requests before it is replaced (imports are paid
once); any failure replaces it at once.
"""

from __future__ import annotations

import functools
import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from validators.codes import SandboxCode
from validators.verdict import Finding, Level, Result, finding

_PROJECT_ROOT = str(Path(__file__).resolve().parent.parent)
_MAX_REPLY = 64 * 1024 * 1024


@dataclass
class SandboxFailure(Exception):
    """The child could not give an answer. ``kind`` is timeout, memory, crashed."""

    kind: str
    detail: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"sandbox {self.kind}: {self.detail}"

    def finding(self, level: Level = Level.ERROR, result: Result = Result.FAIL) -> Finding:
        code = {
            "timeout": SandboxCode.TIMEOUT,
            "memory": SandboxCode.MEMORY,
        }.get(self.kind, SandboxCode.CRASHED)
        return finding(code, level, result=result, **self.detail)


@dataclass(frozen=True)
class Limits:
    memory_mb: int = 512
    cpu_s: int = 20
    timeout_s: float = 20.0
    fsize_mb: int = 64
    nofile: int = 256


def child_environment(limits: Limits, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONPATH": _PROJECT_ROOT,
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        # one thread per library: 3-4x faster Tesseract on 2 cores (stack.md §2.3),
        # and no per-thread arenas eating the address-space limit
        "OMP_THREAD_LIMIT": "1",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENCV_FOR_THREADS_NUM": "1",
        "OPENCV_IO_MAX_IMAGE_PIXELS": "60000000",
        "MALLOC_ARENA_MAX": "2",
        "JUSTIF_CHILD_LIMITS": json.dumps(
            {
                "memory_mb": limits.memory_mb,
                "cpu_s": limits.cpu_s,
                "fsize_mb": limits.fsize_mb,
                "nofile": limits.nofile,
            }
        ),
    }
    # the two JUSTIF_SANDBOX_* switches exist for tests that must slow or break a
    # child inside a real worker; the child honours them only together
    for name in (
        "TESSDATA_PREFIX",
        "JUSTIF_CHILD_STDERR",
        "JUSTIF_SANDBOX_ALLOW_CALL",
        "JUSTIF_SANDBOX_TEST_OPS",
    ):
        if name in os.environ:
            env[name] = os.environ[name]
    env.update(extra or {})
    return env


@functools.cache
def network_isolation() -> tuple[str, ...]:
    """``unshare --net --`` when this machine lets us give the child an empty network
    namespace (root, or user namespaces allowed), else nothing: the child then only
    has its Python-level socket guard. ``JUSTIF_SANDBOX_NETNS=0`` turns it off."""
    if os.environ.get("JUSTIF_SANDBOX_NETNS") == "0":
        return ()
    unshare = shutil.which("unshare")
    if unshare is None:
        return ()
    try:
        probe = subprocess.run(
            [unshare, "--net", "--", "true"], capture_output=True, timeout=5, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return ()
    return (unshare, "--net", "--") if probe.returncode == 0 else ()


class Sandbox:
    """One child at a time, used by one thread at a time (a lock guards it)."""

    def __init__(
        self,
        limits: Limits | None = None,
        *,
        max_jobs: int = 50,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.limits = limits or Limits()
        self.max_jobs = max_jobs
        self.extra_env = extra_env or {}
        self._proc: subprocess.Popen[bytes] | None = None
        self._jobs = 0
        self.last_maxrss_kb = 0  # the child's peak resident memory after the last request
        self._lock = threading.Lock()

    # -- lifecycle -----------------------------------------------------------------
    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.stdin:
                proc.stdin.close()
            proc.wait(timeout=2)
        except (subprocess.TimeoutExpired, OSError):
            pass
        finally:
            _kill_group(proc)

    def _start(self) -> subprocess.Popen[bytes]:
        stderr = None if os.environ.get("JUSTIF_CHILD_STDERR") == "inherit" else subprocess.DEVNULL
        proc = subprocess.Popen(
            [*network_isolation(), sys.executable, "-m", "intake._child"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=child_environment(self.limits, self.extra_env),
            cwd=_PROJECT_ROOT,
            start_new_session=True,  # its own process group: killed as a whole
            bufsize=0,
        )
        self._jobs = 0
        return proc

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    # -- requests ------------------------------------------------------------------
    def run(
        self,
        op: str,
        args: dict[str, Any] | None = None,
        *,
        timeout_s: float | None = None,
        cpu_s: int | None = None,
        target: str | None = None,
    ) -> Any:
        """Run ``op`` in the child and return its value, or raise SandboxFailure."""
        timeout = timeout_s if timeout_s is not None else self.limits.timeout_s
        request: dict[str, Any] = {"op": op, "args": args or {}}
        request["cpu_s"] = int(cpu_s if cpu_s is not None else self.limits.cpu_s)
        if target:
            request["target"] = target
        with self._lock:
            if self._proc is None or self._proc.poll() is not None or self._jobs >= self.max_jobs:
                self.close()
                self._proc = self._start()
            proc = self._proc
            self._jobs += 1
            try:
                reply = self._exchange(proc, request, timeout)
            except SandboxFailure:
                self._proc = None
                _kill_group(proc)
                raise
            self.last_maxrss_kb = int(reply.get("maxrss_kb") or 0)
            if reply.get("recycle"):
                self.close()
        if reply.get("ok"):
            return reply.get("value")
        if reply.get("error") == "memory":
            raise SandboxFailure("memory", {"limit_mb": self.limits.memory_mb})
        raise SandboxFailure(
            "crashed",
            {"reason": f"{reply.get('type', 'erreur')}: {reply.get('message', '')}"[:300]},
        )

    def _exchange(
        self, proc: subprocess.Popen[bytes], request: dict[str, Any], timeout: float
    ) -> dict[str, Any]:
        if proc.stdin is None or proc.stdout is None:
            raise SandboxFailure("crashed", {"reason": "pas de canal"})
        deadline = time.monotonic() + timeout
        try:
            proc.stdin.write(json.dumps(request).encode() + b"\n")
            proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._death(proc) from None
        buf = bytearray()
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    _kill_group(proc)
                    raise SandboxFailure("timeout", {"limit_s": round(timeout, 1)})
                if not sel.select(timeout=min(left, 0.5)):
                    continue
                chunk = os.read(proc.stdout.fileno(), 1 << 16)
                if not chunk:
                    raise self._death(proc)
                buf += chunk
                if len(buf) > _MAX_REPLY:
                    _kill_group(proc)
                    raise SandboxFailure("crashed", {"reason": "réponse trop longue"})
                if buf.endswith(b"\n"):
                    break
        try:
            return json.loads(buf)
        except ValueError:
            _kill_group(proc)
            raise SandboxFailure("crashed", {"reason": "réponse illisible"}) from None

    def _death(self, proc: subprocess.Popen[bytes]) -> SandboxFailure:
        try:
            code = proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            code = proc.wait()
        if code == -signal.SIGXCPU:
            return SandboxFailure("timeout", {"limit_s": self.limits.cpu_s, "reason": "CPU"})
        if code == -signal.SIGKILL:
            return SandboxFailure(
                "memory", {"limit_mb": self.limits.memory_mb, "reason": "SIGKILL"}
            )
        if code < 0:
            return SandboxFailure("crashed", {"reason": signal.Signals(-code).name})
        return SandboxFailure("crashed", {"reason": f"code de sortie {code}"})


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill the child's whole process group and release its pipes."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            try:
                pipe.close()
            except OSError:
                pass


def limits_from(settings: Any, *, check: bool = False) -> Limits:
    timeout = settings.check_timeout_s if check else settings.child_timeout_s
    return Limits(
        memory_mb=settings.check_memory_mb if check else settings.child_memory_mb,
        cpu_s=int(max(settings.child_cpu_s, timeout)),
        timeout_s=timeout,
    )
