"""revalidation runs

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 22:13:02.950342
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "revalidation_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("mode", sa.String(length=12), nullable=False),
        sa.Column("ruleset", sa.String(length=40), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("started_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_revalidation_runs")),
    )
    with op.batch_alter_table("revalidation_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_revalidation_runs_key"), ["key"], unique=False)

    op.create_table(
        "revalidation_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("before_run_id", sa.Integer(), nullable=True),
        sa.Column("before_outcome", sa.String(length=12), nullable=True),
        sa.Column("before_codes", sa.JSON(), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=True),
        sa.Column("decided_signature", sa.JSON(), nullable=True),
        sa.Column("after_outcome", sa.String(length=12), nullable=True),
        sa.Column("after_codes", sa.JSON(), nullable=False),
        sa.Column("after_run_id", sa.Integer(), nullable=True),
        sa.Column("conflict", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("elapsed_ms", sa.Double(), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["after_run_id"],
            ["check_runs.id"],
            name=op.f("fk_revalidation_items_after_run_id_check_runs"),
        ),
        sa.ForeignKeyConstraint(
            ["before_run_id"],
            ["check_runs.id"],
            name=op.f("fk_revalidation_items_before_run_id_check_runs"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["revalidation_runs.id"],
            name=op.f("fk_revalidation_items_run_id_revalidation_runs"),
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["piece_versions.id"],
            name=op.f("fk_revalidation_items_version_id_piece_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_revalidation_items")),
        sa.UniqueConstraint("run_id", "version_id", name=op.f("uq_revalidation_items_run_id")),
    )
    with op.batch_alter_table("revalidation_items", schema=None) as batch_op:
        batch_op.create_index("ix_revalidation_items_run_state", ["run_id", "state"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("revalidation_items", schema=None) as batch_op:
        batch_op.drop_index("ix_revalidation_items_run_state")

    op.drop_table("revalidation_items")
    with op.batch_alter_table("revalidation_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_revalidation_runs_key"))

    op.drop_table("revalidation_runs")
