"""Nothing is sent that must not be (issue: the engine's edges). Each test is a customer's
story on the time-skipping server with real HTTP servers on loopback for billing and SMS."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from rapport.billing.sources import HttpBilling
from rapport.cli.demo import midday_zone
from rapport.contract import search_attributes as sa
from rapport.contract.names import workflow_id
from rapport.contract.payloads import PaymentReceived
from rapport.language.account import Account
from rapport.providers.outbox import Capture
from rapport.providers.twilio import TwilioSms
from rapport.runtime.workers import EngineParts, build_worker
from rapport.security.links import LinkSigner
from tests.fakes import FakeBilling, FakeSmsProvider, Hold, recipients_at, serving
from tests.journey_files import write_journey
from tests.scenarios import account, sent, simulate_journey
from workflows.journey import DelinquencyJourney
from workflows.state import JourneyInput

TEXT_THEN_WAIT = """\
id: stops
version: 1
name: A text, a wait, a text
on_paid:
  send: {channel: email, template: thanks}
steps:
  - {id: nudge, send: {channel: sms, template: nudge}}
  - {id: pause, wait: 2d}
  - {id: again, send: {channel: sms, template: nudge}}
"""


def sms(provider: FakeSmsProvider, base: str, tmp_path: Path, timeout: float = 10.0) -> TwilioSms:
    return TwilioSms(
        base, provider.sid, provider.token, "+15550000000", recipients_at(tmp_path), timeout=timeout
    )


async def test_a_cease_while_billing_answers_stops_the_reminder(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """The balance check is slow; the customer asks us to stop meanwhile: nothing goes."""
    write_journey(tmp_path, TEXT_THEN_WAIT)
    billing = FakeBilling(balances={"T-1": Decimal("300.00")}, hold=Hold(1))
    provider = FakeSmsProvider()
    queue = f"stops-{uuid.uuid4()}"
    async with serving(billing.app()) as bill, serving(provider.app()) as base:
        parts = EngineParts(
            journeys=[tmp_path],
            channels={"*": Capture(), "sms": sms(provider, base, tmp_path)},
            signer=LinkSigner("k"),
            balance_source=HttpBilling(bill, timeout=30),
        )
        async with build_worker(env.client, queue, parts):
            customer = Account.model_validate(account(customer__timezone=midday_zone()))
            handle = await env.client.start_workflow(
                DelinquencyJourney.run,
                JourneyInput(account=customer, journey="stops"),
                id=workflow_id("T-1"),
                task_queue=queue,
            )
            await asyncio.wait_for(billing.hold.holding.wait(), 30)  # the check is under way
            await handle.signal("cease_communication")
            result = await handle.result()
            billing.hold.released.set()
            status = await handle.query(DelinquencyJourney.status)
    assert result.outcome == "ceased"
    assert provider.messages == []
    assert status.messages == []
    # the operator is told the reminder was called off mid-delivery (it may have gone)
    assert [(s.step, s.reason) for s in status.skipped] == [("nudge", "called_off")]


async def test_billing_down_until_after_closing_means_no_night_text(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """Billing is unreachable from 20:50 into the night: the text waits for the morning."""
    billing = FakeBilling(balances={"T-1": Decimal("300.00")}, failures=40)
    async with serving(billing.app()) as bill:
        timeline = await simulate_journey(
            env,
            tmp_path,
            TEXT_THEN_WAIT,
            days=2,
            start="2028-03-01T20:50",
            billing=HttpBilling(bill, timeout=5),
        )
    step, channel, at = sent(timeline)[0]
    local = datetime.fromisoformat(at)
    assert (step, channel) == ("nudge", "sms")
    assert 8 <= local.hour < 21
    assert local.date().isoformat() == "2028-03-02"


async def test_a_payment_calls_off_a_text_being_retried(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """The SMS provider is failing and the reminder is being retried when the customer
    pays in full: the retries stop, and only the thank-you follows."""
    provider = FakeSmsProvider(failures=[(503, {})] * 12)
    async with serving(provider.app()) as base:
        timeline = await simulate_journey(
            env,
            tmp_path,
            TEXT_THEN_WAIT,
            days=3,
            start="2028-03-01T12:00",
            channels={"sms": sms(provider, base, tmp_path)},
            events=[{"at": "+3m", "type": "payment_received", "amount": "300.00"}],
        )
    assert [s for s, _, _ in sent(timeline)] == ["on_paid"]
    assert provider.messages == []  # no reminder delivered after the payment
    assert timeline["outcome"] == "paid"
    assert ("nudge", "called_off") in [(s["step"], s["reason"]) for s in timeline["skipped"]]


async def test_paid_while_disputed_ends_the_journey(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    timeline = await simulate_journey(
        env,
        tmp_path,
        TEXT_THEN_WAIT,
        days=60,
        events=[
            {"at": "+1h", "type": "dispute"},
            {"at": "+3d", "type": "payment_received", "amount": "300.00"},
        ],
    )
    assert timeline["outcome"] == "paid"  # not still running 60 days on
    assert [(s["step"], s["reason"]) for s in timeline["skipped"]] == [("on_paid", "disputed")]


async def test_paid_while_paused_ends_the_journey(env: WorkflowEnvironment, tmp_path: Path) -> None:
    timeline = await simulate_journey(
        env,
        tmp_path,
        TEXT_THEN_WAIT,
        days=60,
        events=[
            {"at": "+1h", "type": "pause"},
            {"at": "+2d2h", "type": "payment_received", "amount": "300.00"},
        ],
    )
    assert timeline["outcome"] == "paid"
    assert [s for s, _, _ in sent(timeline)] == ["nudge"]


@pytest.mark.slow
async def test_a_rescheduled_delivery_counts_as_a_possible_duplicate(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """The provider takes the 20:58 text but its answer never comes; the window closes and
    the text goes again next morning: the journey says it may have gone twice."""
    provider = FakeSmsProvider(hold=Hold(1), failures=[(503, {})] * 6)
    async with serving(provider.app()) as base:
        timeline = await simulate_journey(
            env,
            tmp_path,
            TEXT_THEN_WAIT,
            days=2,
            start="2028-03-01T20:58",
            channels={"sms": sms(provider, base, tmp_path, timeout=0.5)},
        )
        provider.hold.released.set()
    first = timeline["messages"][0]
    assert datetime.fromisoformat(first["at"]).date().isoformat() == "2028-03-02"
    assert len(provider.messages) == 2  # over the wire twice: an SMS API has no idempotency
    assert timeline["possible_duplicates"] == 1


async def test_the_truth_at_once_when_a_payment_clears_the_balance(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """Paid at 22:00 while the next text is deferred to the morning: status and search
    attributes say paid at once; the thank-you still waits for 08:00."""
    write_journey(tmp_path, TEXT_THEN_WAIT.replace("wait: 2d", "wait: 1h"))
    queue = f"truth-{uuid.uuid4()}"
    parts = EngineParts(journeys=[tmp_path], channels={"*": Capture()}, signer=LinkSigner("k"))
    start = datetime.fromisoformat("2028-03-01T20:30:00-05:00")
    async with build_worker(env.client, queue, parts):
        await env.sleep(start - await env.get_current_time())
        handle = await env.client.start_workflow(
            DelinquencyJourney.run,
            JourneyInput(account=Account.model_validate(account()), journey="stops"),
            id=workflow_id("T-1"),
            task_queue=queue,
        )
        await env.sleep(timedelta(hours=2))  # 22:30: the second text waits for 08:00
        assert (await handle.query(DelinquencyJourney.status)).state == "deferred"
        await handle.signal(
            "payment_received", PaymentReceived(amount=Decimal("300.00"), payment_id="P-1")
        )
        status = await handle.query(DelinquencyJourney.status)
        attributes = (await handle.describe()).typed_search_attributes
        assert (status.outcome, status.balance, status.state) == (
            "paid",
            Decimal("0.00"),
            "deferred",
        )
        assert (attributes.get(sa.OUTCOME), attributes.get(sa.BALANCE_DUE)) == ("paid", 0.0)
        result = await handle.result()
        status = await handle.query(DelinquencyJourney.status)
    assert result.outcome == "paid"
    assert [m.step for m in status.messages] == ["nudge", "on_paid"]
    assert status.messages[-1].at.astimezone(start.tzinfo).hour == 8
