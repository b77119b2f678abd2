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
