"""The journey's facts for `when:` and templates: `journey.amount_paid`, `journey.payments`
and `journey.replied`, as the workflow keeps them (pure state here) and as a journey uses
them on the time-skipping server ("a plan at day 10 if no payment yet")."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from temporalio.testing import WorkflowEnvironment

from rapport.contract.payloads import (
    CallbackRequest,
    Engagement,
    Note,
    PaymentReceived,
    PaymentReversed,
)
from rapport.contract.records import trusted
from rapport.language.account import Account
from rapport.simulation.expect import Expect, check
from tests.scenarios import ACCOUNT, simulate_journey
from workflows.state import JourneyState

NOW = datetime(2028, 3, 1, 12, tzinfo=UTC)


def fresh() -> JourneyState:
    return JourneyState(
        account=Account.model_validate(ACCOUNT), balance=Decimal("300.00"), started_at=NOW
    )


def pay(state: JourneyState, amount: str, payment_id: str) -> None:
    state.on_payment_received(PaymentReceived(amount=Decimal(amount), payment_id=payment_id), NOW)


def test_amount_paid_and_payments_count_what_the_journey_took_less_what_went_back() -> None:
    state = fresh()
    assert state.paid_so_far() == (Decimal(0), 0)
    pay(state, "50.00", "p1")
    pay(state, "50.00", "p1")  # a repeat changes nothing
    pay(state, "20.00", "p2")
    assert state.paid_so_far() == (Decimal("70.00"), 2)
    reverse = PaymentReversed(payment_id="p1", amount=Decimal("10.00"), reason="refund")
    state.on_payment_reversed(reverse, NOW)
    assert state.paid_so_far() == (Decimal("60.00"), 2)  # part of it went back
    whole = PaymentReversed(payment_id="p1", amount=Decimal("50.00"), reason="failed")
    state.on_payment_reversed(whole, NOW)
    assert state.paid_so_far() == (Decimal("20.00"), 1)  # all of it: no longer a payment
    pay(state, "280.00", "p3")  # clears the balance (300 - 20): counted, the journey is paid
    pay(state, "5.00", "p4")  # after paid: in the ledger for billing, not counted
    assert state.paid
    assert state.paid_so_far() == (Decimal("300.00"), 2)


def test_a_state_carried_from_before_the_facts_reads_them_from_its_payments() -> None:
    """A journey that continued as new under the release before these fields existed."""
    state = fresh()
    pay(state, "50.00", "p1")
    pay(state, "25.00", "p2")
    state.on_payment_reversed(
        PaymentReversed(payment_id="p2", amount=Decimal("25.00"), reason="dispute"), NOW
    )
    kept = state.model_dump(mode="json", exclude_defaults=True)
    for field in ("amount_paid", "payments_counted"):
        kept.pop(field)
    carried = trusted(JourneyState, kept)
    assert carried.paid_so_far() == (Decimal("50.00"), 1)
    pay(carried, "10.00", "p3")
    assert carried.paid_so_far() == (Decimal("60.00"), 2)


def test_replied_is_a_text_back_or_a_word_on_the_portal_never_a_click_or_a_stop() -> None:
    """`journey.replied`: an SMS reply that is no keyword (engagement replied), a call
    asked for, a hardship reported or a dispute; not an open, a click, an opt-out or new
    payment details."""
    state = fresh()
    state.on_engagement(Engagement(kind="opened"), NOW)
    state.on_engagement(Engagement(kind="clicked"), NOW)
    assert state.engaged
    assert state.replies == 0
    state.on_engagement(Engagement(kind="replied"), NOW)
    assert state.replies == 1
    for effect in (state.on_hardship_reported, state.on_dispute):
        before = state.replies
        effect(Note(reason="said on the portal"), NOW)
        assert state.replies == before + 1
    state.on_callback_requested(CallbackRequest(at=NOW, reason="asked on the portal"), NOW)
    assert state.replies == 4


FACTS_JOURNEY = """\
id: facts
version: 1
name: Facts
policy: {min_gap: 20h}
steps:
  - id: reminder
    send: {channel: email, template: reminder}
  - id: ten_days
    wait: 10d
  - id: route
    branch:
      - {when: "journey.payments == 0", goto: plan}
      - {when: "journey.replied", goto: person}
  - id: so_far
    send: {channel: email, template: so_far}
  - id: paying
    end: paying
  - id: plan
    offer_plan: {channel: email, template: offer, installments: [2, 3], respond_within: 3d}
  - id: offered
    end: offered
  - id: person
    end: talked
"""
SO_FAR = (
    "Subject: So far\n\n{{ journey.payments }} payments, {{ journey.amount_paid }} paid, "
    "{{ balance }} left{% if journey.replied %}, thanks for your message{% endif %}.\n"
    "{{ opt_out }}\n"
)


async def run(
    env: WorkflowEnvironment, folder: Path, events: list[dict[str, Any]], expect: dict[str, Any]
) -> dict[str, Any]:
    timeline = await simulate_journey(
        env,
        folder,
        FACTS_JOURNEY,
        templates={"so_far.email.j2": SO_FAR},
        start="next wed 09:00",
        days=20,
        events=events,
    )
    misses = check(Expect.model_validate(expect), timeline)
    assert misses == [], [m.message for m in misses]
    return timeline


async def test_a_plan_at_day_10_if_no_payment_yet(env: WorkflowEnvironment, tmp_path: Path) -> None:
    await run(
        env,
        tmp_path,
        [],
        {
            "outcome": "offered",
            "sent": [{"step": "reminder", "day": 0}, {"step": "plan", "day": 10}],
            "not_sent": [{"step": "so_far"}],
        },
    )


async def test_no_plan_for_someone_who_paid_part_and_the_template_says_how_much(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """The facts reach the template through the real send (`journey.*` is carried only by
    sends whose template reads it)."""
    timeline = await run(
        env,
        tmp_path,
        [
            {"at": "+2d", "type": "payment_received", "amount": "40.00"},
            {"at": "+3d", "type": "payment_received", "amount": "35.50"},
            {"at": "+4d", "type": "sms_reply", "text": "Paid what I could"},
        ],
        {
            "outcome": "talked",
            "not_sent": [{"step": "plan"}, {"step": "so_far"}],
        },
    )
    assert timeline["balance"] == "224.50"


async def test_the_facts_in_a_template_are_the_journeys_own(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    timeline = await run(
        env,
        tmp_path,
        [
            {"at": "+2d", "type": "payment_received", "amount": "40.00"},
            {"at": "+3d", "type": "payment_received", "amount": "35.50"},
        ],
        {"outcome": "paying", "sent": [{"step": "so_far", "day": 10}]},
    )
    [message] = [m for m in timeline["messages"] if m["step"] == "so_far"]
    assert message["body"].startswith("2 payments, $75.50 paid, $224.50 left.")
