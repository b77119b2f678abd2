"""Every address the store knows for an account, and where it learned it: the numbers
texts went to (`sms_recipients`), the addresses of the links messages carried (`links`:
every message sent keeps one, with its address sealed: read with the `sealer` of the
encryption keys, else not at all) and consent entries that name both. For `journey
consent`: an opt-out is often kept for an address, not an account."""

from __future__ import annotations

from sqlalchemy import select

from rapport.store.consent import consent_entries
from rapport.store.database import Store
from rapport.store.links import links
from rapport.store.recipients import sms_recipients
from rapport.store.schema import Sealer


def known_addresses(
    store: Store, account_id: str, sealer: Sealer | None = None
) -> dict[str, list[str]]:
    """address -> where it was seen (`texts`, `messages`, `consent`), in first-seen order."""
    found: dict[str, list[str]] = {}

    def seen(address: str | None, where: str) -> None:
        if address and where not in found.setdefault(address, []):
            found[address].append(where)

    with store.begin() as connection:
        for row in connection.execute(
            select(sms_recipients.c.address)
            .where(sms_recipients.c.account_id == account_id)
            .order_by(sms_recipients.c.first_at)
        ):
            seen(row.address, "texts")
        for row in connection.execute(
            select(links.c.address_sealed)
            .where(links.c.account_id == account_id, links.c.address_sealed.is_not(None))
            .order_by(links.c.created_at)
        ):
            seen(sealer.open(row.address_sealed) if sealer else None, "messages")
        for row in connection.execute(
            select(consent_entries.c.address).where(
                consent_entries.c.account_id == account_id,
                consent_entries.c.address.is_not(None),
            )
        ):
            seen(row.address, "consent")
    return found
