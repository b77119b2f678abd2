"""Which journey and which segment: the `entry` and `segments` rules.

Pure functions over the account and the journey's facts, used by the
workflow (inside the sandbox), by `journey preview` and by the loader.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from rapport.language.account import Account
from rapport.language.expressions import ExpressionError, is_true
from rapport.language.models import JourneyDefinition

DEFAULT_SEGMENT = "default"


class JourneyFacts(BaseModel):
    """`journey.*` in expressions."""

    messages_sent: int = 0
    days_elapsed: int = 0
    engaged: bool = False
    last_channel: str | None = None
    step: str | None = None


def expression_context(
    account: Account, balance: Decimal, segment: str, facts: JourneyFacts
) -> dict[str, Any]:
    view = account.model_dump(mode="python")
    view["balance"] = balance
    return {"account": view, "segment": segment, "journey": facts.model_dump()}


def choose_segment(definition: JourneyDefinition, context: dict[str, Any]) -> tuple[str, list[str]]:
    """The first segment whose `when` holds, and any expression errors met on the way."""
    errors: list[str] = []
    for segment in definition.segments:
        try:
            if is_true(segment.when, context):
                return segment.id, errors
        except ExpressionError as exc:
            errors.append(f"segments.{segment.id}: {exc}")
    return DEFAULT_SEGMENT, errors


def choose_journey(
    definitions: Sequence[JourneyDefinition], account: Account
) -> JourneyDefinition | None:
    """The matching `entry` with the highest priority (ties: the first id alphabetically)."""
    context = expression_context(account, account.balance, DEFAULT_SEGMENT, JourneyFacts())
    matching = []
    for definition in definitions:
        if definition.entry is None:
            continue
        try:
            if is_true(definition.entry.when, context):
                matching.append(definition)
        except ExpressionError:
            continue
    matching.sort(key=lambda d: (-(d.entry.priority if d.entry else 0), d.id))
    return matching[0] if matching else None
