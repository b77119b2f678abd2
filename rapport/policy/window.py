"""The contact window, in the customer's own time zone.

Local wall times are turned into instants with `zoneinfo`, so a window of
08:00-21:00 is 08:00-21:00 on both sides of a daylight-saving change.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from rapport.language.types import WEEKDAYS


def local(at: datetime, timezone: str) -> datetime:
    """`at` as the customer's wall-clock time (aware, with their UTC offset)."""
    return at.astimezone(ZoneInfo(timezone))


def to_utc(wall: datetime, timezone: str) -> datetime:
    """A naive customer-local wall time as an aware UTC instant."""
    return wall.replace(tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def next_opening(
    at: datetime, timezone: str, start: time, end: time, days: Sequence[str]
) -> datetime:
    """The earliest instant at or after `at` inside the window on an allowed day (UTC)."""
    zone = ZoneInfo(timezone)
    now_local = at.astimezone(zone)
    for offset in range(8):
        day = now_local.date() + timedelta(days=offset)
        if WEEKDAYS[day.weekday()] not in days:
            continue
        opens = datetime.combine(day, start, tzinfo=zone)
        closes = datetime.combine(day, end, tzinfo=zone)
        if at < closes:
            return max(at, opens).astimezone(UTC)
    raise ValueError("no allowed day in the contact window")  # validator guarantees >= 1 day


def closing(at: datetime, timezone: str, end: time) -> datetime:
    """When the window open at `at` closes: `end` on the customer's local day (UTC)."""
    zone = ZoneInfo(timezone)
    return datetime.combine(at.astimezone(zone).date(), end, tzinfo=zone).astimezone(UTC)
