"""The times a customer may ask a person to call: in the journey's contact window and
days, in the customer's zone (each labelled with it), at least two hours ahead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from datetime import time as clock
from zoneinfo import ZoneInfo

from rapport.contract.journey import JourneyStatus
from rapport.language.models import Policy
from rapport.language.types import WEEKDAYS
from rapport.web.portal.speech import Speech

CALL_TIMES = (clock(10, 0), clock(12, 30), clock(16, 0), clock(18, 30))  # offered, if in window
CALL_LENGTH = timedelta(minutes=30)
OFFERED = 6


def call_times(
    status: JourneyStatus, policy: Policy, speech: Speech, now: datetime | None = None
) -> list[tuple[str, str]]:
    """(value, label) of up to six times a person can call; the value is the moment in
    UTC, the label the customer's weekday, date, time and zone (`4:00 PM EST`)."""
    zone = ZoneInfo(status.timezone or "UTC")
    now = (now or datetime.now(UTC)).astimezone(zone)
    window = policy.contact_window
    times = []
    for days in range(0, 8):
        day = (now + timedelta(days=days)).date()
        if WEEKDAYS[day.weekday()] not in policy.days:
            continue
        for at in CALL_TIMES:
            moment = datetime.combine(day, at, tzinfo=zone)
            ends = (datetime.combine(day, at) + CALL_LENGTH).time()
            if window.start <= at and ends <= window.end and moment >= now + timedelta(hours=2):
                times.append((moment.astimezone(UTC).isoformat(), speech.moment(moment, zone)))
    return times[:OFFERED]
