"""A plan the journey follows, as a customer and an attacker would try it, on the
time-skipping server: chosen from the first visit (no offer needed), followed with
JourneyStep=plan and Outcome=on_plan, paid off (Outcome=paid); chosen twice, for a balance
that is cleared, changed beyond the journey's limit; an overpayment reversed."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from rapport.contract import search_attributes as sa
from rapport.contract.journey import JourneyStatus
from rapport.contract.names import ACCEPT_PLAN_UPDATE, workflow_id
from rapport.contract.payloads import Engagement, PaymentReceived, PaymentReversed
from rapport.contract.records import AcceptedPlan
from rapport.language.account import Account
from rapport.providers.outbox import Capture
from rapport.runtime.workers import EngineParts, build_worker
from rapport.security.links import LinkSigner
from tests.journey_files import write_journey
from tests.scenarios import account
from workflows.journey import DelinquencyJourney
from workflows.state import JourneyInput

JOURNEY = """\
id: plans
version: 1
name: Plans from the first visit, followed
policy:
  min_gap: 20h
  plans:
    when: "account.balance >= 50"
    installments: [2, 3]
    every: [weekly, monthly]
    min_installment: "10.00"
    first_due_in: 7d
on_plan:
  confirmation: {channel: email, template: confirmed}
  remind_before: 2d
  reminder: {channel: sms, template: soon}
  thanks: {channel: sms, template: thanks}
  grace: 2d
  broken: {misses: 1, goto: again}
  renegotiate: 1
steps:
  - {id: reminder, send: {channel: email, template: reminder}}
  - {id: pause, wait: 60d}
  - id: again
    offer_plan: {channel: sms, template: offer, installments: [2, 3], respond_within: 7d}
