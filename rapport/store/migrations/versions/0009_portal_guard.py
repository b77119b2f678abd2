"""portal guard: link addresses sealed, not kept in clear; rate-limit counters shared by
every web process

Existing addresses are sealed with the sealer `Store.upgrade(address_sealer)` hands over
(the codec's key ring: `journey db upgrade`, the worker and the web app pass theirs);
without one they are dropped, never kept in clear (an opt-out from such a link's page
is then for the account, not the address).

Revision ID: 0009_portal_guard
Revises: 0006
Create Date: 2026-12-08
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import context, op

from rapport.store.schema import Sealer

revision = "0009_portal_guard"
down_revision = "0006"
branch_labels = None
depends_on = None
log = logging.getLogger(__name__)


def upgrade() -> None:
    with op.batch_alter_table("links") as batch:
        batch.add_column(sa.Column("address_sealed", sa.Text(), nullable=True))
    _seal_addresses(context.config.attributes.get("address_sealer"))
    with op.batch_alter_table("links") as batch:
        batch.drop_column("address")
    op.create_table(
        "rate_counts",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("expires", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_counts")),
    )
    op.create_index(op.f("ix_rate_counts_expires"), "rate_counts", ["expires"])


def _seal_addresses(sealer: Sealer | None) -> None:
    links = sa.table(
        "links",
        sa.column("token_hash", sa.String),
        sa.column("address", sa.String),
        sa.column("address_sealed", sa.Text),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(links.c.token_hash, links.c.address).where(links.c.address.is_not(None))
    ).all()
    if sealer is None:
        if rows:
            log.warning("%d link addresses dropped: no encryption key to seal them", len(rows))
        return
    for token_hash, address in rows:
        connection.execute(
            sa.update(links)
            .where(links.c.token_hash == token_hash)
            .values(address_sealed=sealer.seal(address))
        )


def downgrade() -> None:
    op.drop_index(op.f("ix_rate_counts_expires"), table_name="rate_counts")
    op.drop_table("rate_counts")
    with op.batch_alter_table("links") as batch:
        batch.add_column(sa.Column("address", sa.String(320), nullable=True))
        batch.drop_column("address_sealed")  # sealed addresses are not put back in clear
