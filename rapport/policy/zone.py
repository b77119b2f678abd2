"""A customer's time zone, as the policy math uses it.

`LiveZone` asks the tz database (`zoneinfo`) each time: right for tools and
previews. `ZoneRules` is the zone's UTC offsets over a stretch of time, read
once from the tz database by an activity and kept in workflow history: a journey
decides its contact window from these recorded rules, so a tzdata update on a
worker can never flip a decision when the journey's history is replayed.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

HORIZON = timedelta(days=400)
_SAMPLE = timedelta(hours=3)  # transitions are months apart; each is then found to the second


class Zone(Protocol):
    @property
    def name(self) -> str: ...
    def utcoffset(self, at: datetime) -> timedelta: ...
    def to_utc(self, wall: datetime) -> datetime: ...


@dataclass(frozen=True)
class LiveZone:
    name: str

    def utcoffset(self, at: datetime) -> timedelta:
        offset = at.astimezone(ZoneInfo(self.name)).utcoffset()
        assert offset is not None
        return offset

    def to_utc(self, wall: datetime) -> datetime:
        """A naive wall time as an aware UTC instant (in a gap or fold, the earlier offset)."""
        return wall.replace(tzinfo=ZoneInfo(self.name)).astimezone(UTC)


class ZoneRules(BaseModel):
    """The zone's offsets from `valid_from` to `valid_until`: `[(from instant, offset
    seconds), ...]`, the first entry at `valid_from`."""

    model_config = ConfigDict(frozen=True)

    name: str
    valid_from: datetime
    valid_until: datetime
    offsets: list[tuple[datetime, int]]

    def covers(self, at: datetime, margin: timedelta = timedelta()) -> bool:
        return self.valid_from <= at and at + margin <= self.valid_until

    def utcoffset(self, at: datetime) -> timedelta:
        """The offset in force at `at` (past the rules' end, the last one known)."""
        index = max(0, bisect_right([start for start, _ in self.offsets], at) - 1)
        return timedelta(seconds=self.offsets[index][1])

    def to_utc(self, wall: datetime) -> datetime:
        """As `LiveZone.to_utc`: the earlier of two readings in a fold, and in a gap the
        offset from before the change (zoneinfo's `fold=0`)."""
        naive = wall.replace(tzinfo=UTC)
        seconds = {o for _, o in self.offsets}
        valid = [
            naive - timedelta(seconds=o)
            for o in seconds
            if self.utcoffset(naive - timedelta(seconds=o)) == timedelta(seconds=o)
        ]
        if valid:
            return min(valid)
        earliest = naive - timedelta(seconds=max(seconds))
        return naive - self.utcoffset(earliest - timedelta(seconds=1))


def as_zone(zone: Zone | str) -> Zone:
    return LiveZone(zone) if isinstance(zone, str) else zone


def rules_for(name: str, start: datetime, horizon: timedelta = HORIZON) -> ZoneRules:
    """Read the zone's offsets from the tz database, from the day before `start` to at least
    `horizon` after it. Not for workflow code: the tz database can change under it."""
    return _rules(name, start.astimezone(UTC).date(), horizon)


@lru_cache(maxsize=1024)
def _rules(name: str, day: date, horizon: timedelta) -> ZoneRules:
    """Once per zone and day: journeys starting the same day share their rules."""
    zone = ZoneInfo(name)
    begin = datetime.combine(day, time(0), tzinfo=UTC) - timedelta(days=1)
    end = begin + horizon + timedelta(days=2)

    def offset(at: datetime) -> int:
        value = at.astimezone(zone).utcoffset()
        assert value is not None
        return int(value.total_seconds())

    offsets = [(begin, offset(begin))]
    previous = begin
    while previous < end:
        sample = min(previous + _SAMPLE, end)
        if offset(sample) != offsets[-1][1]:
            offsets.append(_change_between(previous, sample, offset))
        previous = sample
    return ZoneRules(name=name, valid_from=begin, valid_until=end, offsets=offsets)


def _change_between(
    low: datetime, high: datetime, offset: Callable[[datetime], int]
) -> tuple[datetime, int]:
    """The instant (to the second) the offset changes between `low` and `high`."""
    before = offset(low)
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        middle = middle.replace(microsecond=0)
        if offset(middle) == before:
            low = middle
        else:
            high = middle
    return high, offset(high)


def local_offset(at: datetime, zone: Zone | str) -> timezone:
    return timezone(as_zone(zone).utcoffset(at))
