"""When may a message go: the window, the caps and the gap together."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rapport.language.models import Policy
from rapport.policy.caps import Delivery, earliest_under_caps
from rapport.policy.window import next_opening

_MAX_ROUNDS = 50  # each round moves strictly later; a handful always suffice


def earliest_send(
    at: datetime, channel: str, policy: Policy, timezone: str, ledger: Sequence[Delivery]
) -> datetime:
    """The earliest instant >= at when a message on `channel` satisfies the whole policy.

    Caps and the gap only loosen as time passes, so moving to the next window
    opening never breaks them again; the loop ends when both agree.
    """
    window = policy.contact_window
    candidate = at
    for _ in range(_MAX_ROUNDS):
        allowed = earliest_under_caps(candidate, channel, policy.caps, policy.min_gap, ledger)
        opening = next_opening(allowed, timezone, window.start, window.end, policy.days)
        if opening == allowed:
            return opening
        candidate = opening
    return candidate
