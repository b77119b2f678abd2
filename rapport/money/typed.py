"""Reading an amount as a customer types it on the portal, in their locale.

`1,200` is twelve hundred for an `en-US` customer, and for an `es-ES` one it could be
twelve hundred or one point two: it is refused, with both readings offered, rather
than guessed. `1.200,50` is 1200.50 in Spain and refused in the United States (with
`1,200.50` offered). A currency sign or code of the account's own currency is allowed
(`$20`, `20 €`, `USD 20`); another currency's is refused. Babel's strict parser (CLDR's
symbols and grouping for the locale) does the reading; this module decides what is
too uncertain to take.
"""

from __future__ import annotations

import unicodedata
from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.numbers import (
    NumberFormatError,
    format_decimal,
    get_currency_symbol,
    get_decimal_symbol,
    get_group_symbol,
    parse_decimal,
)

from rapport.money.amounts import MAX_INTEGER_DIGITS, BadAmount, bounds_problem, places
from rapport.money.currency import in_units, precision

_APOSTROPHES = "'\u2019"  # Swiss groups: 1'200 or 1\u2019200
_SEPARATORS = frozenset("., " + _APOSTROPHES)


def read_typed(text: str, locale: str, currency: str) -> Decimal:
    """The amount the customer typed, with the currency's places (`20` -> `20.00` USD),
    or BadAmount naming what is wrong (`kind`, and `suggestions` when ambiguous). Zero is
    returned (the caller's minimum refuses it); a sign is refused."""
    where = _locale(locale)
    typed = unicodedata.normalize("NFKC", text).strip()
    if not typed or len(typed) > 40:
        raise BadAmount(f"{text!r} is not an amount", "not_a_number")
    number = _without_currency(typed, where, currency)
    decimal, group = get_decimal_symbol(where), get_group_symbol(where)
    allowed = _SEPARATORS | {decimal, group}
    if (
        not number
        or not number[0].isascii()
        or not all((c.isascii() and c.isdigit()) or c in allowed for c in number)
    ):
        raise BadAmount(f"{text!r} is not an amount", "not_a_number")
    number = _groups_as_the_locale_writes_them(number, decimal, group)
    try:
        value = parse_decimal(number, locale=where, strict=True)
    except NumberFormatError:
        raise _unreadable(text, number, where, currency) from None
    if _decimal_or_thousands(number, decimal, group, currency):
        whole = Decimal(number.replace(decimal, ""))
        raise _ambiguous(text, [whole, in_units(value, currency)], where, currency)
    if bounds_problem(value) is not None and places(value) <= precision(currency):
        raise BadAmount(
            f"{text!r} has more than {MAX_INTEGER_DIGITS} digits before the point",
            "out_of_bounds",
        )
    if places(value) > precision(currency):
        raise BadAmount(f"{text!r} has more decimal places than {currency} allows", "too_precise")
    return in_units(value, currency)


def _locale(tag: str) -> Locale:
    try:
        return Locale.parse(tag.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en_US")


def _without_currency(typed: str, where: Locale, currency: str) -> str:
    """The number without the account's currency sign or code, before or after it."""
    signs = {
        unicodedata.normalize("NFKC", get_currency_symbol(currency, locale=name))
        for name in (where, "en")
    } | {currency.upper(), currency.lower()}
    if any(sign.endswith("$") for sign in signs):  # US$ 20, MX$20, $20
        signs |= {"$", f"{currency[:2].upper()}$"}
    for sign in sorted(signs, key=len, reverse=True):
        if typed.startswith(sign):
            typed = typed[len(sign) :].strip()
            break
        if typed.endswith(sign):
            typed = typed[: -len(sign)].strip()
            break
    if any(unicodedata.category(c) == "Sc" for c in typed):
        raise BadAmount(f"that amount is not in {currency}", "other_currency")
    return typed


def _groups_as_the_locale_writes_them(number: str, decimal: str, group: str) -> str:
    """Spaces and apostrophes typed between digit groups become the locale's own group
    sign (a French `1 200` is typed with a plain space, CLDR writes a narrow one), so the
    strict parser checks them as groups."""
    spaced = {" ", "\u00a0", "\u202f"}
    out = []
    for c in number:
        if c in spaced or (c in _APOSTROPHES and c != decimal):
            out.append(group)
        else:
            out.append(c)
    return "".join(out)


def _decimal_or_thousands(number: str, decimal: str, group: str, currency: str) -> bool:
    """One separator, the locale's decimal sign, three digits after it, and both readings
    possible: `1,200` in Spain is 1.20 euros, but a customer may have meant twelve
    hundred. (`20.001` dollars has one possible reading only, and is too precise; a
    currency with three places, KWD, reads it as decimals, as its customers write it.)"""
    if decimal == group or [c for c in number if not c.isdigit()] != [decimal]:
        return False
    whole, fraction = number.split(decimal)
    fits = len(fraction.rstrip("0")) <= precision(currency)
    return len(fraction) == 3 and precision(currency) < 3 and fits and whole not in ("", "0")


def _unreadable(text: str, number: str, where: Locale, currency: str) -> BadAmount:
    """Not a number as the locale writes one: the readings a customer may have meant (the
    last separator as the decimal sign after thousands groups, or every one a thousands
    group); none when the groups are not groups (`20.00.00` is no 2,000.00)."""
    parts = _split(number)
    readings: list[Decimal] = []
    grouped = 1 <= len(parts[0]) <= 3 and all(len(p) == 3 for p in parts[1:-1])
    if len(parts) > 1 and 0 < len(parts[-1]) <= precision(currency) and grouped:
        readings.append(Decimal(f"{''.join(parts[:-1])}.{parts[-1]}"))
    if len(parts) > 1 and all(len(p) == 3 for p in parts[1:]) and parts[0].lstrip("0"):
        readings.append(Decimal("".join(parts)))
    return _ambiguous(text, readings, where, currency)


def _ambiguous(text: str, readings: list[Decimal], where: Locale, currency: str) -> BadAmount:
    """The readings a customer may have meant, written as their locale writes them."""
    pattern = "#,##0" + ("." + "0" * precision(currency) if precision(currency) else "")
    shown = tuple(
        format_decimal(value, format=pattern, locale=where)
        for value in dict.fromkeys(readings)
        if bounds_problem(value) is None and value > 0
    )
    if not shown:
        return BadAmount(f"{text!r} is not an amount", "not_a_number")
    return BadAmount(
        f"{text!r} could mean {' or '.join(shown)}: write it as one of those",
        "ambiguous",
        shown,
    )


def _split(number: str) -> list[str]:
    parts, current = [], ""
    for c in number:
        if c.isdigit():
            current += c
        else:
            parts.append(current)
            current = ""
    return [*parts, current]