"""
TEMPLATES: dict[str, str | None] = {
    "confirmed.email.j2": "Subject: Your plan\n\n{% for i in plan.installments %}{{ i.amount }}"
    " on {{ i.due }}\n{% endfor %}{{ opt_out }}\n",
    "soon.sms.j2": "{{ plan.next.left }} due {{ plan.next.due }}. {{ opt_out }}\n",
    "thanks.sms.j2": "Got {{ payment.amount }}. {{ opt_out }}\n",
    "offer.sms.j2": "Another plan? {{ links.plan }} {{ opt_out }}\n",
}


@dataclass
class Journey:
    env: WorkflowEnvironment
    handle: WorkflowHandle[Any, Any]
    outbox: Capture

    async def status(self) -> JourneyStatus:
        return await self.handle.query(DelinquencyJourney.status)

    async def attributes(self) -> tuple[str | None, str | None]:
        found = (await self.handle.describe()).typed_search_attributes
        return found.get(sa.JOURNEY_STEP), found.get(sa.OUTCOME)

    async def choose(self, installments: int, every: str | None = None) -> AcceptedPlan:
        request: dict[str, Any] = {"installments": installments}
        if every is not None:
            request["every"] = every
        accepted: AcceptedPlan = await self.handle.execute_update(
            ACCEPT_PLAN_UPDATE, request, result_type=AcceptedPlan
        )
        return accepted

    async def refused(self, installments: int, every: str | None = None) -> str:
        with pytest.raises(WorkflowUpdateFailedError) as failed:
            await self.choose(installments, every)
        return str(getattr(failed.value.cause, "message", failed.value.cause))

    async def pay(self, amount: str, payment_id: str) -> None:
        await self.handle.signal(
            "payment_received", PaymentReceived(amount=Decimal(amount), payment_id=payment_id)
        )

    def sent(self, step: str) -> list[str]:
        return [m.body for m in self.outbox.items.values() if m.step == step]


@pytest.fixture
async def journey(env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Journey]:
    write_journey(tmp_path, JOURNEY, TEMPLATES)
    queue, outbox = f"plans-{uuid.uuid4()}", Capture()
    parts = EngineParts(journeys=[tmp_path], channels={"*": outbox}, signer=LinkSigner("k"))
    async with build_worker(env.client, queue, parts):
        handle = await env.client.start_workflow(
            DelinquencyJourney.run,
            JourneyInput(account=Account.model_validate(account()), journey="plans"),
            id=workflow_id("T-1"),
            task_queue=queue,
        )
        await env.sleep(timedelta(hours=1))
        yield Journey(env, handle, outbox)
        with contextlib.suppress(RPCError):  # unless it ended
            await handle.terminate("test over")


async def test_a_plan_from_the_first_visit_is_followed_then_paid(journey: Journey) -> None:
    status = await journey.status()
    assert status.plan_offer is None  # no offer was sent: the journey's terms open the door
    assert status.plan_choices is not None
    assert [o.installments for o in status.plan_choices.options] == [2, 3]
    assert status.plan_choices.every == ["weekly", "monthly"]
    accepted = await journey.choose(3, "weekly")
    assert [d.amount for d in accepted.schedule] == [Decimal("100.00")] * 3
    dues = [d.due for d in accepted.schedule]
    assert [(b - a).days for a, b in pairwise(dues)] == [7, 7]
    status = await journey.status()
    assert status.plan is not None
    assert [i.state for i in status.plan.installments] == ["due", "due", "due"]
    assert await journey.attributes() == ("plan", "on_plan")
    assert status.outcome is None  # still running: the portal stays open
    for n in (1, 2, 3):  # each the day before it is due, after its reminder
        await journey.env.sleep(timedelta(days=6 if n == 1 else 7))
        await journey.pay("100.00", f"p-{n}")
    result = await journey.handle.result()
    assert result.outcome == "paid"
    assert (await journey.attributes())[1] == "paid"
    assert len(journey.sent("on_plan.confirmation")) == 1
    assert len(journey.sent("on_plan.reminder")) == 3


async def test_a_plan_chosen_twice_is_one_plan(journey: Journey) -> None:
    """A double tap, or a replayed request: the same plan again changes nothing (one
    confirmation, plan 1, no change of plan used up)."""
    first = await journey.choose(3)
    again = await journey.choose(3)
    assert again == first
    await journey.env.sleep(timedelta(hours=1))
    status = await journey.status()
    assert status.plan is not None
    assert status.plan.number == 1
    assert status.earlier_plans == []
    assert len(journey.sent("on_plan.confirmation")) == 1
    assert status.plan_choices is not None
    assert status.plan_choices.changes_plan  # the one change the journey allows is left


async def test_a_plan_may_be_changed_once_then_no_more(journey: Journey) -> None:
    await journey.choose(3)
    await journey.env.sleep(timedelta(hours=1))  # its confirmation went
    await journey.choose(2, "weekly")  # renegotiate: 1
    status = await journey.status()
    assert status.plan is not None
    assert (status.plan.number, len(status.plan.installments)) == (2, 2)
    assert [p.state for p in status.earlier_plans] == ["replaced"]
    assert status.plan_choices is None
    reason = await journey.refused(3)
    assert "cannot be changed again" in reason
    status = await journey.status()
    assert status.plan is not None
    assert (status.plan.number, len(status.plan.installments)) == (2, 2)


async def test_no_plan_for_a_balance_that_is_cleared(journey: Journey) -> None:
    await journey.pay("300.00", "p-all")
    reason = await journey.refused(3)
    assert "ended" in reason
    status = await journey.status()
    assert status.plan is None


async def test_no_plan_below_the_terms_or_the_smallest_installment(journey: Journey) -> None:
    await journey.pay("275.00", "p-most")  # 25.00 left: below `when`, and 2 x 12.50 only
    status = await journey.status()
    assert status.plan_choices is None
    reason = await journey.refused(3)
    assert "no payment plan" in reason
    assert (await journey.status()).plan is None


async def test_a_plan_with_an_unknown_count_or_frequency_is_refused(journey: Journey) -> None:
    assert "4" in await journey.refused(4)
    assert "fortnightly" in await journey.refused(2, "fortnightly")
    assert (await journey.status()).plan is None


async def test_an_overpayment_reversed_reopens_what_it_paid(journey: Journey) -> None:
    """150.00 on a plan of 3 x 100.00 pays the first and half the second; its refund
    takes back the second's half first, then the first, and the balance is whole again."""
    await journey.choose(3, "weekly")
    await journey.pay("150.00", "p-over")
    await journey.env.sleep(timedelta(hours=1))  # thanked
    status = await journey.status()
    assert status.plan is not None
    assert [i.paid for i in status.plan.installments] == [
        Decimal("100.00"),
        Decimal("50.00"),
        Decimal("0"),
    ]
    await journey.handle.signal(
        "payment_reversed",
        PaymentReversed(payment_id="p-over", amount=Decimal("60.00"), reason="refund"),
    )
    await journey.env.sleep(timedelta(minutes=5))
    status = await journey.status()
    assert status.plan is not None
    assert [i.paid for i in status.plan.installments] == [
        Decimal("90.00"),
        Decimal("0"),
        Decimal("0"),
    ]
    assert status.balance == Decimal("210.00")
    await journey.handle.signal(
        "payment_reversed",
        PaymentReversed(payment_id="p-over", amount=Decimal("150.00"), reason="refund"),
    )
    await journey.env.sleep(timedelta(minutes=5))
    status = await journey.status()
    assert status.plan is not None
    assert [i.state for i in status.plan.installments] == ["due", "due", "due"]
    assert status.plan.left == Decimal("300.00")
    assert status.balance == Decimal("300.00")
    assert await journey.attributes() == ("plan", "on_plan")


