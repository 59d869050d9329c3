"""Property-based fuzzing (issue 8): mutated valid PDFs and JPEGs — byte flips, truncation,
splices, header swaps — fed to intake and to every checker always end in a verdict with
reason codes, never in an exception; nothing refused is stored. Longer run: bench/fuzz.py."""

from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake import analyse, check_context, receive
from tests.fuzzing import mutate
from validators.base import Kind
from validators.verdict import Outcome

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _valid(verdict) -> None:
    assert verdict.outcome in set(Outcome)
    for f in verdict.findings:
        assert "." in str(f.code) and f.message


@FUZZ
@given(
    rng=st.randoms(use_true_random=False),
    name=st.sampled_from(["scan.pdf", "photo.jpg", "piece.jpeg", "cni"]),
)
def test_mutated_uploads_always_get_a_verdict(rng, name, settings, sandbox):
    received = receive(io.BytesIO(mutate(rng)), name, "cvec", settings=settings, sandbox=sandbox)
    _valid(received.verdict)
    if received.verdict.outcome is Outcome.REJECTED:
        assert received.stored is None
    else:
        assert received.stored is not None and received.stored.is_file()
        assert received.mime in ("application/pdf", "image/jpeg")


@settings(
    max_examples=16,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rng=st.randoms(use_true_random=False), kind=st.sampled_from(list(Kind)))
def test_every_checker_gives_a_verdict_on_mutated_files(rng, kind, settings, sandbox):
    received = receive(
        io.BytesIO(mutate(rng)), "piece.pdf", kind, settings=settings, sandbox=sandbox
    )
    if received.stored is None:
        return
    context = check_context(
        settings, student={"last_name": "Martin", "first_name": "Léa", "birth_date": "2007-03-02"}
    )
    _valid(
        analyse(received.stored, received.mime, kind, context, settings=settings, sandbox=sandbox)
    )
