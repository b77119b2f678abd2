"""deliveries: every message delivered, so caps count across an account's journeys

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from rapport.store.schema import Moment

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("account_id", sa.String(128), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("at", Moment(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_deliveries")),
    )
    op.create_index(op.f("ix_deliveries_account_id"), "deliveries", ["account_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_deliveries_account_id"), table_name="deliveries")
    op.drop_table("deliveries")
