"""A stop that reaches a journey while a send is under way means no request to the
provider (issue 21), whichever way the stop came: here each arrives as a raw Temporal
signal (as a billing system in any language would send it) one second into a billing
check that takes five, and the SMS server must see nothing.

Each story runs twice: with the worker as shipped (the stop's cancellation reaches the
send within a heartbeat, 0.2 s) and with heartbeats throttled to seconds, so only the
send's last look at the store, right before the provider call, can stop it."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from rapport.billing.sources import HttpBilling
from rapport.cli.demo import midday_zone
from rapport.consent.book import ConsentBook
from rapport.contract.names import workflow_id
from rapport.language.account import Account
from rapport.providers.outbox import Capture
from rapport.providers.twilio import TwilioSms
from rapport.runtime.workers import EngineParts, build_worker
from rapport.security.links import LinkSigner
from rapport.store.database import Store
from rapport.store.stops import JourneyStops
from tests.fakes import FakeBilling, FakeSmsProvider, recipients_at, serving
from tests.journey_files import write_journey
from tests.scenarios import account
from workflows.journey import DelinquencyJourney
from workflows.state import JourneyInput

# real time: billing checks of five seconds, providers held while a stop arrives
pytestmark = pytest.mark.slow

TEXTS = """\
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

# The worker as shipped, and one whose heartbeats (and so cancellations) are slow.
WORKERS = {
    "cancellation": {},
    "last-look": {"max_heartbeat_throttle_interval": timedelta(seconds=30)},
}


async def a_stop_during_a_slow_billing_check(
    env: WorkflowEnvironment,
    tmp_path: Path,
    store: Store,
    worker: dict[str, Any],
    signal: str,
    payload: dict[str, Any] | None,
) -> tuple[FakeSmsProvider, Any]:
    write_journey(tmp_path, TEXTS)
    billing = FakeBilling(balances={"T-1": Decimal("300.00")}, delay=5.0)
    provider = FakeSmsProvider()
    queue = f"in-flight-{uuid.uuid4()}"
    async with serving(billing.app()) as bill, serving(provider.app()) as base:
        parts = EngineParts(
            journeys=[tmp_path],
            channels={
                "*": Capture(),
                "sms": TwilioSms(
                    base, provider.sid, provider.token, "+15550000000", recipients_at(tmp_path)
                ),
            },
            signer=LinkSigner("k"),
            balance_source=HttpBilling(bill, timeout=30),
            consent=ConsentBook(store),
            stops=JourneyStops(store),
        )
        async with build_worker(env.client, queue, parts, **worker):
            customer = Account.model_validate(account(customer__timezone=midday_zone()))
            handle = await env.client.start_workflow(
                DelinquencyJourney.run,
                JourneyInput(account=customer, journey="stops"),
                id=workflow_id("T-1"),
                task_queue=queue,
            )
            await asyncio.wait_for(billing.asked.wait(), 30)  # the check is under way
            await asyncio.sleep(1.0)
            # by name, with plain JSON: what any Temporal SDK sends
            await handle.signal(signal, payload) if payload else await handle.signal(signal)
            await handle.result()  # (this handle lets the test server skip the 2-day wait)
            status = await handle.query("status")
    return provider, status


@pytest.mark.slow
@pytest.mark.parametrize("worker", WORKERS.values(), ids=WORKERS.keys())
async def test_a_cease_one_second_into_a_five_second_billing_check_sends_nothing(
    env: WorkflowEnvironment, tmp_path: Path, sqlite_store: Store, worker: dict[str, Any]
) -> None:
    provider, status = await a_stop_during_a_slow_billing_check(
        env, tmp_path, sqlite_store, worker, "cease_communication", None
    )
    assert provider.requests == 0  # nothing reached the SMS server
    assert status["outcome"] == "ceased"
    assert status["messages"] == []
    assert ("nudge", "called_off") in [(s["step"], s["reason"]) for s in status["skipped"]]
    # the raw signal's cease is in the consent record, for every journey and the portal
    refusal = ConsentBook(sqlite_store).refusal("T-1", "email", None)
    assert refusal is not None
    assert (refusal.reason, refusal.entry.source) == ("ceased", "journey_signal")


@pytest.mark.slow
@pytest.mark.parametrize("worker", WORKERS.values(), ids=WORKERS.keys())
async def test_an_opt_out_one_second_into_a_five_second_billing_check_sends_nothing(
    env: WorkflowEnvironment, tmp_path: Path, sqlite_store: Store, worker: dict[str, Any]
) -> None:
    provider, status = await a_stop_during_a_slow_billing_check(
        env, tmp_path, sqlite_store, worker, "opt_out", {"channel": "sms"}
    )
    assert provider.requests == 0
    assert status["messages"] == []  # the second text is not sent either
    reasons = [(s["step"], s["reason"]) for s in status["skipped"]]
    assert reasons[0] == ("nudge", "called_off")
    assert ("again", "opted_out") in reasons
    refusal = ConsentBook(sqlite_store).refusal("T-1", "sms", None)
    assert refusal is not None
    assert refusal.reason == "opted_out"


@pytest.mark.slow
@pytest.mark.parametrize("worker", WORKERS.values(), ids=WORKERS.keys())
async def test_a_payment_one_second_into_a_five_second_billing_check_sends_no_reminder(
    env: WorkflowEnvironment, tmp_path: Path, sqlite_store: Store, worker: dict[str, Any]
) -> None:
    provider, status = await a_stop_during_a_slow_billing_check(
        env,
        tmp_path,
        sqlite_store,
        worker,
        "payment_received",
        {"amount": "300.00", "payment_id": "P-1"},
    )
    assert provider.requests == 0
    assert status["outcome"] == "paid"
    assert [m["step"] for m in status["messages"]] == ["on_paid"]  # the thank-you, by email