async def test_a_thank_you_is_not_held_back_by_the_gap(journey: Journey) -> None:
    """The reminder goes under the policy (the contact window, the 20h gap); the thanks
    for a payment an hour after it goes at once, not 20 hours later."""
    await journey.choose(3, "weekly")
    for _ in range(24 * 7):
        if journey.sent("on_plan.reminder"):
            break
        await journey.env.sleep(timedelta(hours=1))
    reminded = next(m for m in journey.outbox.items.values() if m.step == "on_plan.reminder")
    status = await journey.status()
    local = ZoneInfo(status.timezone or "UTC")
    sent_at = next(m.at for m in status.messages if m.step == "on_plan.reminder")
    assert 8 <= sent_at.astimezone(local).hour < 21  # inside the contact window
    assert "$100.00" in reminded.body
    await journey.env.sleep(timedelta(hours=1))
    await journey.pay("100.00", "p-1")
    await journey.env.sleep(timedelta(hours=1))
    status = await journey.status()
    thanked = [m.at for m in status.messages if m.step == "on_plan.thanks"]
    assert len(thanked) == 1
    assert thanked[0] - sent_at < timedelta(hours=3)


async def test_a_plan_carries_across_continue_as_new(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """A plan lasts months: the journey continues as new on the way (a short history
    here), and the next run takes the plan up where it was, to the end."""
    write_journey(tmp_path, JOURNEY, TEMPLATES)
    queue, outbox = f"plans-{uuid.uuid4()}", Capture()
    parts = EngineParts(journeys=[tmp_path], channels={"*": outbox}, signer=LinkSigner("k"))
    async with build_worker(env.client, queue, parts):
        handle = await env.client.start_workflow(
            DelinquencyJourney.run,
            JourneyInput(
                account=Account.model_validate(account()), journey="plans", history_limit=100
            ),
            id=workflow_id("T-1"),
            task_queue=queue,
        )
        await env.sleep(timedelta(hours=1))
        journey = Journey(env, handle, outbox)
        await journey.choose(3, "weekly")
        for _ in range(40):  # a customer who opens every message, many times
            await handle.signal("engagement", Engagement(kind="opened"))
        for n in (1, 2, 3):
            await env.sleep(timedelta(days=6 if n == 1 else 7))
            latest = env.client.get_workflow_handle(handle.id)
            await latest.signal(
                "payment_received", PaymentReceived(amount=Decimal("100.00"), payment_id=f"p-{n}")
            )
        latest = env.client.get_workflow_handle(handle.id)
        result = await latest.result()
        status = await latest.query(DelinquencyJourney.status)
    assert result["outcome"] == "paid"
    first = env.client.get_workflow_handle(handle.id, run_id=handle.result_run_id)
    ended = (await first.fetch_history()).events[-1]
    assert ended.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    assert status.plan is not None
    assert status.plan.number == 1
    assert [i.state for i in status.plan.installments] == ["paid", "paid", "paid"]
    assert len([m for m in status.messages if m.step == "on_plan.confirmation"]) == 1


async def test_a_plan_reminder_keeps_to_the_caps(env: WorkflowEnvironment, tmp_path: Path) -> None:
    """One text a week at most: the first text went on day 0, so the reminder due on day
    5 waits for the cap to let it go (day 7, the due date itself), never two in a week."""
    capped = JOURNEY.replace(
        "  min_gap: 20h\n", "  min_gap: 20h\n  caps: [{channel: sms, max: 1, per: 7d}]\n"
    ).replace(
        "{id: reminder, send: {channel: email, template: reminder}}",
        "{id: reminder, send: {channel: sms, template: nudge}}",
    )
    write_journey(tmp_path, capped, TEMPLATES)
    queue, outbox = f"plans-{uuid.uuid4()}", Capture()
    parts = EngineParts(journeys=[tmp_path], channels={"*": outbox}, signer=LinkSigner("k"))
    async with build_worker(env.client, queue, parts):
        handle = await env.client.start_workflow(
            DelinquencyJourney.run,
            JourneyInput(account=Account.model_validate(account()), journey="plans"),
            id=workflow_id("T-1"),
            task_queue=queue,
        )
        await env.sleep(timedelta(hours=1))
        journey = Journey(env, handle, outbox)
        await journey.choose(3, "weekly")
        await env.sleep(timedelta(days=7, hours=20))
        status = await journey.status()
        await handle.terminate("test over")
    texts = [m.at for m in status.messages if m.channel == "sms"]
    assert [m.step for m in status.messages if m.channel == "sms"] == [
        "reminder",
        "on_plan.reminder",
    ]
    assert texts[1] - texts[0] >= timedelta(days=7)
