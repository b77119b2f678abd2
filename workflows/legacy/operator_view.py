"""What operators see of a journey: the `status` query, the search attributes and the
"current details" card. Plain functions of the state, computed where a journey rests."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from temporalio.common import SearchAttributeKey

from rapport.contract import search_attributes as sa
from rapport.language.models import JourneyDefinition
from rapport.policy.window import local
from workflows.legacy.models import JourneyStatus
from workflows.legacy.state import JourneyState

Mode = Literal["running", "waiting", "deferred", "paused", "finished"]


def status(
    state: JourneyState, mode: Mode, next_action_at: datetime, requested_journey: str | None
) -> JourneyStatus:
    s, snapshot = state, state.snapshot
    return JourneyStatus(
        journey_id=snapshot.definition.id if snapshot else (requested_journey or ""),
        journey_version=snapshot.definition.version if snapshot else 0,
        account_id=s.account.account_id,
        segment=s.segment,
        step=s.step,
        state=mode,
        next_action_at=None if mode == "finished" else next_action_at,
        balance=s.balance,
        messages=s.sent,
        skipped=s.skipped,
        handoffs=s.handoffs,
        suppressed_channels=s.suppressed,
        outcome=s.outcome,
        plan_offered=s.plan_offer.offered if s.plan_offer else None,
        steps_run=sum(s.occurrences.values()),
        possible_duplicates=s.possible_duplicates,
        errors=s.errors,
    )


def search_attributes(
    state: JourneyState, definition: JourneyDefinition, mode: Mode, now: datetime
) -> dict[SearchAttributeKey[Any], Any]:
    s = state
    return {
        sa.ACCOUNT_ID: s.account.account_id,
        sa.JOURNEY_ID: definition.id,
        sa.JOURNEY_VERSION: definition.version,
        sa.JOURNEY_STEP: s.step or "",
        sa.SEGMENT: s.segment,
        sa.BALANCE_DUE: float(s.balance),
        sa.DAYS_PAST_DUE: s.account.days_past_due + (now - s.started_at).days,
        sa.OUTCOME: s.outcome or ("running" if mode != "finished" else ""),
    }


def details(
    state: JourneyState,
    definition: JourneyDefinition,
    mode: Mode,
    next_action_at: datetime,
    now: datetime,
) -> str:
    """The "current details" card, in plain words (markdown)."""
    s, policy, zone = state, definition.policy, state.account.customer.timezone
    lines = [f"**Step** {s.step or '-'} ({mode})"]
    if mode in ("waiting", "deferred"):
        at = next_action_at
        lines.append(
            f"**Next** {local(at, zone):%a %Y-%m-%d %H:%M} customer time ({at:%Y-%m-%d %H:%M} UTC)"
        )
    lines.append(f"**Segment** {s.segment} · **Balance** {s.balance} {s.account.currency}")
    caps = [
        f"{cap.channel} {used}/{cap.max} per {cap.per}"
        for cap, used in (
            (
                cap,
                sum(
                    1
                    for x in s.ledger
                    if cap.channel in ("all", x.channel) and x.at > now - cap.per
                ),
            )
            for cap in policy.caps
        )
    ]
    lines.append(
        f"**Messages sent** {len(s.sent)}" + (f" · **Caps used** {', '.join(caps)}" if caps else "")
    )
    if s.suppressed or s.ceased or s.paused or s.disputed:
        holds = [f"opted out of {c}" for c in s.suppressed]
        holds += [
            h
            for h, on in (("ceased", s.ceased), ("paused", s.paused), ("disputed", s.disputed))
            if on
        ]
        lines.append(f"**Holds** {', '.join(holds)}")
    if s.outcome:
        lines.append(f"**Outcome** {s.outcome}")
    return "\n\n".join(lines)
