"""The legal floor every journey stands on (United States, Regulation F and the TCPA)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta


@dataclass(frozen=True)
class Rule:
    """A rule and where the law says it."""

    summary: str
    citation: str


# Reg F 1006.6(b)(1)(i): before 8 a.m. or after 9 p.m. local time is inconvenient.
EARLIEST_CONTACT = time(8, 0)
LATEST_CONTACT = time(21, 0)
CONTACT_HOURS = Rule(
    "no contact before 08:00 or after 21:00 in the customer's time zone", "12 CFR 1006.6(b)(1)(i)"
)

# Reg F 1006.14(b)(2)(i): more than seven calls within seven days is presumed harassment.
VOICE_CAP_MAX = 7
VOICE_CAP_PER = timedelta(days=7)
VOICE_CAP = Rule("at most 7 calls in any 7 days", "12 CFR 1006.14(b)(2)(i)")

# Reg F 1006.6(e): every electronic communication says how to opt out of that medium.
OPT_OUT_REQUIRED: frozenset[str] = frozenset({"email", "sms"})
OPT_OUT = Rule("every email and text message tells the customer how to opt out", "12 CFR 1006.6(e)")
