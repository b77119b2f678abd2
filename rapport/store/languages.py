"""The language the store last knew an account in: the locale kept with its most recent
link (every message sent keeps one, with the account's `customer.locale`). For what the
web app answers outside a journey: an SMS HELP, the unsubscribe page."""

from __future__ import annotations

from sqlalchemy import select

from rapport.store.database import Store
from rapport.store.links import links


def latest_locale(store: Store, account_ids: list[str]) -> str | None:
    """The locale of the newest link of any of the accounts; None when none is known."""
    if not account_ids:
        return None
    with store.begin() as connection:
        row = connection.execute(
            select(links.c.locale)
            .where(links.c.account_id.in_(account_ids), links.c.locale.is_not(None))
            .order_by(links.c.created_at.desc())
            .limit(1)
        ).first()
    return str(row.locale) if row is not None else None
