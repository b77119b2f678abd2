"""Which journey and which segment: the `entry` and `segments` rules.

Pure functions over the account and the journey's facts, used by the catalog
(choosing a journey when one starts), by the workflow (its segment), by `journey
preview` and by the checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from rapport.language.account import Account
from rapport.language.expressions import ExpressionError, is_true
from rapport.language.models import DEFAULT_COUNTRIES, JourneyDefinition

DEFAULT_SEGMENT = "default"


class JourneyFacts(BaseModel):
    """`journey.*` in expressions and templates (docs/designing-journeys.md, "Facts")."""

    messages_sent: int = 0
    days_elapsed: int = 0
    engaged: bool = False  # opened, clicked or replied
    last_channel: str | None = None
    step: str | None = None
    amount_paid: Decimal = Decimal(0)  # counted by this journey, less what went back
    payments: int = 0  # counted by this journey, less those that went back in full
    replied: bool = False  # the customer got in touch: a text back, or on the portal


def expression_context(
    account: Account, balance: Decimal, segment: str, facts: JourneyFacts
) -> dict[str, Any]:
    view = account.model_dump(mode="python")
    view["balance"] = balance
    return {"account": view, "segment": segment, "journey": facts.model_dump()}


def choose_segment(
    definition: JourneyDefinition, context: dict[str, Any], legacy: bool = False
) -> tuple[str, list[str]]:
    """The first segment whose `when` holds, and any expression errors met on the way."""
    errors: list[str] = []
    for segment in definition.segments:
        try:
            if is_true(segment.when, context, legacy):
                return segment.id, errors
        except ExpressionError as exc:
            errors.append(f"segments.{segment.id}: {exc}")
    return DEFAULT_SEGMENT, errors


def country_of(account: Account) -> str:
    """The account's country: its address's, or (no address) the engine's default, the
    United States, as every account was before addresses existed."""
    address = account.customer.address
    return address.country if address is not None else DEFAULT_COUNTRIES[0]


def serves(definition: JourneyDefinition, account: Account) -> bool:
    """Whether the journey may run for the account: its `countries` include the account's."""
    return country_of(account) in definition.reach()


def choose_journey(
    definitions: Sequence[JourneyDefinition], account: Account
) -> JourneyDefinition | None:
    """The matching `entry` with the highest priority (ties: the first id alphabetically),
    among the journeys whose `countries` include the account's."""
    context = expression_context(account, account.balance, DEFAULT_SEGMENT, JourneyFacts())
    matching = []
    for definition in definitions:
        if definition.entry is None or not serves(definition, account):
            continue
        try:
            if is_true(definition.entry.when, context):
                matching.append(definition)
        except ExpressionError:
            continue
    matching.sort(key=lambda d: (-(d.entry.priority if d.entry else 0), d.id))
    return matching[0] if matching else None
