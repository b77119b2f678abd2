"""When may a message go: the window, the caps and the gap together."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta

from rapport.language.models import Policy
from rapport.policy.caps import Delivery, earliest_under_caps
from rapport.policy.window import closing, next_opening
from rapport.policy.zone import Zone

_MAX_ROUNDS = 50  # each round moves strictly later; a handful always suffice
SPREAD = timedelta(minutes=5)
MIN_SEND_TIME = timedelta(minutes=1)  # a send is not started closer than this to the close


def spread_for(key: str, within: timedelta = SPREAD) -> timedelta:
    """A stable offset in [0, within) for `key` (an account id): journeys deferred to the
    same window opening wake spread over its first minutes, not all in one second."""
    digest = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")
    return timedelta(seconds=digest % int(within.total_seconds()))


def transactional(policy: Policy) -> Policy:
    """The policy a transactional message (a thank-you for a payment) goes under: the
    contact window and its days, no caps and no minimum gap. It still counts in the caps
    of the messages after it; the engine's own floors (calls) still hold (`caps_for`)."""
    return policy.model_copy(update={"caps": [], "min_gap": timedelta()})


def earliest_send(
    at: datetime,
    channel: str,
    policy: Policy,
    zone: Zone | str,
    ledger: Sequence[Delivery],
    spread: timedelta = timedelta(),
) -> datetime:
    """The earliest instant >= at when a message on `channel` satisfies the whole policy.

    Caps and the gap only loosen as time passes, so moving to the next window
    opening never breaks them again; the loop ends when both agree. A send moved to a
    window's opening is moved `spread` further into the window.
    """
    window = policy.contact_window
    candidate = at
    for _ in range(_MAX_ROUNDS):
        allowed = earliest_under_caps(candidate, channel, policy.caps, policy.min_gap, ledger)
        opening = next_opening(allowed, zone, window.start, window.end, policy.days)
        if opening == allowed:
            if candidate == at:  # allowed where it stood (or where the caps put it)
                return opening
            closes = closing(opening, zone, window.end)
            return max(opening, min(opening + spread, closes - MIN_SEND_TIME))
        candidate = opening
    return candidate
