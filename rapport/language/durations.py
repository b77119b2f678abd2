"""Durations as designers write them: `90m`, `36h`, `1d12h`, `2w`."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

_UNITS = {
    "w": timedelta(weeks=1),
    "d": timedelta(days=1),
    "h": timedelta(hours=1),
    "m": timedelta(minutes=1),
}
_PART = re.compile(r"(\d+)([wdhm])")
PATTERN = r"^(0|(\d+w)?(\d+d)?(\d+h)?(\d+m)?)$"
LONGEST = timedelta(days=366)  # a journey waits at most a year at a time
_WHOLE = re.compile(PATTERN)


def parse_duration(text: str) -> timedelta:
    """Parse `1d12h` into a timedelta; units in the order w, d, h, m."""
    text = text.strip()
    if text == "0":
        return timedelta()
    if not text or not _WHOLE.match(text):
        raise ValueError(
            f"{text!r} is not a duration: write a number and a unit (m, h, d, w), "
            "largest first, e.g. 90m, 36h, 1d12h, 2w"
        )
    parts = _PART.findall(text)
    if any(len(n) > 6 for n, _ in parts):
        raise ValueError(f"{text!r} is longer than a journey may wait: at most {LONGEST.days}d")
    total = sum((int(n) * _UNITS[u] for n, u in parts), timedelta())
    if total > LONGEST:
        raise ValueError(f"{text!r} is longer than a journey may wait: at most {LONGEST.days}d")
    return total


def format_duration(value: timedelta) -> str:
    """The shortest text that parse_duration reads back as `value`."""
    minutes = int(value.total_seconds() // 60)
    if minutes == 0:
        return "0m"
    out = ""
    for unit, size in (("w", 7 * 24 * 60), ("d", 24 * 60), ("h", 60), ("m", 1)):
        count, minutes = divmod(minutes, size)
        if count:
            out += f"{count}{unit}"
    return out


def describe_duration(value: timedelta) -> str:
    """A duration as designers write it, in days rather than weeks (`7d`, `1d12h`, `90m`):
    for messages and pictures. (`format_duration` is the stored form: it never changes.)"""
    minutes = int(value.total_seconds() // 60)
    out = ""
    for unit, size in (("d", 24 * 60), ("h", 60), ("m", 1)):
        count, minutes = divmod(minutes, size)
        if count:
            out += f"{count}{unit}"
    return out or "0m"


def _coerce(value: Any) -> Any:
    if isinstance(value, timedelta):
        if value > LONGEST or value < timedelta():
            raise ValueError(f"a duration is between 0 and {LONGEST.days}d")
        return value
    if isinstance(value, str):
        return parse_duration(value)
    if isinstance(value, int) and not isinstance(value, bool) and value == 0:
        return timedelta()
    raise ValueError("a duration is text such as 90m, 36h, 1d12h or 2w")


Duration = Annotated[
    timedelta,
    BeforeValidator(_coerce),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema({"type": "string", "pattern": PATTERN, "examples": ["90m", "36h", "1d12h"]}),
]
