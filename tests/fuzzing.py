"""Mutations of valid uploads for fuzzing (tests/intake/test_fuzz.py, bench/fuzz.py):
byte flips, truncation, splices with another file, header swaps, insertions, zeroed runs."""

from __future__ import annotations

import random
from functools import cache

from tests import badfiles

HEADERS = (
    b"%PDF-1.7",
    b"\xff\xd8\xff\xe0\0\x10JF",
    b"\x89PNG\r\n\x1a\n",
    b"PK\x03\x04\0\0\0\0",
    b"GIF89a\0\0",
    b"%PDF-1.4\n%",
)


@cache
def seeds() -> tuple[bytes, ...]:
    return (
        badfiles.jpeg(320, 240),
        badfiles.jpeg(200, 300, exif=badfiles.exif_bytes(orientation=6, gps=True)),
        badfiles.pdf(2),
        badfiles.restricted_pdf(),
        badfiles.pdf_with_javascript(),
    )


def mutate(rng: random.Random, data: bytes | None = None) -> bytes:
    out = bytearray(data if data is not None else rng.choice(seeds()))
    for _ in range(rng.randint(1, 4)):
        if not out:
            break
        op = rng.choice(("flip", "truncate", "splice", "header", "insert", "zero"))
        pos = rng.randrange(len(out))
        if op == "flip":
            out[pos] ^= 1 << rng.randrange(8)
        elif op == "truncate":
            del out[pos:]
        elif op == "splice":
            other = rng.choice(seeds())
            out[pos:] = other[rng.randrange(len(other)) :]
        elif op == "header":
            out[:8] = rng.choice(HEADERS)
        elif op == "insert":
            out[pos:pos] = rng.randbytes(rng.randint(1, 64))
        else:
            end = min(len(out), pos + rng.randint(1, 512))
            out[pos:end] = bytes(end - pos)
    return bytes(out)
