"""What the payment provider can charge, per currency: its own count of minor units where
it differs from ISO 4217's, and its minimum charge. Checked before a customer is sent to
the provider's page, so nobody meets a refusal there. The figures are Stripe's (its
"Supported currencies" page); the dev stand-in follows them too."""

from __future__ import annotations

from decimal import Decimal

from rapport.money import NotInUnits, to_minor, too_precise

# Stripe's API writes every currency with two places (hundredths), whatever ISO 4217 or
# CLDR says (rupiah, Colombian pesos, forints...), except its zero-decimal currencies and
# its three-decimal ones (whose last digit must be 0).
ZERO_DECIMAL = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND"}
    | {"VUV", "XAF", "XOF", "XPF"}
)
THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})
WHOLE_UNITS = frozenset({"ISK"})  # two places at Stripe, but only whole kronur are charged

MINIMUM_CHARGE: dict[str, Decimal] = {
    code: Decimal(amount)
    for code, amount in {
        "USD": "0.50",
        "AED": "2.00",
        "AUD": "0.50",
        "BGN": "1.00",
        "BRL": "0.50",
        "CAD": "0.50",
        "CHF": "0.50",
        "CZK": "15.00",
        "DKK": "2.50",
        "EUR": "0.50",
        "GBP": "0.30",
        "HKD": "4.00",
        "HUF": "175",
        "INR": "0.50",
        "JPY": "50",
        "MXN": "10.00",
        "MYR": "2.00",
        "NOK": "3.00",
        "NZD": "0.50",
        "PLN": "2.00",
        "RON": "2.00",
        "SEK": "3.00",
        "SGD": "0.50",
        "THB": "10.00",
    }.items()
}


def provider_exponent(currency: str) -> int:
    """How many places the provider's API writes `currency` with."""
    code = currency.upper()
    if code in ZERO_DECIMAL:
        return 0
    return 3 if code in THREE_DECIMAL else 2


def provider_amount(amount: Decimal, currency: str) -> int:
    """`amount` as the provider's API takes it (`unit_amount`, `amount_total`);
    NotInUnits when it is finer than the provider's units (4 places of CLF)."""
    return to_minor(amount, currency, provider_exponent(currency))


def minimum_charge(currency: str) -> Decimal | None:
    return MINIMUM_CHARGE.get(currency.upper())


def uncharged(amount: Decimal, currency: str) -> str | None:
    """Why the provider would refuse to charge `amount`, or None."""
    code = currency.upper()
    problem = too_precise(amount, code)
    if problem is not None:
        return problem
    least = minimum_charge(code)
    if least is not None and amount < least:
        return f"the least the provider charges in {code} is {least}"
    try:
        minor = provider_amount(amount, code)
    except NotInUnits:
        return f"the provider charges {code} with {provider_exponent(code)} decimal places"
    if code in THREE_DECIMAL and minor % 10:
        return f"the provider charges {code} in steps of 0.010"
    if code in WHOLE_UNITS and minor % 100:
        return f"the provider charges whole units of {code}"
    return None
