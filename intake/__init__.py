"""Intake: bytes in → a judged, stored piece. Knows no Flask.

Public surface: :func:`receive`, :func:`analyse`, :func:`merge`, :class:`Settings`,
:class:`BlobStore`, :class:`Sandbox`.
"""

from intake.config import Settings
from intake.receive import Merged, Received, analyse, check_context, merge, receive
from intake.sandbox import Limits, Sandbox, SandboxFailure
from intake.storage import BlobStore

__all__ = [
    "BlobStore",
    "Limits",
    "Merged",
    "Received",
    "Sandbox",
    "SandboxFailure",
    "Settings",
    "analyse",
    "check_context",
    "merge",
    "receive",
]
