"""An amount as a customer of a locale reads it: Babel's `format_currency` (CLDR's
pattern, symbol and digits for the locale), plus CLDR's currency spacing, which Babel
leaves out.

CLDR writes a no-break space between a currency sign that ends (or starts) in a letter
and the digits beside it (`currencySpacing`: a sign character that is neither a symbol
nor a space, next to a digit, gets U+00A0; every locale CLDR ships keeps root's rule).
So es-MX reads `USD 300.00`, as ICU and browsers write it, where Babel alone gives
`USD300.00`; `$300.00`, `US$300.00` and `300,00 €` are unchanged.
"""

from __future__ import annotations

import unicodedata
from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency, get_currency_symbol

NO_BREAK_SPACE = "\u00a0"


def format_money(amount: Decimal, currency: str, locale: str | Locale) -> str:
    """`Decimal('300'), 'USD', 'es-MX'` -> `'USD\\xa0300.00'`; `'en-US'` -> `'$300.00'`."""
    where = _locale(locale)
    text = format_currency(amount, currency, locale=where)
    sign = get_currency_symbol(currency, locale=where)
    at = text.find(sign) if sign else -1
    if at < 0:
        return text
    end = at + len(sign)
    if end < len(text) and _spaced(sign[-1], text[end]):
        text = text[:end] + NO_BREAK_SPACE + text[end:]
    if at > 0 and _spaced(sign[0], text[at - 1]):
        text = text[:at] + NO_BREAK_SPACE + text[at:]
    return text


def _spaced(sign: str, beside: str) -> bool:
    """CLDR root's `currencyMatch` (`[[:^S:]&[:^Z:]]`) and `surroundingMatch` (`[:digit:]`)."""
    category = unicodedata.category(sign)
    return category[0] not in "SZ" and unicodedata.category(beside) == "Nd"


def _locale(locale: str | Locale) -> Locale:
    if isinstance(locale, Locale):
        return locale
    try:
        return Locale.parse(locale.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en_US")
