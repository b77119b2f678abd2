"""Rolling frequency caps and the minimum gap, over the ledger of delivered messages.

A cap `{channel, max, per}` holds when, for every instant t, the messages
delivered on matching channels in (t - per, t] number at most `max`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from rapport.compliance.rules import VOICE_FLOOR
from rapport.language.models import Cap


class Delivery(BaseModel):
    """One delivered message, as the caps see it."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    channel: str


def caps_for(channel: str, caps: Sequence[Cap]) -> list[Cap]:
    """The caps that govern a message on `channel`, the engine's floor on calls included."""
    matching = [cap for cap in caps if cap.channel in ("all", channel)]
    if channel == "voice":
        matching.append(VOICE_FLOOR)
    return matching


def earliest_under_cap(at: datetime, cap: Cap, ledger: Sequence[Delivery]) -> datetime:
    """The earliest instant >= at when one more message keeps `cap`."""
    recent = sorted(
        d.at for d in ledger if cap.channel in ("all", d.channel) and d.at > at - cap.per
    )
    excess = len(recent) - cap.max + 1
    if excess <= 0:
        return at
    return max(at, recent[excess - 1] + cap.per)


def earliest_after_gap(at: datetime, min_gap: timedelta, ledger: Sequence[Delivery]) -> datetime:
    if not ledger or min_gap <= timedelta():
        return at
    return max(at, max(d.at for d in ledger) + min_gap)


def earliest_under_caps(
    at: datetime,
    channel: str,
    caps: Sequence[Cap],
    min_gap: timedelta,
    ledger: Sequence[Delivery],
) -> datetime:
    """The earliest instant >= at that every cap and the gap allow."""
    result = earliest_after_gap(at, min_gap, ledger)
    for cap in caps_for(channel, caps):
        result = max(result, earliest_under_cap(at, cap, ledger))
    return result


def cap_blocks(at: datetime, channel: str, caps: Sequence[Cap], ledger: Sequence[Delivery]) -> bool:
    return any(earliest_under_cap(at, cap, ledger) > at for cap in caps_for(channel, caps))


def horizon(caps: Sequence[Cap], min_gap: timedelta) -> timedelta:
    """How far back a delivery can still matter to a cap or the gap."""
    return max([c.per for c in caps] + [VOICE_FLOOR.per, min_gap])


def prune(
    ledger: Sequence[Delivery], now: datetime, caps: Sequence[Cap], min_gap: timedelta
) -> list[Delivery]:
    """The deliveries that can still matter to a cap or the gap (kept across continue-as-new)."""
    kept = [d for d in ledger if d.at > now - horizon(caps, min_gap)]
    if not kept and ledger:
        kept = [max(ledger, key=lambda d: d.at)]
    return kept
