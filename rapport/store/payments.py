"""The payments ledger: every money event from every path (the provider's webhook,
billing, the CLI, the API), one row per `payment_id`, whether or not a journey took it;
and the provider's event ids already taken.

A row merges what is known about one payment, in any order the events arrive (a
refund may come before the completion it refunds): whether the money arrived, failed,
how much went back by refund or dispute. Its `status` follows from those:
`pending -> succeeded -> refunded/partially_refunded/disputed` or `pending -> failed`.
Beside them the row keeps what the account's journey was told and took, so the journey
is told what counts once, and what no journey took is listed (`unapplied`) for the
billing team. Amounts are kept in the currency's minor units (exact integers).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Row,
    String,
    Table,
    case,
    false,
    func,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from rapport.money import from_minor, to_minor
from rapport.store.database import Store
from rapport.store.schema import Moment, insert_once, metadata

Status = Literal["pending", "succeeded", "failed", "refunded", "partially_refunded", "disputed"]
Source = Literal["provider", "billing", "cli", "api"]
STATUSES: tuple[Status, ...] = (
    "pending",
    "succeeded",
    "failed",
    "refunded",
    "partially_refunded",
    "disputed",
)

payments = Table(
    "payments",
    metadata,
    Column("payment_id", String(128), primary_key=True),
    Column("account_id", String(128), nullable=False, index=True),
    Column("currency", String(3), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("status", String(24), nullable=False),
    Column("source", String(16), nullable=False),  # provider | billing | cli | api
    Column("reference", String(255), nullable=True),  # the provider's: session, charge
    Column("paid", Boolean, nullable=False, server_default=false()),  # the money arrived
    Column("failed", Boolean, nullable=False, server_default=false()),
    Column("refunded_minor", BigInteger, nullable=False, server_default="0"),
    Column("disputed_minor", BigInteger, nullable=False, server_default="0"),
    # what the account's journey was told, and took
    Column("journey", String(255), nullable=True),  # the journey (workflow run) told
    Column("told_received", Boolean, nullable=False, server_default=false()),
    Column("applied", Boolean, nullable=False, server_default=false()),
    Column("told_reversed_minor", BigInteger, nullable=False, server_default="0"),
    Column("reversal_applied_minor", BigInteger, nullable=False, server_default="0"),
    Column("received_at", Moment, nullable=False),
    Column("changed_at", Moment, nullable=False),
)

payment_events = Table(
    "payment_events",
    metadata,
    Column("event_id", String(255), primary_key=True),
    Column("account_id", String(128), nullable=False),
    Column("received_at", Moment, nullable=False),
)


class PaymentConflict(ValueError):
    """A `payment_id` already in the ledger for another account, currency or amount."""


@dataclass(frozen=True)
class MoneyEvent:
    """What one path reports about one payment. `paid`: the money arrived; `failed`: it
    will not; `refunded` and `disputed`: how much of it has gone back so far (totals,
    so a repeat changes nothing)."""

    payment_id: str
    account_id: str
    amount: Decimal
    currency: str
    source: Source
    at: datetime
    paid: bool = False
    failed: bool = False
    refunded: Decimal = Decimal(0)
    disputed: Decimal = Decimal(0)
    reference: str | None = None


@dataclass(frozen=True)
class Payment:
    """One row of the ledger, amounts as `Decimal` in the currency's places."""

    payment_id: str
    account_id: str
    amount: Decimal
    currency: str
    status: Status
    source: Source
    reference: str | None
    received_at: datetime
    changed_at: datetime
    paid: bool
    reversed: Decimal  # how much went back (refunds and disputes), at most the amount
    journey: str | None
    told_received: bool
    applied: bool  # a running journey took it
    told_reversed: Decimal
    reversal_applied: Decimal

    @property
    def net(self) -> Decimal:
        """The money this payment brought, after what went back: what billing is owed."""
        return self.amount - self.reversed if self.paid else Decimal(0)

    @property
    def accounted(self) -> Decimal:
        """What the account's journey counted of it."""
        return (self.amount if self.applied else Decimal(0)) - self.reversal_applied

    @property
    def unapplied(self) -> Decimal:
        """Money no running journey accounted for (negative: a reversal none took)."""
        return self.net - self.accounted

    @property
    def receipt_due(self) -> bool:
        """The journey is to be told the money arrived."""
        return self.paid and not self.told_received

    @property
    def reversal_due(self) -> bool:
        """The journey took it and is to be told that (more of) it went back."""
        return self.applied and self.reversed > self.told_reversed


