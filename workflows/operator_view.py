"""What operators see of a journey: the `status` query, the search attributes and the
"current details" card. Plain functions of the state."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from temporalio.common import SearchAttributeKey

from rapport.contract import search_attributes as sa
from rapport.contract.journey import JourneyStatus, fingerprint
from rapport.language.models import JourneyDefinition
from rapport.policy.window import local
from rapport.policy.zone import Zone
from workflows.state import JourneyState

Mode = Literal["running", "waiting", "deferred", "paused", "finished", "waiting_for_store"]


def status(
    state: JourneyState, mode: Mode, next_action_at: datetime, requested_journey: str | None
) -> JourneyStatus:
    s, pin = state, state.pin
    return JourneyStatus(
        journey_id=pin.id if pin else (requested_journey or ""),
        journey_version=pin.version if pin else 0,
        journey_hash=pin.hash if pin else "",
        account_id=s.account.account_id,
        segment=s.segment,
        step=s.step,
        state=mode,
        next_action_at=None if mode == "finished" else next_action_at,
        balance=s.balance,
        currency=s.account.currency,
        messages=s.sent,
        messages_sent=s.messages_sent,
        skipped=s.skipped,
        handoffs=s.handoffs,
        suppressed_channels=s.suppressed,
        outcome=s.outcome,
        plan_offered=s.plan_offer.offered if s.plan_offer else None,
        steps_run=sum(s.occurrences.values()),
        possible_duplicates=s.possible_duplicates,
        errors=s.errors,
        payments=s.payments,
        duplicate_payments=s.duplicate_payments,
        reversals=s.reversals,
        refused=s.refused,
        account_fingerprint=fingerprint(s.account),
        minimum_due=s.account.minimum_due,
        locale=s.account.customer.locale,
        timezone=s.account.customer.timezone,
        plan_offer=s.plan_offer,
        accepted_plan=s.accepted_plan,
        disputed=s.disputed,
        callback_at=s.callback_at,
    )


def search_attributes(
    state: JourneyState, mode: Mode, now: datetime
) -> dict[SearchAttributeKey[Any], Any]:
    """Identifiers and numbers only: stored unencrypted, they never hold PII."""
    s = state
    values: dict[SearchAttributeKey[Any], Any] = {
        sa.ACCOUNT_ID: s.account.account_id,
        sa.SEGMENT: s.segment,
        sa.JOURNEY_STEP: s.step or "",
        sa.BALANCE_DUE: float(s.balance) if s.balance > 0 else 0.0,
        sa.DAYS_PAST_DUE: s.account.days_past_due + (now - s.started_at).days,
        sa.OUTCOME: s.outcome or ("running" if mode != "finished" else "exhausted"),
    }
    if s.pin is not None:
        values[sa.JOURNEY_ID], values[sa.JOURNEY_VERSION] = s.pin.id, s.pin.version
    return values


def details(
    state: JourneyState,
    definition: JourneyDefinition,
    zone: Zone,
    mode: Mode,
    next_action_at: datetime,
    now: datetime,
) -> str:
    """The "current details" card, in plain words (markdown)."""
    s, policy = state, definition.policy
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
        f"**Messages sent** {s.messages_sent}"
        + (f" · **Caps used** {', '.join(caps)}" if caps else "")
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
