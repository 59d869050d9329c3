"""The single door to external programs: argv lists only (no shell), a timeout on
every call, the child's environment built here and never written to os.environ."""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Mapping, Sequence

log = logging.getLogger("justif.exec")

# one thread per Tesseract/OpenMP process: 3-4x faster on 2 cores (stack.md §2.3)
THREAD_LIMITS = {"OMP_THREAD_LIMIT": "1", "OMP_NUM_THREADS": "1"}


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(THREAD_LIMITS)
    env.update(extra or {})
    return env


def run(
    argv: Sequence[str],
    *,
    timeout: float,
    input: bytes | None = None,
    env: Mapping[str, str] | None = None,
    text: bool = True,
) -> subprocess.CompletedProcess:
    """Run ``argv`` with a required timeout. Raises subprocess.TimeoutExpired (the
    process is killed by subprocess.run) so callers can report it."""
    program = os.path.basename(argv[0])
    logging.getLogger(f"justif.exec.{program}").debug("run %s", list(argv))
    return subprocess.run(
        list(argv),
        input=input,
        capture_output=True,
        timeout=timeout,
        env=child_env(env),
        check=False,
        text=text if input is None else False,
    )
