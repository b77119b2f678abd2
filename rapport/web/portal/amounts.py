"""What a part payment may be: read as the customer typed it in their locale
(`rapport.money.read_typed`), then within the journey's bounds and what the provider
can charge."""

from __future__ import annotations

from decimal import Decimal

from rapport.contract.journey import JourneyStatus
from rapport.money import BadAmount, read_typed, unit
from rapport.payments.limits import minimum_charge, uncharged


def minimum_part(status: JourneyStatus) -> Decimal:
    """The least a part payment may be: the journey's minimum due when it is below the
    balance, else one minor unit of the currency; never less than the provider charges."""
    currency = status.currency or "USD"
    least = max(unit(currency), minimum_charge(currency) or Decimal(0))
    if status.minimum_due and least <= status.minimum_due < status.balance:
        return status.minimum_due
    return least


def part_amount(
    text: str, status: JourneyStatus, locale: str
) -> tuple[str | None, Decimal, tuple[str, ...]]:
    """(problem, amount, readings): the amount as the customer typed it in their locale
    (an ambiguous one is refused with its readings), then the journey's bounds, then
    what the provider can charge."""
    currency = status.currency or "USD"
    try:
        amount = read_typed(text, locale, currency)
    except BadAmount as bad:
        kind = {"out_of_bounds": "too_large"}.get(bad.kind, bad.kind)
        return kind, Decimal(0), bad.suggestions
    if amount < minimum_part(status):
        return "too_small", amount, ()
    if amount > status.balance:
        return "too_large", amount, ()
    return chargeable(amount, status), amount, ()


def chargeable(amount: Decimal, status: JourneyStatus) -> str | None:
    """`not_chargeable` when the provider would refuse to charge `amount`."""
    return None if uncharged(amount, status.currency or "USD") is None else "not_chargeable"
