"""The limited child: wall-clock kill, memory and CPU limits, crashes, noisy stdout."""

from __future__ import annotations

import io
import json
import subprocess
import time

import pytest

from intake import Limits, Sandbox, SandboxFailure, Settings, receive
from tests import badfiles

ALLOW = {"JUSTIF_SANDBOX_ALLOW_CALL": "1"}


def run_target(target: str, limits: Limits) -> SandboxFailure:
    with Sandbox(limits, extra_env=ALLOW) as box:
        with pytest.raises(SandboxFailure) as caught:
            box.run("call", target=f"tests.sandbox_targets:{target}")
        # the box recovers: the next request gets a fresh child
        assert box.run("ping", {"x": 1})["x"] == 1
    return caught.value


def test_hanging_parser_is_killed_on_time():
    started = time.perf_counter()
    failure = run_target("hang", Limits(timeout_s=1.5))
    assert failure.kind == "timeout"
    assert time.perf_counter() - started < 6


def test_grandchild_is_killed_with_the_group():
    with Sandbox(Limits(timeout_s=1.0), extra_env=ALLOW) as box, pytest.raises(SandboxFailure):
        box.run("call", target="tests.sandbox_targets:grandchild_hang")
    time.sleep(0.2)
    found = subprocess.run(["pgrep", "-f", "sleep 600"], capture_output=True, text=True)
    assert not found.stdout.split()


def test_cpu_limit():
    failure = run_target("spin", Limits(cpu_s=1, timeout_s=30))
    assert failure.kind == "timeout"
    assert failure.detail.get("reason") == "CPU"


def test_memory_limit():
    failure = run_target("allocate", Limits(memory_mb=256, timeout_s=30))
    assert failure.kind == "memory"
    assert failure.finding().code == "sandbox.memory"


def test_segfault_is_a_finding():
    failure = run_target("suicide", Limits(timeout_s=10))
    assert failure.kind == "crashed"
    assert "SIGSEGV" in failure.detail["reason"]
    assert failure.finding().code == "sandbox.crashed"


def test_stdout_noise_does_not_break_the_protocol():
    with Sandbox(Limits(), extra_env=ALLOW) as box:
        assert box.run("call", target="tests.sandbox_targets:chatter") == "fine"


def test_child_is_reused_then_replaced():
    with Sandbox(Limits(), max_jobs=2) as box:
        pids = [box.run("ping")["pid"] for _ in range(3)]
    assert pids[0] == pids[1] != pids[2]


def test_child_environment_is_minimal(monkeypatch):
    monkeypatch.setenv("JUSTIF_SECRET_KEY", "do-not-leak")
    monkeypatch.setenv("DATABASE_URL", "postgresql://x")
    from intake.sandbox import child_environment

    env = child_environment(Limits())
    assert "JUSTIF_SECRET_KEY" not in env and "DATABASE_URL" not in env
    assert env["OMP_THREAD_LIMIT"] == "1"
    assert json.loads(env["JUSTIF_CHILD_LIMITS"])["memory_mb"] == 512


def test_receive_turns_a_hang_into_a_rejection(tmp_path):
    settings = Settings(data_dir=tmp_path, child_timeout_s=1.5, child_cpu_s=5)
    env = {
        **ALLOW,
        "JUSTIF_SANDBOX_TEST_OPS": json.dumps({"inspect": "tests.sandbox_targets:hang"}),
    }
    with Sandbox(Limits(timeout_s=1.5), extra_env=env) as box:
        started = time.perf_counter()
        received = receive(
            io.BytesIO(badfiles.pdf()), "cni.pdf", "identity", settings=settings, sandbox=box
        )
    assert received.verdict.codes == ["sandbox.timeout"]
    assert str(received.verdict.outcome) == "rejected"
    assert received.stored is None
    assert time.perf_counter() - started < 5


def test_the_child_cannot_reach_the_network():
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(3)
    port = server.getsockname()[1]
    accepted = []

    def accept() -> None:
        try:
            accepted.append(server.accept())
        except OSError:
            pass

    t = threading.Thread(target=accept)
    t.start()
    with (
        Sandbox(Limits(timeout_s=10), extra_env=ALLOW) as box,
        pytest.raises(SandboxFailure) as caught,
    ):
        box.run("call", {"port": port}, target="tests.sandbox_targets:connect_out")
    t.join()
    server.close()
    assert not accepted
    assert "network" in caught.value.detail["reason"] or "Errno" in caught.value.detail["reason"]


def test_pixel_bomb_is_refused_with_little_memory(tmp_path):
    from tests import badfiles

    settings = Settings(data_dir=tmp_path)
    with Sandbox(Limits()) as box:
        box.run("ping")  # a warm child, as in the service
        started = time.perf_counter()
        received = receive(
            io.BytesIO(badfiles.jpeg_declaring(40000, 40000)),
            "x.jpg",
            "photo",
            settings=settings,
            sandbox=box,
        )
        assert time.perf_counter() - started < 1.0
        assert received.verdict.codes == ["image.too_large"]
        assert box.last_maxrss_kb < 200 * 1024
