"""When a scenario starts: a customer-local time, or relative to now so it never expires.

- `2028-03-01T07:30`: that wall time in the customer's zone (it must not be past);
- `+0d`, `+2d3h`: that long from now;
- `+1d 07:30`: the customer's calendar day that many days from today, at that time;
- `next wed 07:30`: the first Wednesday after today, at that time (the weekday matters
  to a policy that skips Sundays, the time to the contact window).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from rapport.language.durations import parse_duration
from rapport.policy.window import local, to_utc

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_AT = re.compile(r"^\+(\d{1,4})d\s+([01]\d|2[0-3]):([0-5]\d)$")
_NEXT = re.compile(r"^next\s+(mon|tue|wed|thu|fri|sat|sun)\s+([01]\d|2[0-3]):([0-5]\d)$")
FORMS = "2028-03-01T07:30, +0d, +2d3h, +1d 07:30 or next wed 07:30"


class StartInPast(ValueError):
    """An absolute start the simulator's clock has passed."""


@dataclass(frozen=True)
class Start:
    """A parsed `start:`; `at` resolves it against the simulator's clock."""

    text: str
    wall: datetime | None = None  # an absolute customer-local wall time
    offset: timedelta | None = None  # from now
    days: int | None = None  # `+Nd HH:MM`
    weekday: int | None = None  # `next wed HH:MM`
    clock: time | None = None

    @property
    def relative(self) -> bool:
        return self.wall is None

    def at(self, now: datetime, zone: str) -> datetime:
        """The start in UTC, given the simulator's `now` (UTC) and the customer's zone."""
        if self.wall is not None:
            start = to_utc(self.wall, zone)
            if start < now - timedelta(minutes=1):
                raise StartInPast(
                    f"start {self.wall.isoformat()} is in the past; the simulator can only "
                    "move forward in time: write a start relative to now, such as +0d or "
                    "next wed 07:30"
                )
            return start
        if self.offset is not None:
            return now + self.offset
        assert self.clock is not None
        today = local(now, zone).date()
        if self.weekday is not None:
            ahead = (self.weekday - today.weekday() - 1) % 7 + 1
            return to_utc(datetime.combine(today + timedelta(days=ahead), self.clock), zone)
        assert self.days is not None
        start = to_utc(datetime.combine(today + timedelta(days=self.days), self.clock), zone)
        if start < now - timedelta(minutes=1):
            raise StartInPast(
                f"start {self.text!r} is earlier today than now; use +1d "
                f"{self.clock:%H:%M}, or next <day> {self.clock:%H:%M}"
            )
        return start


def parse_start(value: object, zone: str | None = None) -> Start:
    """A `start:` as written; ValueError says the forms it may take."""
    if isinstance(value, datetime):
        wall = value if value.tzinfo is None or zone is None else local(value, zone)
        return Start(value.isoformat(), wall=wall.replace(tzinfo=None))
    if isinstance(value, date):
        return Start(value.isoformat(), wall=datetime.combine(value, time(0, 0)))
    text = str(value).strip()
    day_at, upcoming = _DAY_AT.match(text), _NEXT.match(text)
    if day_at:
        return Start(text, days=int(day_at[1]), clock=time(int(day_at[2]), int(day_at[3])))
    if upcoming:
        clock = time(int(upcoming[2]), int(upcoming[3]))
        return Start(text, weekday=WEEKDAYS.index(upcoming[1]), clock=clock)
    if text.startswith("+"):
        try:
            return Start(text, offset=parse_duration(text[1:]))
        except ValueError:
            pass
    else:
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            return parse_start(parsed, zone)
    raise ValueError(f"{text!r} is not a start: write {FORMS}")
