"""The limits a message goes under: the journey's policy and the account's rule packs
merged, per channel and customer-local day. The stricter wins, always, and each limit
names what set it (`Source`: a pack and its rule, or the journey's policy), so a send, a
deferral or a skip can say which rule decided it.

- a window: the latest opening and the earliest close of the journey's window and every
  pack window that holds on the day; a window that closes before it opens closes the day;
- a closed day: a weekday the journey does not send on, a weekday a pack closes, or a
  public holiday where a pack closes on them;
- caps: the journey's and the packs' (a pack's cap counts every channel it names: calls
  and texts together in Massachusetts); of two caps over the same channels and period the
  smaller holds;
- the journey's minimum gap, and the packs' cooldowns after a conversation.

Pure: the packs' rules arrive as recorded in the journey's history (`PackRule`, read by
an activity, so a pack edited later never changes a replay), public holidays as dates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

from rapport.compliance.packs import Rule, RulePack
from rapport.language.models import Policy
from rapport.language.types import WEEKDAYS
from rapport.policy.zone import Zone, ZoneRules

JOURNEY = "journey"  # the `pack` of a limit the journey's own policy sets
T = TypeVar("T")


@dataclass(frozen=True, order=True)
class Source:
    """What set a limit: a pack and its rule id, or `journey` and the policy's field."""

    pack: str
    rule: str

    @property
    def law(self) -> bool:
        return self.pack != JOURNEY

    def label(self) -> str:
        return f"{self.pack}/{self.rule}"


# --- a pack's rules as recorded for an account -----------------------------------------


class _Recorded(BaseModel):
    """Read tolerantly: recorded in a journey's history, read again by later code."""

    model_config = ConfigDict(frozen=True, extra="ignore")


_R = TypeVar("_R", bound=_Recorded)


class RuleWindow(_Recorded):
    start: time
    end: time
    days: list[str] | None = None  # absent: every day


class RuleClosed(_Recorded):
    days: list[str] = []
    holidays: bool = False


class RuleCap(_Recorded):
    max: int
    per: timedelta


class RuleCooldown(_Recorded):
    after: Literal["conversation"] = "conversation"
    per: timedelta


class PackRule(_Recorded):
    """One rule of a pack that applies to the account, as the send decision needs it: the
    numbers, the channels it governs, and its pack, id and citation (for the records)."""

    pack: str
    rule: str
    citation: str = ""
    channels: list[str]
    window: RuleWindow | None = None
    closed: RuleClosed | None = None
    cap: RuleCap | None = None
    cooldown: RuleCooldown | None = None

    @classmethod
    def of(cls, pack: RulePack, rule: Rule) -> PackRule | None:
        """The rule as recorded; None for a duty (nothing to compute at send time)."""
        if rule.duty is not None:
            return None
        return cls(
            pack=pack.pack,
            rule=rule.id,
            citation=rule.citation,
            channels=sorted(rule.governs()),
            window=_copy(RuleWindow, rule.window),
            closed=_copy(RuleClosed, rule.closed),
            cap=_copy(RuleCap, rule.cap),
            cooldown=_copy(RuleCooldown, rule.cooldown),
        )

    @property
    def source(self) -> Source:
        return Source(self.pack, self.rule)

    def governs(self, channel: str) -> bool:
        return channel in self.channels


def _copy(model: type[_R], value: BaseModel | None) -> _R | None:
    return None if value is None else model.model_validate(value, from_attributes=True)


def recorded_rules(packs: Sequence[RulePack]) -> list[PackRule]:
    """The rules of `packs` the send decision computes with (duties left out)."""
    return [found for pack in packs for rule in pack.rules if (found := PackRule.of(pack, rule))]


class Holiday(_Recorded):
    day: date
    name: str


class PlaceRules(_Recorded):
    """What applies where an account is, as an activity read it and the journey's history
    keeps it: the packs (by id), their rules, every zone the customer may be in (the
    stated one first) and the public holidays where a pack closes on them, until
    `valid_until`."""

    packs: list[str] = []
    rules: list[PackRule] = []
    zones: list[ZoneRules] = []
    holidays: list[Holiday] = []
    valid_until: datetime | None = None

    def covers(self, at: datetime, margin: timedelta = timedelta()) -> bool:
        return self.valid_until is not None and at + margin <= self.valid_until

    def zone_names(self) -> list[str]:
        return [z.name for z in self.zones]

    def place(self) -> Place:
        return Place(self.rules, self.zones, {h.day: h.name for h in self.holidays})


@dataclass(frozen=True)
class Place:
    """The account's side of a send decision: its packs' rules, every zone it may be in
    (the stated one first) and the public holidays where it lives."""

    rules: Sequence[PackRule]
    zones: Sequence[Zone]
    holidays: Mapping[date, str] = field(default_factory=dict)