def _status(paid: bool, failed: bool, amount: int, refunded: int, disputed: int) -> Status:
    if not paid:
        return "failed" if failed else "pending"
    if disputed > 0:
        return "disputed"
    if refunded >= amount:
        return "refunded"
    return "partially_refunded" if refunded > 0 else "succeeded"


class PaymentLedger:
    def __init__(self, store: Store) -> None:
        self.store = store

    def take(self, event: MoneyEvent) -> Payment:
        """Merge `event` into its payment's row (made if new) and return the row. Events
        may come in any order and any number of times: the row only moves forward."""
        amount = to_minor(event.amount, event.currency)
        refunded = to_minor(event.refunded, event.currency)
        disputed = to_minor(event.disputed, event.currency)
        with self.store.begin() as connection:
            new = _insert(connection).values(
                payment_id=event.payment_id,
                account_id=event.account_id,
                currency=event.currency,
                amount_minor=amount,
                status=_status(event.paid, event.failed, amount, refunded, disputed),
                source=event.source,
                reference=event.reference,
                paid=event.paid,
                failed=event.failed,
                refunded_minor=refunded,
                disputed_minor=disputed,
                received_at=event.at,
                changed_at=event.at,
            )
            connection.execute(new.on_conflict_do_nothing(index_elements=["payment_id"]))
            before = self._row(connection, event.payment_id)
            if (before.account_id, before.currency, before.amount_minor) != (
                event.account_id,
                event.currency,
                amount,
            ):
                raise PaymentConflict(
                    f"payment {event.payment_id} is in the ledger for another account, "
                    "currency or amount"
                )
            c = payments.c
            connection.execute(
                update(payments)
                .where(c.payment_id == event.payment_id)
                .values(
                    paid=_or(c.paid, event.paid),
                    failed=_or(c.failed, event.failed),
                    refunded_minor=_at_least(c.refunded_minor, refunded),
                    disputed_minor=_at_least(c.disputed_minor, disputed),
                    reference=func.coalesce(c.reference, event.reference),
                )
            )
            after = self._row(connection, event.payment_id)
            status = _status(
                after.paid, after.failed, amount, after.refunded_minor, after.disputed_minor
            )
            if status != after.status or _facts(after) != _facts(before):
                connection.execute(
                    update(payments)
                    .where(c.payment_id == event.payment_id)
                    .values(status=status, changed_at=event.at)
                )
            return _payment(self._row(connection, event.payment_id))

    def told(
        self,
        payment_id: str,
        journey: str | None,
        received: bool | None = None,
        reversed_total: Decimal | None = None,
        reversal_taken: bool = False,
    ) -> Payment:
        """Record what the journey was told: that the money arrived (`received`: True
        when a running journey took it, False when none did) and/or how much of it went
        back (`reversed_total`, taken or not)."""
        c = payments.c
        with self.store.begin() as connection:
            row = self._row(connection, payment_id)
            values: dict[str, object] = {}
            if received is not None:
                values.update(told_received=True, applied=_or(c.applied, received))
                if received or row.journey is None:
                    values["journey"] = journey
            if reversed_total is not None:
                minor = to_minor(reversed_total, row.currency)
                values["told_reversed_minor"] = _at_least(c.told_reversed_minor, minor)
                if reversal_taken:
                    values["reversal_applied_minor"] = _at_least(c.reversal_applied_minor, minor)
            if values:
                connection.execute(
                    update(payments).where(c.payment_id == payment_id).values(values)
                )
            return _payment(self._row(connection, payment_id))

    def find(self, payment_id: str) -> Payment | None:
        with self.store.begin() as connection:
            row = connection.execute(
                select(payments).where(payments.c.payment_id == payment_id)
            ).first()
        return _payment(row) if row is not None else None

    def for_account(self, account_id: str) -> list[Payment]:
        """The account's payments, oldest first."""
        with self.store.begin() as connection:
            rows = connection.execute(
                select(payments)
                .where(payments.c.account_id == account_id)
                .order_by(payments.c.received_at, payments.c.payment_id)
            )
            return [_payment(row) for row in rows]

    def unapplied(self) -> list[Payment]:
        """Money that reached no running journey: payments none took, and what went back
        of payments after their journey ended (oldest first)."""
        c = payments.c
        with self.store.begin() as connection:
            rows = connection.execute(
                select(payments)
                .where(
                    c.paid == true(),
                    or_(
                        c.applied == false(),
                        c.reversal_applied_minor < c.refunded_minor + c.disputed_minor,
                    ),
                )
                .order_by(c.received_at, c.payment_id)
            )
            found = [_payment(row) for row in rows]
        return [p for p in found if p.unapplied != 0]

    def net_since(
        self, account_id: str, currency: str, since: datetime, until: datetime | None = None
    ) -> Decimal:
        """What the account's payments in `currency` received after `since` (and up to
        `until`) brought, net of what went back: the local billing stand-in's view."""
        return sum(
            (
                p.net
                for p in self.for_account(account_id)
                if p.currency == currency
                and p.received_at > since
                and (until is None or p.received_at <= until)
            ),
            Decimal(0),
        )

    def _row(self, connection: Connection, payment_id: str) -> Row[tuple[object, ...]]:
        row = connection.execute(select(payments).where(payments.c.payment_id == payment_id)).one()
        return row

    # --- the provider's event ids --------------------------------------------------------

    def event_taken(self, event_id: str) -> bool:
        with self.store.begin() as connection:
            found = connection.execute(
                select(payment_events.c.event_id).where(payment_events.c.event_id == event_id)
            ).first()
        return found is not None

    def take_event(self, event_id: str, account_id: str, now: datetime) -> bool:
        """Mark a provider's event taken, once its effect is committed; False when it was
        already (the provider sent it again meanwhile)."""
        with self.store.begin() as connection:
            return insert_once(
                connection,
                payment_events,
                {"event_id": event_id, "account_id": account_id, "received_at": now},
                payment_events.c.event_id == event_id,
            )


