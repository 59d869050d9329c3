"""Property-based fuzzing of intake (issue 8): mutated valid PDFs and JPEGs — byte flips,
truncation, splices, header swaps — always end in a verdict with reason codes, never in
an exception, and nothing refused is stored. A longer run: bench/fuzz.py."""

from __future__ import annotations

import io
from functools import cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake import receive
from tests import badfiles
from validators.verdict import Outcome


@cache
def seeds() -> tuple[bytes, ...]:
    return (
        badfiles.jpeg(320, 240),
        badfiles.jpeg(200, 300, exif=badfiles.exif_bytes(orientation=6, gps=True)),
        badfiles.pdf(2),
        badfiles.restricted_pdf(),
        badfiles.pdf_with_javascript(),
    )


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(seeds())))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "truncate", "splice", "header", "insert", "zero"]))
        if not data:
            break
        pos = draw(st.integers(0, len(data) - 1))
        if op == "flip":
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "truncate":
            del data[pos:]
        elif op == "splice":
            other = draw(st.sampled_from(seeds()))
            start = draw(st.integers(0, len(other) - 1))
            data[pos:] = other[start:]
        elif op == "header":
            data[:8] = draw(
                st.sampled_from(
                    [
                        b"%PDF-1.7",
                        b"\xff\xd8\xff\xe0\0\x10JF",
                        b"\x89PNG\r\n\x1a\n",
                        b"PK\x03\x04\0\0\0\0",
                        b"GIF89a\0\0",
                    ]
                )
            )
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=64))
        else:
            end = min(len(data), pos + draw(st.integers(1, 512)))
            data[pos:end] = bytes(end - pos)
    return bytes(data)


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=mutated(), name=st.sampled_from(["scan.pdf", "photo.jpg", "piece.jpeg", "cni"]))
def test_mutated_uploads_always_get_a_verdict(data, name, settings, sandbox):
    received = receive(io.BytesIO(data), name, "cvec", settings=settings, sandbox=sandbox)
    verdict = received.verdict
    assert verdict.outcome in set(Outcome)
    for f in verdict.findings:
        assert "." in str(f.code) and f.message
    if verdict.outcome is Outcome.REJECTED:
        assert received.stored is None
    else:
        assert received.stored is not None and received.stored.is_file()
        assert received.mime in ("application/pdf", "image/jpeg")
