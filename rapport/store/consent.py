"""Consent entries: every opt-out, cease and opt-in, for an account or for an address,
with where it came from and when. Nothing is updated or deleted: the record is the
entries, read in order (`rapport.consent` folds them into an answer)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, Connection, Integer, String, Table, or_, select

from rapport.store.schema import Moment, insert_once, metadata

REFERENCE_LENGTH = 160
consent_entries = Table(
    "consent_entries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(128), nullable=True, index=True),
    Column("address", String(320), nullable=True, index=True),
    Column("channel", String(16), nullable=False),  # a channel, or "all"
    Column("action", String(16), nullable=False),  # opt_out, opt_in, cease
    Column("source", String(32), nullable=False),  # sms_keyword, email_one_click, portal, ...
    Column("at", Moment, nullable=False),
    Column("reference", String(REFERENCE_LENGTH), nullable=True, unique=True),  # the SMS's id
)


@dataclass(frozen=True)
class ConsentEntry:
    account_id: str | None
    address: str | None
    channel: str
    action: str
    source: str
    at: datetime
    reference: str | None = None


def kept_reference(reference: str) -> str:
    """A reference as the column holds it: a longer one (an API opt-out's carries the
    caller's Idempotency-Key, up to 255 characters) by its digest, the same for every
    retry. PostgreSQL refused the long one outright: the opt-out answered 503 forever."""
    if len(reference) <= REFERENCE_LENGTH:
        return reference
    return "sha256:" + hashlib.sha256(reference.encode()).hexdigest()


def add_entry(connection: Connection, entry: ConsentEntry) -> bool:
    """Append an entry; False when its reference is already there (a provider's retry)."""
    reference = kept_reference(entry.reference) if entry.reference is not None else None
    values = {
        "account_id": entry.account_id,
        "address": entry.address,
        "channel": entry.channel,
        "action": entry.action,
        "source": entry.source,
        "at": entry.at,
        "reference": reference,
    }
    if reference is None:
        connection.execute(consent_entries.insert().values(**values))
        return True
    return insert_once(
        connection, consent_entries, values, consent_entries.c.reference == reference
    )


def entries_for(
    connection: Connection, account_id: str | None, addresses: tuple[str, ...] = ()
) -> list[ConsentEntry]:
    """Every entry for the account or any of the addresses, oldest first."""
    conditions = []
    if account_id is not None:
        conditions.append(consent_entries.c.account_id == account_id)
    if addresses:
        conditions.append(consent_entries.c.address.in_(addresses))
    if not conditions:
        return []
    rows = connection.execute(
        select(consent_entries)
        .where(or_(*conditions))
        .order_by(consent_entries.c.at, consent_entries.c.id)
    )
    return [
        ConsentEntry(
            account_id=r.account_id,
            address=r.address,
            channel=r.channel,
            action=r.action,
            source=r.source,
            at=r.at,
            reference=r.reference,
        )
        for r in rows
    ]
