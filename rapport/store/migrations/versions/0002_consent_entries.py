"""consent entries: opt-outs, ceases and opt-ins that outlive a journey

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from rapport.store.schema import Moment

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consent_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(128), nullable=True),
        sa.Column("address", sa.String(320), nullable=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("at", Moment(), nullable=False),
        sa.Column("reference", sa.String(160), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_entries")),
        sa.UniqueConstraint("reference", name=op.f("uq_consent_entries_reference")),
    )
    op.create_index(op.f("ix_consent_entries_account_id"), "consent_entries", ["account_id"])
    op.create_index(op.f("ix_consent_entries_address"), "consent_entries", ["address"])


def downgrade() -> None:
    op.drop_index(op.f("ix_consent_entries_address"), table_name="consent_entries")
    op.drop_index(op.f("ix_consent_entries_account_id"), table_name="consent_entries")
    op.drop_table("consent_entries")
