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

Channel = Literal["email", "sms", "voice", "letter", "push", "webhook"]
CHANNELS: tuple[Channel, ...] = ("email", "sms", "voice", "letter", "push", "webhook")

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
