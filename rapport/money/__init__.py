"""Money, in one place: a currency's minor units, amounts as people and programs write
them, conversion to and from minor units, and splitting an amount into installments.

Pure (no I/O, no Temporal), in the lowest layer, so the journey language, the policy
math, the contract, the workflows, the web app and billing all do money the same way.
Amounts are `Decimal`, never floats; a currency's minor units are ISO 4217's as CLDR
keeps them (through Babel): 2 for USD and EUR, 0 for JPY, 3 for KWD.

- `currency`: the minor units of a currency, exact conversion to and from them.
- `amounts`: the bounds of any amount, and reading one written by a program or a clerk.
- `typed`: reading what a customer types, in their locale (`1.200,50`, `$20`).
- `shown`: an amount as a customer of a locale reads it (Babel, with CLDR's currency
  spacing: `USD 300.00` in es-MX).
- `split`: installments in whole minor units, the remainder on the last.
"""

from rapport.money.amounts import (
    MAX_INTEGER_DIGITS,
    MAX_PLACES,
    BadAmount,
    bounds_problem,
    parse_amount,
    places,
)
from rapport.money.currency import (
    NotInUnits,
    from_minor,
    in_units,
    precision,
    to_minor,
    too_precise,
    unit,
)
from rapport.money.shown import format_money
from rapport.money.split import installments
from rapport.money.typed import read_typed

__all__ = [
    "MAX_INTEGER_DIGITS",
    "MAX_PLACES",
    "BadAmount",
    "NotInUnits",
    "bounds_problem",
    "format_money",
    "from_minor",
    "in_units",
    "installments",
    "parse_amount",
    "places",
    "precision",
    "read_typed",
    "to_minor",
    "too_precise",
    "unit",
]
