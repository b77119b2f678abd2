"""The consent book: what a customer said about being contacted, kept in the store so it
outlives any one journey. An opt-out for an address (a STOP from a phone) holds for every
account that uses the address; one for an account (the portal, an operator, billing)
holds on every address of that account; both until an opt-in says otherwise."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from rapport.channels.addresses import BadAddress, normalised
from rapport.contract import metrics
from rapport.contract.metrics import STOPS
from rapport.store.consent import ConsentEntry, add_entry, entries_for
from rapport.store.database import Store, StoreUnavailable

Action = Literal["opt_out", "opt_in", "cease"]
ALL = "all"


@dataclass(frozen=True)
class Refusal:
    """Why a message may not go: `ceased` or `opted_out`, with the entry that said so."""

    reason: Literal["ceased", "opted_out"]
    entry: ConsentEntry

    def detail(self) -> str:
        return f"{self.reason}: {self.entry.source} at {self.entry.at.isoformat()}"


class ConsentBook:
    def __init__(self, store: Store) -> None:
        self.store = store

    def record(
        self,
        action: Action,
        channel: str,
        source: str,
        *,
        account_id: str | None = None,
        address: str | None = None,
        reference: str | None = None,
        at: datetime | None = None,
    ) -> bool:
        """Commit one entry; False when `reference` was recorded before (a retry).
        Raises StoreUnavailable when it cannot commit: the caller must not say it did."""
        if account_id is None and address is None:
            raise ValueError("an entry is for an account, an address or both")
        kept = normalised(address) if address else None
        if address and kept is None:
            raise BadAddress(f"{address!r} is neither a phone number nor an email address")
        entry = ConsentEntry(
            account_id=account_id,
            address=kept,
            channel=channel,
            action=action,
            source=source,
            at=at or datetime.now(UTC),
            reference=reference,
        )
        try:
            with self.store.begin() as connection:
                added = add_entry(connection, entry)
        except SQLAlchemyError as exc:
            raise StoreUnavailable(f"consent not recorded: {type(exc).__name__}") from None
        if added and action != "opt_in":
            metrics.count(STOPS, source=source, kind=action, channel=channel)
        return added

    def refusal(
        self,
        account_id: str,
        channel: str,
        address: str | None,
        connection: Connection | None = None,
    ) -> Refusal | None:
        """Whether a message on `channel` to `address` for the account may go: the last
        entry that speaks for this channel (or all) wins. In `connection`'s transaction
        when given (the send's last look: its errors are the caller's), else its own."""
        kept = normalised(address) if address else None
        addresses = (kept,) if kept else ()
        found: Refusal | None = None
        listed = (
            self.entries(account_id, addresses)
            if connection is None
            else entries_for(connection, account_id, addresses)
        )
        for entry in listed:
            if entry.channel not in (channel, ALL):
                continue
            if entry.action == "opt_in":
                if found is None or found.reason != "ceased" or entry.channel == ALL:
                    found = None  # a cease is lifted only by an opt-in to everything
            else:
                found = Refusal("ceased" if entry.action == "cease" else "opted_out", entry)
        return found

    def entries(
        self, account_id: str | None, addresses: tuple[str, ...] = ()
    ) -> list[ConsentEntry]:
        try:
            with self.store.begin() as connection:
                return entries_for(connection, account_id, addresses)
        except SQLAlchemyError as exc:
            raise StoreUnavailable(f"consent not read: {type(exc).__name__}") from None
