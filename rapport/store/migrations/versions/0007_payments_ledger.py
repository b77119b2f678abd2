"""payments ledger: every money event by payment id; checkouts by server-side reference;
payment-method references

Revision ID: 0007_payments_ledger
Revises: 0009_portal_guard
Create Date: 2027-01-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from rapport.store.schema import Moment

revision = "0007_payments_ledger"
down_revision = "0009_portal_guard"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payments",
        sa.Column("payment_id", sa.String(128), nullable=False),
        sa.Column("account_id", sa.String(128), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("reference", sa.String(255), nullable=True),
        sa.Column("paid", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("failed", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("refunded_minor", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("disputed_minor", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("journey", sa.String(255), nullable=True),
        sa.Column("told_received", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("applied", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("told_reversed_minor", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("reversal_applied_minor", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("received_at", Moment(), nullable=False),
        sa.Column("changed_at", Moment(), nullable=False),
        sa.PrimaryKeyConstraint("payment_id", name=op.f("pk_payments")),
    )
    op.create_index(op.f("ix_payments_account_id"), "payments", ["account_id"])
    op.create_table(
        "checkouts",
        sa.Column("reference", sa.String(32), nullable=False),
        sa.Column("account_id", sa.String(128), nullable=False),
        sa.Column("link_hash", sa.String(64), nullable=False),
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=True),
        sa.Column("locale", sa.String(16), nullable=True),
        sa.Column("timezone", sa.String(64), nullable=True),
        sa.Column("session_id", sa.String(255), nullable=True),
        sa.Column("session_url", sa.String(2048), nullable=True),
        sa.Column("payment_id", sa.String(128), nullable=True),
        sa.Column("created_at", Moment(), nullable=False),
        sa.Column("expires_at", Moment(), nullable=False),
        sa.Column("completed_at", Moment(), nullable=True),
        sa.PrimaryKeyConstraint("reference", name=op.f("pk_checkouts")),
    )
    op.create_index(op.f("ix_checkouts_account_id"), "checkouts", ["account_id"])
    op.create_index(op.f("ix_checkouts_session_id"), "checkouts", ["session_id"])
    op.create_table(
        "payment_methods",
        sa.Column("reference", sa.String(255), nullable=False),
        sa.Column("account_id", sa.String(128), nullable=False),
        sa.Column("customer", sa.String(255), nullable=True),
        sa.Column("recorded_at", Moment(), nullable=False),
        sa.PrimaryKeyConstraint("reference", name=op.f("pk_payment_methods")),
    )
    op.create_index(op.f("ix_payment_methods_account_id"), "payment_methods", ["account_id"])


def downgrade() -> None:
    op.drop_table("payment_methods")
    op.drop_table("checkouts")
    op.drop_table("payments")
