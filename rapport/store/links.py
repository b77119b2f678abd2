"""Links a message carries to the web app, by token: the portal's `{RAPPORT_PORTAL_URL}/r/
{token}` (one per message, purpose `respond`) and the email one-click unsubscribe `/u/
{token}` (purpose `unsubscribe`, RFC 8058). Only a hash of each token is kept: the store
alone cannot make a working link. A link has an account, a journey, a purpose, an expiry,
can be revoked, and (for the portal) keeps what the light identity check compares with,
itself hashed with the link secret, and how many checks were tried.

The address a message went to (for an opt-out from its page, and the unsubscribe page's
masked address) is kept sealed: encrypted with the codec's key ring by the `Sealer` the
caller hands over (`rapport.security.sealing`); without one it is not kept at all. A
copy of the store therefore cannot read a phone number, nor try the check's 10,000
last four digits offline."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, Connection, Integer, String, Table, Text, func, select, update
from sqlalchemy.exc import SQLAlchemyError

from rapport.store.database import Store, StoreUnavailable
from rapport.store.schema import Moment, Sealer, insert_once, metadata

links = Table(
    "links",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("account_id", String(128), nullable=False, index=True),
    Column("journey_id", String(64), nullable=False),
    Column("purpose", String(16), nullable=False),  # respond | unsubscribe
    Column("channel", String(16), nullable=False),
    Column("address_sealed", Text, nullable=True),  # see Sealer
    Column("created_at", Moment, nullable=False),
    Column("expires_at", Moment, nullable=False),
    Column("revoked_at", Moment, nullable=True),
    Column("check_kind", String(16), nullable=True),  # phone_last4 | email
    Column("check_hash", String(64), nullable=True),
    Column("locale", String(16), nullable=True),
    Column("failed_checks", Integer, nullable=False, server_default="0"),
    Column("opened_at", Moment, nullable=True),
)


@dataclass(frozen=True)
class Link:
    account_id: str
    journey_id: str
    purpose: str
    channel: str
    address: str | None
    expires_at: datetime
    check_kind: str | None = None
    check_hash: str | None = None
    locale: str | None = None
    failed_checks: int = 0
    opened: bool = False
    account_failed_checks: int = 0  # the tries all of the account's links have taken


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class LinkBook:
    def __init__(self, store: Store, sealer: Sealer | None = None) -> None:
        self.store, self.sealer = store, sealer

    def keep(
        self, token: str, link: Link, now: datetime, connection: Connection | None = None
    ) -> None:
        """Keep a link; keeping the same token again (a retried send) changes nothing.
        In `connection`'s transaction when given (the send's last look), else its own."""
        if connection is None:
            with self.store.begin() as own:
                self.keep(token, link, now, own)
            return
        digest = token_hash(token)
        insert_once(
            connection,
            links,
            {
                "token_hash": digest,
                "account_id": link.account_id,
                "journey_id": link.journey_id,
                "purpose": link.purpose,
                "channel": link.channel,
                "address_sealed": self._sealed(link.address),
                "created_at": now,
                "expires_at": link.expires_at,
                "check_kind": link.check_kind,
                "check_hash": link.check_hash,
                "locale": link.locale,
            },
            links.c.token_hash == digest,
        )

    def find(self, token: str, purpose: str, now: datetime) -> Link | None:
        """The live link behind a token: None when unknown, expired, revoked or for
        another purpose (the caller answers all of those the same way)."""
        others = links.alias("others")
        account_tries = (
            select(func.coalesce(func.sum(others.c.failed_checks), 0))
            .where(others.c.account_id == links.c.account_id)
            .scalar_subquery()
        )
        with self.store.begin() as connection:
            row = connection.execute(
                select(links, account_tries.label("account_tries")).where(
                    links.c.token_hash == token_hash(token)
                )
            ).first()
        if (
            row is None
            or row.purpose != purpose
            or row.revoked_at is not None
            or row.expires_at <= now
        ):
            return None
        return Link(
            account_id=row.account_id,
            journey_id=row.journey_id,
            purpose=row.purpose,
            channel=row.channel,
            address=self.sealer.open(row.address_sealed)
            if self.sealer and row.address_sealed
            else None,
            expires_at=row.expires_at,
            check_kind=row.check_kind,
            check_hash=row.check_hash,
            locale=row.locale,
            failed_checks=row.failed_checks,
            opened=row.opened_at is not None,
            account_failed_checks=int(row.account_tries),
        )

    def first_opening(self, token: str, now: datetime) -> bool:
        """Mark the link opened; True only the first time (one engagement per message,
        however many times or in however many processes it is opened)."""
        with self.store.begin() as connection:
            result = connection.execute(
                update(links)
                .where(links.c.token_hash == token_hash(token), links.c.opened_at.is_(None))
                .values(opened_at=now)
            )
            return bool(result.rowcount)

    def try_check(self, token: str, limit: int, account_limit: int | None = None) -> int | None:
        """Take one of the link's `limit` identity-check tries, before the answer is
        compared: the try's number (1 to `limit`), or None when none is left. With
        `account_limit`, also none once the account's links together have taken that
        many: each message is a link of its own, so links forwarded or leaked together
        would otherwise give five tries each.

        One UPDATE takes the try, guarded by both counts, so concurrent tries in any
        number of web processes never take more than the limits between them: SQLite
        runs a statement under its one writer's lock, and on PostgreSQL the account's
        links are locked first (FOR UPDATE) so that the UPDATE, a statement later, sees
        every other try. The count is read back in the same transaction (RETURNING
        would do too, but needs SQLite 3.35)."""
        digest = token_hash(token)
        try:
            with self.store.begin() as connection:
                account = connection.execute(
                    select(links.c.account_id).where(links.c.token_hash == digest)
                ).scalar()
                if account is None:
                    return None
                guards = [links.c.token_hash == digest, links.c.failed_checks < limit]
                if account_limit is not None:
                    connection.execute(
                        select(links.c.token_hash)
                        .where(links.c.account_id == account)
                        .order_by(links.c.token_hash)  # one order: no deadlock
                        .with_for_update()
                    ).all()
                    others = links.alias("others")
                    tried = (
                        select(func.coalesce(func.sum(others.c.failed_checks), 0))
                        .where(others.c.account_id == account)
                        .scalar_subquery()
                    )
                    guards.append(tried < account_limit)
                taken = connection.execute(
                    update(links).where(*guards).values(failed_checks=links.c.failed_checks + 1)
                ).rowcount
                if not taken:
                    return None
                count = connection.execute(
                    select(links.c.failed_checks).where(links.c.token_hash == digest)
                ).scalar_one()
        except SQLAlchemyError as exc:
            raise StoreUnavailable(f"check not counted: {type(exc).__name__}") from None
        return int(count)

    def check_passed(self, token: str) -> None:
        """Give back the try a right answer took: only wrong answers use the link up."""
        with self.store.begin() as connection:
            connection.execute(
                update(links)
                .where(links.c.token_hash == token_hash(token), links.c.failed_checks > 0)
                .values(failed_checks=links.c.failed_checks - 1)
            )

    def revoke(self, account_id: str, now: datetime) -> int:
        """Revoke the account's live links; how many."""
        with self.store.begin() as connection:
            result = connection.execute(
                update(links)
                .where(
                    links.c.account_id == account_id,
                    links.c.revoked_at.is_(None),
                    links.c.expires_at > now,
                )
                .values(revoked_at=now)
            )
            return int(result.rowcount)

    def _sealed(self, address: str | None) -> str | None:
        return self.sealer.seal(address) if self.sealer and address else None
