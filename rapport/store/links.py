"""Links a message carries to the web app, by token: `{RAPPORT_PORTAL_URL}/u/{token}` (the
email one-click unsubscribe, RFC 8058) today; the portal's `/r/{token}` to come. Only a
hash of each token is kept: the store alone cannot make a working link. A link has an
account, a journey, a purpose, an expiry, and can be revoked."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, String, Table, select, update

from rapport.store.database import Store
from rapport.store.schema import Moment, insert_once, metadata

links = Table(
    "links", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("account_id", String(128), nullable=False, index=True),
    Column("journey_id", String(64), nullable=False),
    Column("purpose", String(16), nullable=False),  # unsubscribe; later: respond
    Column("channel", String(16), nullable=False),
    Column("address", String(320), nullable=True),
    Column("created_at", Moment, nullable=False),
    Column("expires_at", Moment, nullable=False),
    Column("revoked_at", Moment, nullable=True),
)


@dataclass(frozen=True)
class Link:
    account_id: str
    journey_id: str
    purpose: str
    channel: str
    address: str | None
    expires_at: datetime


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class LinkBook:
    def __init__(self, store: Store) -> None:
        self.store = store

    def keep(self, token: str, link: Link, now: datetime) -> None:
        """Keep a link; keeping the same token again (a retried send) changes nothing."""
        digest = token_hash(token)
        with self.store.begin() as connection:
            insert_once(connection, links, {
                "token_hash": digest, "account_id": link.account_id,
                "journey_id": link.journey_id, "purpose": link.purpose,
                "channel": link.channel, "address": link.address, "created_at": now,
                "expires_at": link.expires_at}, links.c.token_hash == digest)

    def find(self, token: str, purpose: str, now: datetime) -> Link | None:
        """The live link behind a token: None when unknown, expired, revoked or for
        another purpose (the caller answers all of those the same way)."""
        with self.store.begin() as connection:
            row = connection.execute(select(links).where(
                links.c.token_hash == token_hash(token))).first()
        if row is None or row.purpose != purpose or row.revoked_at is not None \
                or row.expires_at <= now:
            return None
        return Link(account_id=row.account_id, journey_id=row.journey_id, purpose=row.purpose,
                    channel=row.channel, address=row.address, expires_at=row.expires_at)

    def revoke(self, account_id: str, now: datetime) -> int:
        with self.store.begin() as connection:
            result = connection.execute(update(links).where(
                links.c.account_id == account_id, links.c.revoked_at.is_(None))
                .values(revoked_at=now))
            return int(result.rowcount)
