"""stops: what each running journey was told to stop for, read right before a send

Revision ID: 0008_stops
Revises: 0011_intake
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from rapport.store.schema import Moment

revision = "0008_stops"
down_revision = "0011_intake"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "journey_stops",
        sa.Column("instance", sa.String(255), nullable=False),
        sa.Column("account_id", sa.String(128), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("paid", sa.Boolean(), nullable=False),
        sa.Column("ceased", sa.Boolean(), nullable=False),
        sa.Column("held", sa.Boolean(), nullable=False),
        sa.Column("opted_out", sa.String(255), nullable=False),
        sa.Column("at", Moment(), nullable=False),
        sa.PrimaryKeyConstraint("instance", name=op.f("pk_journey_stops")),
    )
    op.create_index(
        op.f("ix_journey_stops_account_id"), "journey_stops", ["account_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_journey_stops_account_id"), table_name="journey_stops")
    op.drop_table("journey_stops")
