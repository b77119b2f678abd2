"""When may a message go: the window, the caps and the gap together.

`earliest_send` is the journey's policy alone, in the customer's stated zone (journeys
that began before the rule packs applied at send time). `next_send` is the policy and the
account's rule packs merged (`limits`), in every zone the customer may be in, and says
which rule decided."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from rapport.language.models import Policy
from rapport.policy.caps import Delivery, earliest_under_caps
from rapport.policy.limits import CapLimit, EffectiveLimits, Place, Source, effective_limits
from rapport.policy.window import closing, local, next_opening, to_utc
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


# --- under the rule packs, in every zone the customer may be in ---------------------------

SEARCH_DAYS = 35  # a zone's next opening is looked for this many customer days ahead
GIVE_UP = timedelta(days=400)  # no moment this far ahead: the rules leave the message none
_MAX_VERDICT_ROUNDS = 200


@dataclass(frozen=True)
class Refusal:
    """Why a moment was refused: the limit, and the zone whose window it was."""

    by: Source
    zone: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class Verdict:
    """When a message may go under every limit, and what decided it.

    `at` None: no moment within `GIVE_UP` (windows that never overlap, every day closed).
    `by`: what refused the moment asked for (why not now); None when it goes then."""

    at: datetime | None
    closes: datetime | None
    by: Source | None = None
    zone: str | None = None
    detail: str = ""


class _Days:
    """`effective_limits` for one message, per customer-local day, computed once each."""

    def __init__(self, policy: Policy, place: Place, channel: str) -> None:
        self.policy, self.place, self.channel = policy, place, channel
        self._seen: dict[date, EffectiveLimits] = {}

    def on(self, day: date) -> EffectiveLimits:
        if day not in self._seen:
            self._seen[day] = effective_limits(
                self.policy, self.place.rules, self.channel, day, self.place.holidays
            )
        return self._seen[day]


def next_send(
    at: datetime,
    channel: str,
    policy: Policy,
    place: Place,
    ledger: Sequence[Delivery],
    talked_at: datetime | None = None,
    spread: timedelta = timedelta(),
) -> Verdict:
    """The earliest instant >= at when a message on `channel` keeps the journey's policy
    and the packs' rules, with the window open in every zone of `place` (Regulation F
    1006.6(b)(1)(i): where the customer may be, the hours hold at each place).

    Caps, the gap, cooldowns and windows only move the moment later, so moving to each
    one's answer in turn and asking again finds the earliest moment all allow. As in
    `earliest_send`, the counts are asked first and a moment moved to a window's opening
    is spread over its first minutes."""
    days = _Days(policy, place, channel)
    counts = days.on(local(at, place.zones[0]).date())  # caps and cooldowns: any day's
    moment, first, opened = at, None, False
    for _ in range(_MAX_VERDICT_ROUNDS):
        refused: Refusal | None = None
        allowed, by = _after_counts(moment, counts, ledger, talked_at)
        if allowed > moment:
            moment, refused = allowed, Refusal(by)
        for zone in place.zones:
            opening, why = _opening(moment, zone, days)
            if opening is None:
                return _never(first or refused or why)
            if opening > moment:
                moment, refused, opened = opening, refused or why, True
        if refused is None:
            break
        first = first or refused
        if moment - at > GIVE_UP:
            return _never(first)
    else:
        return _never(first)
    closes = min(_closing(moment, zone, days) for zone in place.zones)
    if opened:  # moved to a window's opening: spread over its first minutes (earliest_send)
        moment = max(moment, min(moment + spread, closes - MIN_SEND_TIME))
    if first is None:
        return Verdict(moment, closes)
    return Verdict(moment, closes, first.by, first.zone, first.detail)


def capped_now(
    at: datetime, channel: str, policy: Policy, place: Place, ledger: Sequence[Delivery]
) -> Source | None:
    """The cap (a pack's or the journey's) one more message on `channel` would break now."""
    limits = effective_limits(policy, place.rules, channel, at.date(), place.holidays)
    for cap in limits.caps:
        if _under_cap(at, cap, ledger) > at:
            return cap.by
    return None


def _never(why: Refusal | None) -> Verdict:
    if why is None:
        return Verdict(None, None)
    return Verdict(None, None, why.by, why.zone, why.detail)


def _opening(at: datetime, zone: Zone, days: _Days) -> tuple[datetime | None, Refusal | None]:
    """The earliest instant >= at with `zone`'s window open, and why `at` was refused."""
    today = local(at, zone).date()
    why: Refusal | None = None
    for offset in range(SEARCH_DAYS):
        limits = days.on(today + timedelta(days=offset))
        if limits.closed is not None:
            why = why or Refusal(limits.closed, zone.name, limits.holiday or "")
            continue
        opens = to_utc(datetime.combine(limits.day, limits.start.value), zone)
        closes = to_utc(datetime.combine(limits.day, limits.end.value), zone)
        if at >= closes:
            why = why or Refusal(limits.end.by, zone.name)
            continue
        if at >= opens:
            return at, None
        return opens, why or Refusal(limits.start.by, zone.name)
    return None, why


def _closing(at: datetime, zone: Zone, days: _Days) -> datetime:
    limits = days.on(local(at, zone).date())
    return to_utc(datetime.combine(limits.day, limits.end.value), zone)


def _after_counts(
    at: datetime,
    limits: EffectiveLimits,
    ledger: Sequence[Delivery],
    talked_at: datetime | None,
) -> tuple[datetime, Source]:
    """The earliest instant >= at every cap, the gap and every cooldown allow, and the
    limit that set it (the first of equals: a pack's before the journey's)."""
    best, by = at, limits.min_gap.by
    for cap in limits.caps:
        allowed = _under_cap(at, cap, ledger)
        if allowed > best:
            best, by = allowed, cap.by
    if ledger and limits.min_gap.value > timedelta():
        allowed = max(d.at for d in ledger) + limits.min_gap.value
        if allowed > best:
            best, by = allowed, limits.min_gap.by
    for cooldown in limits.cooldowns if talked_at is not None else ():
        assert talked_at is not None
        if talked_at + cooldown.per > best:
            best, by = talked_at + cooldown.per, cooldown.by
    return best, by


def _under_cap(at: datetime, cap: CapLimit, ledger: Sequence[Delivery]) -> datetime:
    """The earliest instant >= at when one more message keeps `cap`."""
    recent = sorted(d.at for d in ledger if cap.counts(d.channel) and d.at > at - cap.per)
    excess = len(recent) - cap.max + 1
    return at if excess <= 0 else max(at, recent[excess - 1] + cap.per)
