"""Small value types shared by the definition and the account."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import time
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

from babel import Locale
from pydantic import (
    AfterValidator,
    BeforeValidator,
    PlainSerializer,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
)

from rapport.channels import NAMES
from rapport.language.problems import did_you_mean
from rapport.money import bounds_problem

F = TypeVar("F", bound=Callable[[Any], Any])


def unless_trusted(check: F) -> Any:
    """A validator that does not run again on data the engine wrote after checking it
    (carried state, read with the `trusted` context): a check tightened later must not
    break the replay of a journey that passed the old one."""

    def run(value: Any, info: ValidationInfo) -> Any:
        if info.context and info.context.get("trusted"):
            return value
        return check(value)

    run.__name__ = check.__name__
    return run


# ISO 3166-1 alpha-2 codes: Babel's territories less its numeric regions and the codes
# ISO reserves for other uses (EU, EZ, QO, UN, ZZ, X*). Read once, outside any sandbox.
COUNTRIES = frozenset(
    code
    for code in map(str, Locale("en").territories)
    if len(code) == 2
    and code.isalpha()
    and code not in {"EU", "EZ", "QO", "UN", "ZZ"}
    and not code.startswith("X")
)


def _country(code: str) -> str:
    if code not in COUNTRIES:
        raise ValueError(f"{code!r} is not an ISO 3166-1 country code such as US, IE or GB")
    return code


Country = Annotated[str, AfterValidator(unless_trusted(_country))]


def _choices(names: tuple[str, ...]) -> str:
    quoted = [repr(n) for n in names]
    return ", ".join(quoted[:-1]) + f" or {quoted[-1]}" if len(quoted) > 1 else quoted[0]


def _not_a_channel(value: str, names: tuple[str, ...]) -> ValueError:
    hint = did_you_mean(value, names)
    if hint:  # "'emial' is not allowed; did you mean 'email'? (use 'email', ...)"
        return ValueError(f"{value!r} is not allowed{hint} (use {_choices(names)})")
    return ValueError(f"{value!r} is not allowed: {_choices(names)}")


def _known_channel(value: str) -> str:
    if value not in NAMES:
        raise _not_a_channel(value, NAMES)
    return value


def _cap_channel(value: str) -> str:
    if value != "all" and value not in NAMES:
        raise _not_a_channel(value, ("all", *NAMES))
    return value


# A channel name from the registry in `rapport.channels`: a new channel needs no change here.
Channel = Annotated[
    str,
    AfterValidator(unless_trusted(_known_channel)),
    WithJsonSchema({"type": "string", "enum": list(NAMES)}),
]
CapChannel = Annotated[
    str,
    AfterValidator(unless_trusted(_cap_channel)),
    WithJsonSchema({"type": "string", "enum": ["all", *NAMES]}),
]

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)]
Expression = Annotated[str, StringConstraints(min_length=1, max_length=2000)]


def _no_float(value: Any) -> Any:
    if isinstance(value, float):
        example = f"{value:.2f}" if math.isfinite(value) else "25.00"  # never "nan" or "inf"
        raise ValueError(f'write money as a decimal string such as "{example}", never a float')
    if isinstance(value, bool):
        raise ValueError('money must be a decimal string such as "25.00"')
    if isinstance(value, str) and len(value) > 40:
        raise ValueError('money must be a decimal string such as "25.00"')
    return value


def _bounded(value: Decimal) -> Decimal:
    problem = bounds_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


# Money in a model: a decimal string, bounded as every amount is (`rapport.money`); each
# currency's own places are checked where the currency is known (the account, a payment).
Money = Annotated[
    Decimal,
    BeforeValidator(unless_trusted(_no_float)),
    AfterValidator(unless_trusted(_bounded)),
    PlainSerializer(lambda d: str(d), return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^-?\d{1,12}(\.\d{1,4})?$",
            "description": "a decimal amount as a string (at most 12 digits before the "
            "point and the currency's minor units after it), never a "
            "float",
            "examples": ["182.40"],
        }
    ),
]

# The JSON Schemas of amounts that must be positive (a payment, an account's balance) or
# not negative (a balance now, a minimum due): an editor or a client generated from
# schemas/ refuses "-5.00" before it is sent. Money left plain (a balance after a
# payment, which may go below zero) keeps Money's own.
POSITIVE_PATTERN = (
    r"^(?:[1-9]\d{0,11}(?:\.\d{1,4})?|0\.(?:[1-9]\d{0,3}|0[1-9]\d{0,2}|00[1-9]\d?|000[1-9]))$"
)
NOT_NEGATIVE_PATTERN = r"^\d{1,12}(?:\.\d{1,4})?$"


def _amount_schema(pattern: str, what: str) -> WithJsonSchema:
    return WithJsonSchema(
        {
            "type": "string",
            "pattern": pattern,
            "description": f"a decimal amount {what} as a string (at most 12 digits before "
            "the point and the currency's minor units after it), never a float",
            "examples": ["182.40"],
        }
    )


POSITIVE_AMOUNT = _amount_schema(POSITIVE_PATTERN, "greater than zero")
NOT_NEGATIVE_AMOUNT = _amount_schema(NOT_NEGATIVE_PATTERN, "of zero or more")
CURRENCY_SCHEMA = WithJsonSchema(
    {
        "type": "string",
        "pattern": "^[A-Z]{3}$",
        "description": "an ISO 4217 currency code",
        "examples": ["USD"],
    }
)

_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def _clock(value: Any) -> Any:
    if isinstance(value, time):
        return value
    if isinstance(value, str) and _CLOCK.match(value):
        hours, minutes = value.split(":")
        return time(int(hours), int(minutes))
    raise ValueError(f'{value!r} is not a clock time: write HH:MM, e.g. "08:00"')


ClockTime = Annotated[
    time,
    BeforeValidator(_clock),
    PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str),
]
