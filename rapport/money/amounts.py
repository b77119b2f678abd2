"""The bounds every amount keeps, and reading an amount as a program or a clerk writes
it (`45.00`): the contract's rule for any amount in a signal, the CLI, HTTP or a file."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

MAX_INTEGER_DIGITS = 12  # up to 999,999,999,999: larger is a data error, never a debt
MAX_PLACES = 4  # no currency has more minor units (ISO 4217); each currency's own is checked
_LIMIT = Decimal(10) ** MAX_INTEGER_DIGITS


class BadAmount(ValueError):
    """An amount refused, with what is wrong. `kind`: `not_a_number`, `out_of_bounds`,
    `too_precise`, `ambiguous` (typed so it could mean two amounts: `suggestions` holds
    both, written for the customer's locale) or `other_currency`."""

    def __init__(self, message: str, kind: str, suggestions: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.kind = kind
        self.suggestions = suggestions


def places(amount: Decimal) -> int:
    """How many decimal places `amount` is written with (`12.50` has 2, `1E+3` none)."""
    exponent = amount.as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def bounds_problem(amount: Decimal) -> str | None:
    """Why `amount` is outside what any amount may be, or None."""
    if not amount.is_finite():
        return "money must be a finite amount"
    if places(amount) > MAX_PLACES:
        return f"money has at most {MAX_PLACES} decimal places"
    if abs(amount) >= _LIMIT:
        return f"money has at most {MAX_INTEGER_DIGITS} digits before the decimal point"
    return None


def parse_amount(text: str) -> Decimal:
    """A payment amount as a program or a billing clerk writes it (`45.00`): positive, at
    most 12 digits before the point and 4 after; BadAmount says what is wrong. The
    currency's own minor units are checked where the currency is known (`too_precise`)."""
    try:
        value = Decimal(text) if len(text) <= 40 and text.isascii() else Decimal("NaN")
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value <= 0 or "e" in text.lower():
        raise BadAmount(
            f"{text!r} is not an amount: give a positive decimal such as 45.00", "not_a_number"
        )
    if bounds_problem(value) is not None:
        raise BadAmount(
            f"{text!r} is not an amount: at most {MAX_INTEGER_DIGITS} digits "
            f"before the point and {MAX_PLACES} after it",
            "out_of_bounds",
        )
    return value
