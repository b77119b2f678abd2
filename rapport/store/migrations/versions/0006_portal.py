"""portal: a link's identity check, first opening and failed checks; payment events seen

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from rapport.store.schema import Moment

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("links") as batch:
        batch.add_column(sa.Column("check_kind", sa.String(16), nullable=True))
        batch.add_column(sa.Column("check_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("locale", sa.String(16), nullable=True))
        batch.add_column(
            sa.Column("failed_checks", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("opened_at", Moment(), nullable=True))
    op.create_table(
        "payment_events",
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("account_id", sa.String(128), nullable=False),
        sa.Column("received_at", Moment(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_payment_events")),
    )


def downgrade() -> None:
    op.drop_table("payment_events")
    with op.batch_alter_table("links") as batch:
        for name in ("opened_at", "failed_checks", "locale", "check_hash", "check_kind"):
            batch.drop_column(name)