# --- the merged limits ------------------------------------------------------------------


@dataclass(frozen=True)
class Bound(Generic[T]):
    value: T
    by: Source


@dataclass(frozen=True)
class CapLimit:
    """At most `max` deliveries on `channels` (None: every channel) in any rolling `per`."""

    channels: frozenset[str] | None
    max: int
    per: timedelta
    by: Source

    def counts(self, channel: str) -> bool:
        return self.channels is None or channel in self.channels


@dataclass(frozen=True)
class Cooldown:
    """No message for `per` after the customer's last conversation with an agent."""

    per: timedelta
    by: Source


@dataclass(frozen=True)
class EffectiveLimits:
    """Everything a message on one channel goes under on one customer-local day."""

    channel: str
    day: date
    start: Bound[time]
    end: Bound[time]
    closed: Source | None  # why no message goes at all that day
    holiday: str | None  # the public holiday's name, when a pack closes on it
    caps: tuple[CapLimit, ...]
    min_gap: Bound[timedelta]
    cooldowns: tuple[Cooldown, ...]

    @property
    def open(self) -> bool:
        return self.closed is None


def effective_limits(
    policy: Policy,
    rules: Sequence[PackRule],
    channel: str,
    day: date,
    holidays: Mapping[date, str] | None = None,
) -> EffectiveLimits:
    """The journey's `policy` and the packs' `rules` merged for a message on `channel` on
    the customer-local `day`: the stricter wins; on a tie a pack's rule is named (the law
    the journey happens to match)."""
    weekday = WEEKDAYS[day.weekday()]
    governing = [r for r in rules if r.governs(channel)]
    window = policy.contact_window
    start = Bound(window.start, Source(JOURNEY, "policy.contact_window"))
    end = Bound(window.end, Source(JOURNEY, "policy.contact_window"))
    for rule in governing:
        w = rule.window
        if w is None or (w.days is not None and weekday not in w.days):
            continue
        if w.start > start.value or (w.start == start.value and not start.by.law):
            start = Bound(w.start, rule.source)
        if w.end < end.value or (w.end == end.value and not end.by.law):
            end = Bound(w.end, rule.source)
    closed, holiday = _closed(policy, governing, weekday, day, holidays or {})
    if closed is None and start.value >= end.value:  # two windows that do not overlap
        closed = start.by if start.by.law else end.by
    return EffectiveLimits(
        channel=channel,
        day=day,
        start=start,
        end=end,
        closed=closed,
        holiday=holiday,
        caps=caps_for_channel(policy, governing, channel),
        min_gap=Bound(policy.min_gap, Source(JOURNEY, "policy.min_gap")),
        cooldowns=tuple(
            Cooldown(r.cooldown.per, r.source) for r in governing if r.cooldown is not None
        ),
    )


def _closed(
    policy: Policy,
    governing: Sequence[PackRule],
    weekday: str,
    day: date,
    holidays: Mapping[date, str],
) -> tuple[Source | None, str | None]:
    for rule in governing:
        c = rule.closed
        if c is not None and weekday in c.days:
            return rule.source, None
        if c is not None and c.holidays and day in holidays:
            return rule.source, holidays[day]
    if weekday not in policy.days:
        return Source(JOURNEY, "policy.days"), None
    return None, None


def caps_for_channel(
    policy: Policy, governing: Sequence[PackRule], channel: str
) -> tuple[CapLimit, ...]:
    """Every cap that counts a message on `channel`: the packs' first, then the journey's;
    of two over the same channels and period only the smaller is kept."""
    found: list[CapLimit] = [
        CapLimit(frozenset(r.channels), r.cap.max, r.cap.per, r.source)
        for r in governing
        if r.cap is not None
    ]
    for i, own in enumerate(policy.caps):
        if own.channel in ("all", channel):
            channels = None if own.channel == "all" else frozenset({own.channel})
            found.append(CapLimit(channels, own.max, own.per, Source(JOURNEY, f"policy.caps[{i}]")))
    kept: dict[tuple[frozenset[str] | None, timedelta], CapLimit] = {}
    for limit in found:
        key = (limit.channels, limit.per)
        if key not in kept or limit.max < kept[key].max:
            kept[key] = limit
    return tuple(kept.values())


def reach(policy: Policy, rules: Sequence[PackRule]) -> timedelta:
    """How far back a delivery or a conversation can still matter to any limit."""
    spans = [policy.min_gap, *(c.per for c in policy.caps)]
    spans += [r.cap.per for r in rules if r.cap is not None]
    spans += [r.cooldown.per for r in rules if r.cooldown is not None]
    return max(spans)
