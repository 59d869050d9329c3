"""Entry point of the limited child process (``python -m intake._child``).

The child sets its own resource limits **before importing any parser**, moves the
protocol channel off stdout (libraries that print cannot corrupt it), then serves
requests: one JSON line in on stdin, one JSON line out on the private channel.
It is started and killed by :mod:`intake.sandbox`; nothing here trusts the files it
opens.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from typing import Any

# op name -> "module:function"; every function takes keyword arguments and returns
# something json.dumps can write.
OPS: dict[str, str] = {
    "inspect": "intake.parse:inspect",
    "check": "intake.prepare:check",
    "merge": "intake.merge:merge_files",
    "shrink": "intake.merge:shrink_file",
    "preview": "intake.prepare:preview",
    "photo_fix": "intake.photofix:fix",
    "ping": "intake._child:_ping",
}


def _ping(**kwargs: Any) -> dict[str, Any]:
    return {"pid": os.getpid(), **kwargs}


def _set_limits(limits: dict[str, int]) -> None:
    mb = 1024 * 1024
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if limits.get("memory_mb"):
        size = int(limits["memory_mb"]) * mb
        resource.setrlimit(resource.RLIMIT_AS, (size, size))
    if limits.get("fsize_mb"):
        size = int(limits["fsize_mb"]) * mb
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    if limits.get("nofile"):
        n = int(limits["nofile"])
        resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))


def _arm_cpu(seconds: int) -> None:
    """CPU limit for the next job: the time used so far plus ``seconds`` (soft limit;
    the kernel sends SIGXCPU, which kills the child)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = int(usage.ru_utime + usage.ru_stime) + 1
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = used + seconds
    if hard != resource.RLIM_INFINITY and soft > hard:
        soft = hard
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _configure_parsers() -> None:
    import logging
    import warnings

    # parser warnings echo attacker-controlled text: keep them out of the logs
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    warnings.simplefilter("ignore")
    try:
        import pypdf

        # 5 MB inputs never need 75 MB streams: lower pypdf's output caps
        pypdf.overwrite_configuration(
            zlib_maximum_output_length=32_000_000,
            lzw_maximum_output_length=32_000_000,
            run_length_maximum_output_length=32_000_000,
            array_based_stream_maximum_output_length=32_000_000,
            maximum_declared_stream_length=32_000_000,
            image_maximum_buffer_size=32_000_000,
            jbig2dec_binary=None,
        )
    except (ImportError, AttributeError, TypeError):
        pass


def _peak_rss_kb() -> int:
    """This process's peak resident memory since exec (VmHWM; ``ru_maxrss`` would
    include the parent's memory at fork time)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _refuse_network() -> None:
    """Defence in depth when no network namespace isolates the child: no Python code
    here may open a connection (a PDF's /URI, /GoToR or /Launch never reaches out)."""
    import socket

    def blocked(*_: Any, **__: Any) -> Any:
        raise OSError("network disabled in the sandbox")

    socket.socket.connect = blocked  # type: ignore[method-assign]
    socket.socket.connect_ex = blocked  # type: ignore[method-assign]
    socket.create_connection = blocked  # type: ignore[assignment]
    socket.getaddrinfo = blocked  # type: ignore[assignment]


def _resolve(target: str) -> Any:
    import importlib

    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def main() -> int:
    limits = json.loads(os.environ.get("JUSTIF_CHILD_LIMITS", "{}"))
    _set_limits(limits)
    cpu_s = int(limits.get("cpu_s", 20))
    # the protocol channel: a private copy of stdout; fd 1 then points at stderr
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    _configure_parsers()
    _refuse_network()
    allow_call = os.environ.get("JUSTIF_SANDBOX_ALLOW_CALL") == "1"
    ops = dict(OPS)
    if allow_call:  # tests only: replace an op by a misbehaving target
        ops.update(json.loads(os.environ.get("JUSTIF_SANDBOX_TEST_OPS", "{}")))

    for line in sys.stdin:
        started = time.perf_counter()
        try:
            request = json.loads(line)
            op = request["op"]
            if op == "call" and allow_call:
                target = request["target"]
            elif op in ops:
                target = ops[op]
            else:
                raise ValueError(f"unknown op {op!r}")
            _arm_cpu(int(request.get("cpu_s", cpu_s)))
            value = _resolve(target)(**request.get("args", {}))
            reply = {"ok": True, "value": value}
        except MemoryError:
            reply = {"ok": False, "error": "memory", "recycle": True}
        except Exception as exc:
            reply = {
                "ok": False,
                "error": "exception",
                "type": type(exc).__name__,
                "message": str(exc)[:1000],
                "recycle": True,
            }
        reply["elapsed_ms"] = round((time.perf_counter() - started) * 1000, 1)
        reply["maxrss_kb"] = _peak_rss_kb()
        try:
            text = json.dumps(reply)
        except (TypeError, ValueError) as exc:
            text = json.dumps(
                {
                    "ok": False,
                    "error": "exception",
                    "type": "TypeError",
                    "message": f"reply not serialisable: {exc}",
                    "recycle": True,
                }
            )
        channel.write(text + "\n")
        channel.flush()
        if reply.get("recycle"):
            return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
