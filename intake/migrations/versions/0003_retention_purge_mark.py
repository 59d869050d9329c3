"""retention purge mark

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 22:21:50.880960
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:

    with op.batch_alter_table("piece_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:

    with op.batch_alter_table("piece_versions", schema=None) as batch_op:
        batch_op.drop_column("purged_at")
