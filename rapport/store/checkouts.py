"""Checkouts the portal started at the payment provider, by a server-side reference: the
return URLs carry the reference, never the portal's token, and the page after paying
reads what was paid from here. And the payment-method references a setup checkout
recorded (the provider's ids: never card data)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, String, Table, select, update

from rapport.store.database import Store
from rapport.store.schema import Moment, insert_once, metadata

checkouts = Table(
    "checkouts",
    metadata,
    Column("reference", String(32), primary_key=True),
    Column("account_id", String(128), nullable=False, index=True),
    Column("link_hash", String(64), nullable=False),  # the portal link it was started from
    Column("mode", String(8), nullable=False),  # payment | setup
    Column("currency", String(3), nullable=False),
    Column("amount_minor", BigInteger, nullable=True),
    Column("locale", String(16), nullable=True),  # the language the customer paid in
    Column("timezone", String(64), nullable=True),  # theirs, for the receipt's date
    Column("session_id", String(255), nullable=True, index=True),  # the provider's session
    Column("session_url", String(2048), nullable=True),
    Column("payment_id", String(128), nullable=True),  # the payment it became
    Column("created_at", Moment, nullable=False),
    Column("expires_at", Moment, nullable=False),
    Column("completed_at", Moment, nullable=True),
)

payment_methods = Table(
    "payment_methods",
    metadata,
    Column("reference", String(255), primary_key=True),  # the provider's id for it
    Column("account_id", String(128), nullable=False, index=True),
    Column("customer", String(255), nullable=True),  # the provider's customer id
    Column("recorded_at", Moment, nullable=False),
)


@dataclass(frozen=True)
class Checkout:
    reference: str
    account_id: str
    link_hash: str
    mode: str
    currency: str
    amount_minor: int | None
    locale: str | None
    timezone: str | None
    created_at: datetime
    expires_at: datetime
    session_id: str | None = None
    session_url: str | None = None
    payment_id: str | None = None
    completed_at: datetime | None = None


class CheckoutBook:
    def __init__(self, store: Store) -> None:
        self.store = store

    def open(self, checkout: Checkout) -> None:
        with self.store.begin() as connection:
            insert_once(
                connection,
                checkouts,
                {
                    "reference": checkout.reference,
                    "account_id": checkout.account_id,
                    "link_hash": checkout.link_hash,
                    "mode": checkout.mode,
                    "currency": checkout.currency,
                    "amount_minor": checkout.amount_minor,
                    "locale": checkout.locale,
                    "timezone": checkout.timezone,
                    "created_at": checkout.created_at,
                    "expires_at": checkout.expires_at,
                },
                checkouts.c.reference == checkout.reference,
            )

    def started(self, reference: str, session_id: str, session_url: str) -> None:
        """The provider's session for the checkout."""
        with self.store.begin() as connection:
            connection.execute(
                update(checkouts)
                .where(checkouts.c.reference == reference)
                .values(session_id=session_id, session_url=session_url)
            )

    def completed(self, session_id: str, payment_id: str | None, now: datetime) -> None:
        """The provider says the session completed (with this payment, in payment mode)."""
        with self.store.begin() as connection:
            connection.execute(
                update(checkouts)
                .where(checkouts.c.session_id == session_id, checkouts.c.completed_at.is_(None))
                .values(payment_id=payment_id, completed_at=now)
            )

    def find(self, reference: str) -> Checkout | None:
        return self._one(checkouts.c.reference == reference)

    def by_session(self, session_id: str) -> Checkout | None:
        """The checkout the provider's session was made for; None: not Rapport's."""
        return self._one(checkouts.c.session_id == session_id)

    def _one(self, where: Any) -> Checkout | None:
        with self.store.begin() as connection:
            row = connection.execute(select(checkouts).where(where).limit(1)).first()
        return _checkout(row) if row is not None else None

    def open_for(
        self, link_hash: str, mode: str, amount_minor: int | None, now: datetime
    ) -> Checkout | None:
        """A session this link started for the same thing that is not finished and has
        time left: a second tap, or a second tab, goes back to it instead of paying twice."""
        with self.store.begin() as connection:
            row = connection.execute(
                select(checkouts)
                .where(
                    checkouts.c.link_hash == link_hash,
                    checkouts.c.mode == mode,
                    checkouts.c.amount_minor.is_(None)
                    if amount_minor is None
                    else checkouts.c.amount_minor == amount_minor,
                    checkouts.c.completed_at.is_(None),
                    checkouts.c.session_url.is_not(None),
                    checkouts.c.expires_at > now,
                )
                .order_by(checkouts.c.created_at.desc())
                .limit(1)
            ).first()
        return _checkout(row) if row is not None else None

    def record_method(
        self, reference: str, account_id: str, customer: str | None, now: datetime
    ) -> bool:
        """Keep a payment-method reference; False when it was kept before."""
        with self.store.begin() as connection:
            return insert_once(
                connection,
                payment_methods,
                {
                    "reference": reference,
                    "account_id": account_id,
                    "customer": customer,
                    "recorded_at": now,
                },
                payment_methods.c.reference == reference,
            )

    def methods(self, account_id: str) -> list[tuple[str, str | None, datetime]]:
        """(reference, customer, recorded at) of the account's payment methods, newest first."""
        with self.store.begin() as connection:
            rows = connection.execute(
                select(payment_methods)
                .where(payment_methods.c.account_id == account_id)
                .order_by(payment_methods.c.recorded_at.desc())
            )
            return [(r.reference, r.customer, r.recorded_at) for r in rows]


def _checkout(row: object) -> Checkout:
    return Checkout(**{column.name: getattr(row, column.name) for column in checkouts.columns})
