"""Money and dates in the customer's locale, through Babel (CLDR data)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from babel.dates import format_date as _babel_date

from rapport.money import format_money as _format_money


def babel_locale(tag: str) -> str:
    return tag.replace("-", "_")


def format_money(amount: Decimal, currency: str, locale: str) -> str:
    """`Decimal('1234.5'), 'EUR', 'fr-FR'` -> '1 234,50 €'; es-MX's dollars are
    'USD 300.00' (`rapport.money.format_money`: CLDR's spacing)."""
    return _format_money(amount, currency, babel_locale(locale))


def format_day(day: date, locale: str) -> str:
    """A date as the customer reads it: 'Mar 8, 2028' in en-US, '8 mars 2028' in fr-FR."""
    return _babel_date(day, format="medium", locale=babel_locale(locale))
