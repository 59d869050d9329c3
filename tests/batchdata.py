"""A dossier database with stored, checked documents, for the batch tests and
bench/batch.py: generated students and documents (samples/documents.py, and portraits
for photos), uploaded through the real gate and checked by the real pipeline."""

from __future__ import annotations

import datetime as dt
import io
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from intake.config import Settings
from intake.db import Database, default_url
from intake.models import Student
from intake.pipeline import (
    ActionRefused,
    Pipeline,
    check_version,
    ensure_piece,
    record_decision,
    store_upload,
)


@dataclass(frozen=True)
class Document:
    kind: str
    data: bytes
    name: str
    student: dict[str, Any]
    fields: dict[str, Any] | None = None  # the truth: what is printed on it
    form: str = ""


def pipeline(data_dir: Path, url: str | None = None, **settings: Any) -> Pipeline:
    values = {"data_dir": data_dir, "academic_year": "2024-2025", **settings}
    pipe = Pipeline(Database(url or default_url(data_dir)), Settings(**values))
    data_dir.mkdir(parents=True, exist_ok=True)
    pipe.db.upgrade()
    return pipe


def documents(
    n: int,
    seed: int = 7,
    *,
    kinds: Sequence[str] = ("cvec",),
    forms: Sequence[str] = ("digital",),
    degradations: Sequence[str] = ("clean",),
    traps: float = 0.0,
) -> list[Document]:
    """``n`` generated documents with the record of the student each belongs to."""
    from samples.documents import make_sample, plan

    rng = random.Random(seed)
    out = []
    for i, item in enumerate(
        plan(n, rng, kinds=kinds, forms=forms, degradations=degradations, traps=traps)
    ):
        sample, data, ext = make_sample(rng, name=f"doc-{i:05d}", year="2024-2025", **item)
        out.append(
            Document(
                sample.kind,
                data,
                f"doc-{i:05d}.{ext.lstrip('.')}",
                sample.student,
                sample.fields,
                sample.form,
            )
        )
    return out


def seed(pipe: Pipeline, docs: Sequence[Document], *, check: bool = True) -> list[int]:
    """One student per document, each with one uploaded (and checked) version."""
    ids = []
    with pipe.new_sandbox() as box:
        for i, doc in enumerate(docs):
            record = doc.student
            with pipe.db.session() as s:
                st = Student(
                    application_id=f"P24{i:07d}",
                    last_name=record["last_name"],
                    first_name=record["first_name"],
                    birth_date=dt.date.fromisoformat(record["birth_date"]),
                    ine=record.get("ine"),
                    cvec_number=record.get("cvec_number"),
                    academic_year=record.get("academic_year", "2024-2025"),
                    registration_date=dt.date.fromisoformat(record["registration_date"])
                    if record.get("registration_date")
                    else None,
                )
                s.add(st)
                s.flush()
                student_id = st.id
            upload = dict(
                student_id=student_id,
                kind=doc.kind,
                files=[(io.BytesIO(doc.data), doc.name)],
                user_id=None,
                sandbox=box,
            )
            try:
                outcome = store_upload(pipe, **upload)
            except ActionRefused:
                # e.g. a JDC attestation of a student over 25: an administrator asks for
                # it anyway (the piece is made applicable)
                with pipe.db.session() as s:
                    piece = ensure_piece(s, student_id, doc.kind)
                    record_decision(pipe, s, piece=piece, action="applicable", user_id=None)
                upload["files"] = [(io.BytesIO(doc.data), doc.name)]
                outcome = store_upload(pipe, **upload)
            if outcome.version_id is None:
                raise AssertionError(f"{doc.name} refused: {outcome.problems}")
            if check:
                check_version(outcome.version_id, pipe, sandbox=box)
            ids.append(outcome.version_id)
    return ids
