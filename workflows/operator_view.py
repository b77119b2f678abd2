"""What operators see of a journey: the `status` query, the search attributes, the
"current details" card, and the summaries its activities and timers carry in the UI's
timeline ("reminder by sms", "wait 3d until Tue 7 Mar 09:00 customer time"). Plain
functions of the state. Summaries are user metadata of a command: replay does not
compare them, so changing their words needs no patch (tests/workflows/test_summaries.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from temporalio.common import SearchAttributeKey

from rapport.contract import search_attributes as sa
from rapport.contract.journey import JourneyStatus, fingerprint
from rapport.contract.records import PlanChoices, PlanView
from rapport.language.durations import describe_duration
from rapport.language.models import Cap, JourneyDefinition
from rapport.policy.window import local
from rapport.policy.zone import Zone
from workflows.state import JourneyState

Mode = Literal["running", "waiting", "deferred", "paused", "finished", "waiting_for_store"]


def status(
    state: JourneyState,
    mode: Mode,
    next_action_at: datetime,
    requested_journey: str | None,
    plan: PlanView | None = None,
    plan_choices: PlanChoices | None = None,
    earlier_plans: list[PlanView] | None = None,
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
        plan=plan,
        plan_choices=plan_choices,
        earlier_plans=earlier_plans or [],
        disputed=s.disputed,
        callback_at=s.callback_at,
        waits=s.waits,
        migrations=s.migrations,
        migrating_to=s.migrating.version if s.migrating and not s.stopped() else None,
        zones=s.rules.zone_names() if s.rules else [],
        rule_packs=s.rules.packs if s.rules else [],
        deferred=s.deferred,
        talked_at=s.talked_at,
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
        sa.OUTCOME: s.outcome or (ON_PLAN if s.on_plan() else RUNNING[mode == "finished"]),
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
    lines = [
        f"**Journey** {definition.id} v{definition.version} for account {s.account.account_id}",
        f"**Step** {s.step or '-'} ({MODES.get(mode, mode)})",
    ]
    if s.waiting is not None and mode == "waiting":
        until = " or ".join(event.replace("_", " ") for event in s.waiting.any_of)
        lines.append(f"**Waiting until** {until}, or the time below")
    if mode in ("waiting", "deferred"):
        at = next_action_at
        lines.append(f"**Next** {customer_time(at, zone)} ({at:%Y-%m-%d %H:%M} UTC)")
    lines.append(f"**Segment** {s.segment} · **Balance** {s.balance} {s.account.currency}")
    if s.rules is not None:  # the law where the customer may be (workflows/rules.py)
        packs = ", ".join(s.rules.packs) or "none"
        lines.append(f"**Rule packs** {packs} · **Zones** {', '.join(s.rules.zone_names())}")
    sent = f"**Messages sent** {s.messages_sent}"
    if policy.caps:
        used = [caps_used(cap, s, now) for cap in policy.caps]
        sent += f" · **Caps** {'; '.join(used)}"
    lines.append(sent)
    if s.suppressed or s.ceased or s.paused or s.disputed:
        holds = [f"opted out of {c}" for c in s.suppressed]
        holds += [
            h
            for h, on in (("ceased", s.ceased), ("paused", s.paused), ("disputed", s.disputed))
            if on
        ]
        lines.append(f"**Holds** {', '.join(holds)}")
    if s.migrating and not s.stopped():  # an ended journey moves nowhere
        lines.append(f"**Moving** to v{s.migrating.version} at its next step boundary or wait")
    if s.migrations:
        moved = s.migrations[-1]
        why = f": {moved.reason}" if moved.reason else ""
        lines.append(
            f"**Moved** from v{moved.from_version} at step {moved.step or '-'}, "
            f"{moved.at:%a %-d %b %H:%M} UTC{why}"
        )
    if s.plan is not None:
        lines.append(plan_line(s, zone, now))
    if s.outcome:
        lines.append(f"**Outcome** {s.outcome}")
    return "\n\n".join(lines)


def plan_line(state: JourneyState, zone: Zone, now: datetime) -> str:
    """`**Plan** 3 monthly installments of 100.00 USD, 1 paid; next 2028-04-08 (100.00)`."""
    plan, currency = state.plan, state.account.currency
    assert plan is not None
    paid = sum(1 for i in plan.installments if i.left == 0)
    first = plan.installments[0]
    said = (
        f"**Plan** {len(plan.installments)} {plan.every} installments of {first.amount} "
        f"{currency}, {paid} paid"
    )
    following = plan.next_open()
    if plan.ended is not None:
        return f"{said} ({plan.ended})"
    if following is not None:
        said += f"; next {following.due} ({following.left} {currency})"
    return said


MODES = {"waiting_for_store": "waiting for the store"}
ON_PLAN = "on_plan"  # Outcome while the customer is on a plan the journey follows
RUNNING = {False: "running", True: "exhausted"}


def caps_used(cap: Cap, state: JourneyState, now: datetime) -> str:
    """One cap as a phrase: `1 of 3 messages in 7 days`, `2 of 2 by sms in 7 days`."""
    used = sum(
        1 for x in state.ledger if cap.channel in ("all", x.channel) and x.at > now - cap.per
    )
    what = "messages" if cap.channel == "all" else f"by {cap.channel}"
    return f"{used} of {cap.max} {what} in {in_words(cap.per)}"


def in_words(value: timedelta) -> str:
    """`7 days`, `1 day 12 hours`, `20 hours`, `90 minutes` -> `1 hour 30 minutes`."""
    minutes = int(value.total_seconds() // 60)
    parts = []
    for unit, size in (("day", 24 * 60), ("hour", 60), ("minute", 1)):
        count, minutes = divmod(minutes, size)
        if count:
            parts.append(f"{count} {unit}{'s' if count != 1 else ''}")
    return " ".join(parts) or "0 minutes"


def customer_time(at: datetime, zone: Zone | None) -> str:
    """`Tue 7 Mar 09:00 customer time` (UTC when the zone is not known yet)."""
    if zone is None:
        return f"{at:%a} {at.day} {at:%b %H:%M} UTC"
    wall = local(at, zone)
    return f"{wall:%a} {wall.day} {wall:%b %H:%M} customer time"


# --- summaries of activities and timers (the UI's timeline) ---------------------------

NOTICES = {
    "on_paid": "thank-you for the payment",
    "on_partial_payment": "thanks for a payment",
    "on_plan.confirmation": "plan confirmation",
    "on_plan.reminder": "plan reminder",
    "on_plan.thanks": "thanks for a plan payment",
}


def send_summary(step: str, channel: str, template: str, offer: bool = False) -> str:
    """What goes, how, and from which step and template: `reminder by sms`, `reminder by
    email (template reminder_loyal)`, `plan offer by email (step plan)`, `thank-you for
    the payment by email (template thank_you)`."""
    notes = [f"step {step}"] if offer else []
    if template != step and not (offer and template == "plan_offer"):
        notes.append(f"template {template}")
    what = NOTICES.get(step) or ("plan offer" if offer else step.replace("_", " "))
    return f"{what} by {channel}" + (f" ({', '.join(notes)})" if notes else "")


def rest_summary(
    mode: Mode,
    what: str | None,
    now: datetime,
    until: datetime,
    zone: Zone | None,
    why: str | None = None,
) -> str:
    """A rest's timer: `wait 3d until Tue 7 Mar 09:00 customer time (first_pause)` for a
    step's wait, `hold reminder by sms until Wed 8 Mar 08:00 customer time: contact
    window, caps or gap` for a message that must wait (`why`: the rule that decided,
    since the rule packs decide at send time)."""
    when = customer_time(until, zone)
    if mode == "deferred":
        return f"hold {what or 'the message'} until {when}: {why or 'contact window, caps or gap'}"
    return f"wait {describe_duration(until - now)} until {when}" + (f" ({what})" if what else "")


def stop_summary(name: str | None, consent: str | None, channel: str) -> str:
    """`record stop: cease`, `record stop: opt out of sms`, `record stop: pause`."""
    if consent == "cease":
        return "record stop: cease"
    if consent == "opt_out":
        return f"record stop: opt out of {channel}"
    return f"record stop: {(name or 'state').replace('_', ' ')}"
