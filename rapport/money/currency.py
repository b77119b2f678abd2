"""A currency's minor units, and exact conversion to and from them.

The only place that asks how many decimal places a currency has (ISO 4217, as CLDR
keeps it, through Babel). Nothing here rounds: an amount that is not a whole number of
minor units is refused (`NotInUnits`), so a conversion can never lose money.
"""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import get_currency_precision

from rapport.money.amounts import places


class NotInUnits(ValueError):
    """An amount that is not a whole number of the currency's minor units."""


def precision(currency: str) -> int:
    """How many decimal places `currency` has: 2 for USD, 0 for JPY, 3 for KWD (an
    unknown code: 2, CLDR's default)."""
    return int(get_currency_precision(currency.upper()))


def unit(currency: str) -> Decimal:
    """The smallest amount of `currency`: `0.01` USD, `1` JPY, `0.001` KWD."""
    return Decimal(1).scaleb(-precision(currency))


def too_precise(amount: Decimal, currency: str) -> str | None:
    """Why `amount` is written with more places than `currency` has, or None. Strict on
    purpose (`12.500` USD is refused): what others send says what they mean."""
    allowed = precision(currency)
    if places(amount) > allowed:
        return f"{amount} has more decimal places than {currency} allows ({allowed})"
    return None


def in_units(amount: Decimal, currency: str) -> Decimal:
    """`amount` written with exactly the currency's places, when it is numerically a whole
    number of minor units (`0E-8` -> `0.00`, `12.5000` -> `12.50` USD); else NotInUnits."""
    quantum = unit(currency)
    exact = amount.quantize(quantum) if amount.is_finite() else amount
    if not amount.is_finite() or exact != amount:
        raise NotInUnits(f"{amount} is not a whole number of {currency} minor units")
    return exact


def to_minor(amount: Decimal, currency: str, exponent: int | None = None) -> int:
    """`amount` in minor units: `300.00` USD -> 30000, `1000` JPY -> 1000. `exponent`:
    a payment provider's own count of places for the currency, where it differs; an
    amount finer than it (`1.2345` CLF in hundredths) is NotInUnits, never rounded."""
    places_ = precision(currency) if exponent is None else exponent
    scaled = in_units(amount, currency).scaleb(places_)
    if scaled != scaled.to_integral_value():
        raise NotInUnits(f"{amount} is not a whole number of {currency} in {places_} places")
    return int(scaled)


def from_minor(amount: int, currency: str, exponent: int | None = None) -> Decimal:
    """Minor units as an amount with the currency's places: 30000 USD -> `300.00`."""
    places_ = precision(currency) if exponent is None else exponent
    value = Decimal(amount).scaleb(-places_)
    try:
        return in_units(value, currency)
    except NotInUnits:
        return value  # a provider's finer unit (rare): exact, with its own places
