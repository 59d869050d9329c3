"""Misbehaving child entry points, reachable only when a test starts the sandbox with
JUSTIF_SANDBOX_ALLOW_CALL=1."""

from __future__ import annotations

import ctypes
import os
import signal
import time
from typing import Any


def hang(**_: Any) -> None:
    while True:
        time.sleep(1)


def spin(**_: Any) -> None:
    x = 0
    while True:
        x += 1


def allocate(**_: Any) -> int:
    blocks = []
    while True:
        blocks.append(bytearray(64 * 1024 * 1024))


def segfault(**_: Any) -> None:
    ctypes.string_at(0)


def suicide(**_: Any) -> None:
    os.kill(os.getpid(), signal.SIGSEGV)


def grandchild_hang(**_: Any) -> None:
    import subprocess

    subprocess.run(["sleep", "600"], check=False)


def chatter(**_: Any) -> str:
    print("noise on stdout that must not break the protocol")
    os.write(1, b"raw noise\n")
    return "fine"


def slow_check(**kwargs: Any) -> Any:
    """The real check, two seconds late: long enough to kill a worker in the middle."""
    from intake.prepare import check

    time.sleep(2)
    return check(**kwargs)


def connect_out(*, port: int, **_: Any) -> str:
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=2):
        return "connected"
