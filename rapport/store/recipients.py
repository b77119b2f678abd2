"""Which accounts a phone number belongs to, so an inbound SMS reply (which names only
the number) reaches their journeys. Kept in the store: every worker and the web app see
the same index, and it does not depend on any secret that may be rotated."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, PrimaryKeyConstraint, String, Table, select

from rapport.channels.addresses import BadAddress, phone
from rapport.store.database import Store
from rapport.store.schema import Moment, insert_once, metadata

sms_recipients = Table(
    "sms_recipients",
    metadata,
    Column("address", String(16), nullable=False),  # E.164
    Column("account_id", String(128), nullable=False),
    Column("first_at", Moment, nullable=False),
    PrimaryKeyConstraint("address", "account_id"),
)


class RecipientIndex:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._known: set[tuple[str, str]] = set()  # written by this process already

    def remember(self, number: str, account_id: str) -> None:
        try:
            address = phone(number)
        except BadAddress:
            return  # the provider refused it too; nothing can come back from it
        if (address, account_id) in self._known:
            return
        with self.store.begin() as connection:
            insert_once(
                connection,
                sms_recipients,
                {"address": address, "account_id": account_id, "first_at": datetime.now(UTC)},
                sms_recipients.c.address == address,
                sms_recipients.c.account_id == account_id,
            )
        self._known.add((address, account_id))

    def accounts(self, number: str) -> list[str]:
        try:
            address = phone(number)
        except BadAddress:
            return []
        with self.store.begin() as connection:
            rows = connection.execute(
                select(sms_recipients.c.account_id)
                .where(sms_recipients.c.address == address)
                .order_by(sms_recipients.c.first_at, sms_recipients.c.account_id)
            )
            return [row.account_id for row in rows]