HOLDS = {"pause": "resume", "dispute": "dispute_resolved"}


async def status_when(handle: Any, ready: Any, seconds: float = 20.0) -> dict[str, Any]:
    """The journey's status once `ready(status)` holds (polled in real time)."""
    for _ in range(int(seconds * 10)):
        status: dict[str, Any] = await handle.query("status")
        if ready(status):
            return status
        await asyncio.sleep(0.1)
    raise AssertionError(f"not reached in {seconds} s: {status}")


@pytest.mark.parametrize("hold", HOLDS)
@pytest.mark.parametrize("worker", WORKERS.values(), ids=WORKERS.keys())
async def test_a_pause_or_dispute_one_second_into_a_slow_billing_check_holds_the_text(
    env: WorkflowEnvironment,
    tmp_path: Path,
    sqlite_store: Store,
    worker: dict[str, Any],
    hold: str,
) -> None:
    """The customer disputes (or an operator pauses) while the text is on its way: no
    request reaches the SMS server while the hold lasts; once it is lifted the text goes,
    once, and the journey carries on."""
    write_journey(tmp_path, TEXTS)
    billing = FakeBilling(balances={"T-1": Decimal("300.00")}, delay=5.0)
    provider = FakeSmsProvider()
    queue = f"held-{uuid.uuid4()}"
    async with serving(billing.app()) as bill, serving(provider.app()) as base:
        parts = EngineParts(
            journeys=[tmp_path],
            channels={
                "*": Capture(),
                "sms": TwilioSms(
                    base, provider.sid, provider.token, "+15550000000", recipients_at(tmp_path)
                ),
            },
            signer=LinkSigner("k"),
            balance_source=HttpBilling(bill, timeout=30),
            consent=ConsentBook(sqlite_store),
            stops=JourneyStops(sqlite_store),
        )
        async with build_worker(env.client, queue, parts, **worker):
            customer = Account.model_validate(account(customer__timezone=midday_zone()))
            handle = await env.client.start_workflow(
                DelinquencyJourney.run,
                JourneyInput(account=customer, journey="stops"),
                id=workflow_id("T-1"),
                task_queue=queue,
            )
            await asyncio.wait_for(billing.asked.wait(), 30)  # the check is under way
            await asyncio.sleep(1.0)
            await handle.signal(hold)  # by name, no payload: what any SDK sends
            held = await status_when(
                handle, lambda s: any(k["reason"] == "called_off" for k in s["skipped"])
            )
            await asyncio.sleep(5.0)  # the billing check would have answered by now
            assert provider.requests == 0  # nothing reached the SMS server
            assert held["state"] == "paused"
            assert held["messages"] == []
            billing.delay = 0.0
            await handle.signal(HOLDS[hold])
            result = await handle.result()
            status = await handle.query("status")
    assert provider.requests == 2  # the held text once it was lifted, then the next one
    assert [m["step"] for m in status["messages"]] == ["nudge", "again"]
    assert result.messages_sent == 2


@pytest.mark.parametrize("hold", HOLDS)
async def test_a_pause_or_dispute_once_the_text_has_gone_to_the_provider_sends_it_once(
    env: WorkflowEnvironment, tmp_path: Path, sqlite_store: Store, hold: str
) -> None:
    """The remaining window: the hold arrives after the last look, while the SMS server
    has the request and has not answered yet. The text has gone; calling the request off
    cannot take it back, only lose its answer. The journey records it as sent, holds the
    next one, and after the hold is lifted never sends the same text again."""
    write_journey(tmp_path, TEXTS)
    provider = FakeSmsProvider()
    provider.hold.count = 1  # takes the first text, then answers only when released
    queue = f"answer-{uuid.uuid4()}"
    async with serving(provider.app()) as base:
        parts = EngineParts(
            journeys=[tmp_path],
            channels={
                "*": Capture(),
                "sms": TwilioSms(
                    base, provider.sid, provider.token, "+15550000000", recipients_at(tmp_path)
                ),
            },
            signer=LinkSigner("k"),
            consent=ConsentBook(sqlite_store),
            stops=JourneyStops(sqlite_store),
        )
        async with build_worker(env.client, queue, parts):
            customer = Account.model_validate(account(customer__timezone=midday_zone()))
            handle = await env.client.start_workflow(
                DelinquencyJourney.run,
                JourneyInput(account=customer, journey="stops"),
                id=workflow_id("T-1"),
                task_queue=queue,
            )
            await asyncio.wait_for(provider.hold.holding.wait(), 30)  # the SMS server has it
            await handle.signal(hold)
            await asyncio.sleep(1.0)  # five heartbeats: the cancellation has landed
            provider.hold.released.set()  # the SMS server answers: queued
            held = await status_when(handle, lambda s: s["messages"] or s["skipped"])
            assert [m["step"] for m in held["messages"]] == ["nudge"]
            assert held["skipped"] == []
            assert held["step"] == "pause"  # on to the wait; the next text waits on the hold
            await handle.signal(HOLDS[hold])
            result = await handle.result()
    assert len(provider.messages) == 2  # the nudge once, then the next text
    assert result.messages_sent == 2
