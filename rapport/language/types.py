"""Small value types shared by the definition and the account."""

from __future__ import annotations

import re
from datetime import time
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)

from rapport.channels import NAMES


def _choices(names: tuple[str, ...]) -> str:
    quoted = [repr(n) for n in names]
    return ", ".join(quoted[:-1]) + f" or {quoted[-1]}" if len(quoted) > 1 else quoted[0]


def _known_channel(value: str) -> str:
    if value not in NAMES:
        raise ValueError(f"{value!r} is not allowed: {_choices(NAMES)}")
    return value


def _cap_channel(value: str) -> str:
    if value != "all" and value not in NAMES:
        raise ValueError(f"{value!r} is not allowed: {_choices(('all', *NAMES))}")
    return value


# A channel name from the registry in `rapport.channels`: a new channel needs no change here.
Channel = Annotated[str, AfterValidator(_known_channel),
                    WithJsonSchema({"type": "string", "enum": list(NAMES)})]
CapChannel = Annotated[str, AfterValidator(_cap_channel),
                       WithJsonSchema({"type": "string", "enum": ["all", *NAMES]})]

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)]
Expression = Annotated[str, StringConstraints(min_length=1)]


def _no_float(value: Any) -> Any:
    if isinstance(value, float):
        raise ValueError(f'write money as a decimal string such as "{value:.2f}", never a float')
    if isinstance(value, bool):
        raise ValueError("money must be a decimal string such as \"25.00\"")
    return value


def _finite(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("money must be a finite amount")
    return value


Money = Annotated[
    Decimal,
    BeforeValidator(_no_float),
    AfterValidator(_finite),
    PlainSerializer(lambda d: str(d), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+(\.\d+)?$",
                    "description": "a decimal amount as a string, never a float",
                    "examples": ["182.40"]}),
]

_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def _clock(value: Any) -> Any:
    if isinstance(value, time):
        return value
    if isinstance(value, str) and _CLOCK.match(value):
        hours, minutes = value.split(":")
        return time(int(hours), int(minutes))
    raise ValueError(f"{value!r} is not a clock time: write HH:MM, e.g. \"08:00\"")


ClockTime = Annotated[
    time,
    BeforeValidator(_clock),
    PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str),
]
