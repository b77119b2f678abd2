"""The contact window, in the customer's own time zone.

Local wall times become instants through the customer's `Zone` (recorded
`ZoneRules` in a journey, the live tz database elsewhere), so a window of
08:00-21:00 is 08:00-21:00 on both sides of a daylight-saving change.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta

from rapport.language.types import WEEKDAYS
from rapport.policy.zone import Zone, as_zone, local_offset


def local(at: datetime, zone: Zone | str) -> datetime:
    """`at` as the customer's wall-clock time (aware, with their UTC offset)."""
    return at.astimezone(local_offset(at, zone))


def to_utc(wall: datetime, zone: Zone | str) -> datetime:
    """A naive customer-local wall time as an aware UTC instant."""
    return as_zone(zone).to_utc(wall)


def next_opening(
    at: datetime, zone: Zone | str, start: time, end: time, days: Sequence[str]
) -> datetime:
    """The earliest instant at or after `at` inside the window on an allowed day (UTC)."""
    today = local(at, zone).date()
    for offset in range(8):
        day = today + timedelta(days=offset)
        if WEEKDAYS[day.weekday()] not in days:
            continue
        opens = to_utc(datetime.combine(day, start), zone)
        closes = to_utc(datetime.combine(day, end), zone)
        if at < closes:
            return max(at, opens).astimezone(UTC)
    raise ValueError("no allowed day in the contact window")  # validator guarantees >= 1 day


def closing(at: datetime, zone: Zone | str, end: time) -> datetime:
    """When the window open at `at` closes: `end` on the customer's local day (UTC)."""
    return to_utc(datetime.combine(local(at, zone).date(), end), zone)
