"""Splitting an amount into installments, in whole minor units of its currency."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from rapport.money.currency import from_minor, to_minor

CENT = Decimal("0.01")


def installments(total: Decimal, count: int, currency: str) -> list[Decimal]:
    """`count` equal installments of `total`, each a whole number of the currency's minor
    units, the remainder on the last: 1000 JPY in 3 is 333, 333, 334; 100.00 USD in 3
    is 33.33, 33.33, 33.34. They add up to `total` exactly."""
    if count < 1:
        raise ValueError("a plan has at least one installment")
    minor = to_minor(total, currency)
    each = minor // count
    last = minor - each * (count - 1)
    return [from_minor(each, currency)] * (count - 1) + [from_minor(last, currency)]


def installments_in_cents(total: Decimal, count: int) -> list[Decimal]:
    """The rule before this module: cents for every currency (333.33 JPY). Kept only so
    journeys that offered a plan under it replay as they ran (`workflow.patched`)."""
    each = (total / count).quantize(CENT, rounding=ROUND_DOWN)
    return [each] * (count - 1) + [total - each * (count - 1)]
