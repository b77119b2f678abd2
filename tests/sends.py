"""Build a `send_message` request in a line, as the workflow would (the journey pinned in
this process's registry, the account's fields, a window that is open)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from rapport.catalog import registry
from rapport.catalog.pinned import PinnedJourney
from rapport.contract.activities import SendMessage
from rapport.language.account import Account
from rapport.language.models import JourneyDefinition
from rapport.language.templates import TemplateBundle
from tests.scenarios import account

SENT_AT = datetime(2028, 3, 1, 14, tzinfo=UTC)


def pin(templates: dict[str, str]) -> PinnedJourney:
    name, channel = next(iter(templates)).split(".")[:2]
    definition = JourneyDefinition.model_validate(
        {
            "id": "sends",
            "version": 1,
            "name": "Sends",
            "steps": [{"id": "reminder", "send": {"channel": channel, "template": name}}],
        }
    )
    pinned = PinnedJourney.of(definition, TemplateBundle(templates), "tests")
    registry.remember(pinned)
    return pinned


def send_message(
    templates: dict[str, str],
    *,
    channel: str,
    template: str,
    key: str = "k-1",
    customer: Account | None = None,
    balance: str = "120.50",
    **changes: Any,
) -> SendMessage:
    pinned = pin(templates)
    who = customer or Account.model_validate(account())
    return SendMessage(
        key=key,
        journey=pinned.pin,
        step="reminder",
        channel=channel,
        template=template,
        account_id=who.account_id,
        to=who.address_for(channel) or "",
        fields=who.model_dump(mode="json"),
        balance=Decimal(balance),
        opening_balance=who.balance,
        deliver_by=SENT_AT + timedelta(days=3650),
        **changes,
    )
