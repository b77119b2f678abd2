"""Every message delivered, by account: a journey's caps count what the account's earlier
journeys sent too (a new journey does not reset the count). Written by the send activity
in its last look, in the transaction that keeps the message's links, right before the
provider call: a message that goes is always counted (a send whose provider then
refuses it for good is forgotten again); read once when a journey starts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, Connection, String, Table, delete, select

from rapport.store.database import Store
from rapport.store.schema import Moment, insert_once, metadata

deliveries = Table(
    "deliveries",
    metadata,
    Column("key", String(255), primary_key=True),  # the message's idempotency key
    Column("account_id", String(128), nullable=False, index=True),
    Column("channel", String(16), nullable=False),
    Column("at", Moment, nullable=False),
)


@dataclass(frozen=True)
class Delivered:
    at: datetime
    channel: str


@dataclass(frozen=True)
class LoggedDelivery:
    key: str  # the message's idempotency key: account, journey, step, occurrence, channel
    at: datetime
    channel: str


class DeliveryLog:
    def __init__(self, store: Store) -> None:
        self.store = store

    def record(
        self,
        key: str,
        account_id: str,
        channel: str,
        at: datetime,
        connection: Connection | None = None,
    ) -> datetime:
        """Once per key: a retried delivery of the same message is not counted twice. In
        `connection`'s transaction when given (the send's last look), else its own. The
        moment the log counts (an earlier attempt's, when it logged the key first)."""
        if connection is None:
            with self.store.begin() as own:
                return self.record(key, account_id, channel, at, own)
        values = {"key": key, "account_id": account_id, "channel": channel, "at": at}
        if insert_once(connection, deliveries, values, deliveries.c.key == key):
            return at
        counted = connection.execute(select(deliveries.c.at).where(deliveries.c.key == key))
        return counted.scalar_one_or_none() or at

    def forget(self, key: str) -> None:
        """A message counted before its provider call that the provider refused for good."""
        with self.store.begin() as connection:
            connection.execute(delete(deliveries).where(deliveries.c.key == key))

    def since(self, account_id: str, since: datetime) -> list[Delivered]:
        with self.store.begin() as connection:
            rows = connection.execute(
                select(deliveries.c.at, deliveries.c.channel)
                .where(deliveries.c.account_id == account_id, deliveries.c.at > since)
                .order_by(deliveries.c.at)
            )
            return [Delivered(at=row.at, channel=row.channel) for row in rows]

    def for_account(self, account_id: str) -> list[LoggedDelivery]:
        """Every delivery the store keeps for the account, oldest first (`journey audit`)."""
        with self.store.begin() as connection:
            rows = connection.execute(
                select(deliveries.c.key, deliveries.c.at, deliveries.c.channel)
                .where(deliveries.c.account_id == account_id)
                .order_by(deliveries.c.at, deliveries.c.key)
            )
            return [LoggedDelivery(row.key, row.at, row.channel) for row in rows]
