"""Payment provider events already taken (by event id): a provider sends a webhook again
until it gets a 2xx, and a repeated event must change nothing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, String, Table

from rapport.store.database import Store
from rapport.store.schema import Moment, insert_once, metadata

payment_events = Table(
    "payment_events",
    metadata,
    Column("event_id", String(255), primary_key=True),
    Column("account_id", String(128), nullable=False),
    Column("received_at", Moment, nullable=False),
)


class PaymentEvents:
    def __init__(self, store: Store) -> None:
        self.store = store

    def first_time(self, event_id: str, account_id: str, now: datetime) -> bool:
        """Record the event; False when it was recorded before."""
        with self.store.begin() as connection:
            return insert_once(
                connection,
                payment_events,
                {"event_id": event_id, "account_id": account_id, "received_at": now},
                payment_events.c.event_id == event_id,
            )

    def forget(self, event_id: str) -> None:
        """Undo `first_time` for an event whose effect could not be delivered, so the
        provider's retry is taken."""
        with self.store.begin() as connection:
            connection.execute(payment_events.delete().where(payment_events.c.event_id == event_id))
