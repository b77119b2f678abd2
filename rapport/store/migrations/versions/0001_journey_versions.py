"""journey versions: definitions pinned by content hash

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from rapport.store.schema import Moment

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "journey_versions",
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("journey_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(1024), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("templates", sa.Text(), nullable=False),
        sa.Column("pinned_at", Moment(), nullable=False),
        sa.PrimaryKeyConstraint("hash", name=op.f("pk_journey_versions")),
    )
    op.create_index(op.f("ix_journey_versions_journey_id"), "journey_versions", ["journey_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_journey_versions_journey_id"), table_name="journey_versions")
    op.drop_table("journey_versions")
