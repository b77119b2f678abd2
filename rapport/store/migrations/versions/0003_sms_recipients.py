"""sms recipients: which accounts a phone number belongs to, for inbound replies

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from rapport.store.schema import Moment

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sms_recipients",
        sa.Column("address", sa.String(16), nullable=False),
        sa.Column("account_id", sa.String(128), nullable=False),
        sa.Column("first_at", Moment(), nullable=False),
        sa.PrimaryKeyConstraint("address", "account_id", name=op.f("pk_sms_recipients")),
    )


def downgrade() -> None:
    op.drop_table("sms_recipients")
