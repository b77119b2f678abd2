"""What the provider can charge: its own minor units per currency (Stripe's), and its
minimum charge, checked before a customer is sent to its page."""

from __future__ import annotations

from decimal import Decimal

import pytest

from rapport.payments.limits import provider_amount, provider_exponent, uncharged


@pytest.mark.parametrize(
    ("currency", "exponent", "amount", "minor"),
    [
        ("USD", 2, "300.00", 30000),
        ("JPY", 0, "1000", 1000),
        ("KWD", 3, "1.230", 1230),
        ("HUF", 2, "1000", 100000),  # two places at Stripe, whole forint in ISO 4217 (CLDR)
        ("UGX", 0, "5000", 5000),
        ("IDR", 2, "150000", 15000000),  # whole rupiah in CLDR, hundredths at Stripe
        ("COP", 2, "85000", 8500000),
        ("ISK", 2, "500", 50000),
        ("CLF", 2, "1.2300", 123),  # four places in ISO 4217, two at Stripe
    ],
)
def test_amounts_in_the_providers_minor_units(
    currency: str, exponent: int, amount: str, minor: int
) -> None:
    assert provider_exponent(currency) == exponent
    assert provider_amount(Decimal(amount), currency) == minor


@pytest.mark.parametrize(
    ("amount", "currency", "says"),
    [
        ("0.49", "USD", "the least the provider charges in USD is 0.50"),
        ("0.50", "USD", None),
        ("0.29", "GBP", "the least the provider charges in GBP is 0.30"),
        ("49", "JPY", "the least the provider charges in JPY is 50"),
        ("1.234", "KWD", "the provider charges KWD in steps of 0.010"),
        ("1.230", "KWD", None),
        ("0.001", "USD", "0.001 has more decimal places than USD allows (2)"),
        ("0.01", "XYZ", None),  # no known minimum: the provider decides
        ("1.2345", "CLF", "the provider charges CLF with 2 decimal places"),  # never rounded
        ("150000", "IDR", None),
    ],
)
def test_what_the_provider_would_refuse_is_named(
    amount: str, currency: str, says: str | None
) -> None:
    assert uncharged(Decimal(amount), currency) == says