def _insert(connection: Connection) -> Any:
    dialect = connection.engine.dialect.name
    return (postgresql_insert if dialect == "postgresql" else sqlite_insert)(payments)


def _or(column: Any, flag: bool) -> Any:
    """A flag that, once set, stays set."""
    return true() if flag else column


def _at_least(column: Any, value: int) -> Any:
    return case((column < value, value), else_=column)


def _facts(row: Row[tuple[object, ...]]) -> tuple[object, ...]:
    return (row.paid, row.failed, row.refunded_minor, row.disputed_minor)


def _payment(row: Row[tuple[object, ...]]) -> Payment:
    currency = str(row.currency)
    amount = int(row.amount_minor)
    reversed_ = min(amount, int(row.refunded_minor) + int(row.disputed_minor))
    return Payment(
        payment_id=row.payment_id,
        account_id=row.account_id,
        amount=from_minor(amount, currency),
        currency=currency,
        status=row.status,
        source=row.source,
        reference=row.reference,
        received_at=row.received_at,
        changed_at=row.changed_at,
        paid=bool(row.paid),
        reversed=from_minor(reversed_, currency),
        journey=row.journey,
        told_received=bool(row.told_received),
        applied=bool(row.applied),
        told_reversed=from_minor(int(row.told_reversed_minor), currency),
        reversal_applied=from_minor(int(row.reversal_applied_minor), currency),
    )
