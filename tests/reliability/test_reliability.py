"""Faults on the embedded dev server, with `python worker.py` as a separate process and
real SMTP, SMS and webhook servers on loopback.

- crash: 100 journeys while the worker is SIGKILLed at random moments and restarted;
  a quarter of the customers pay while their journey waits.
- server restart: the dev server stopped and started on its database file while the
  journeys run; the worker rides it out.

Both check what a customer would notice: every journey ends as it should, each step is
delivered once (duplicates over the wire are kept once by idempotent receivers, and
counted where the provider has no idempotency), and nothing but the thank-you reaches
a customer who paid. Each takes one to four minutes: the journey waits a real minute,
the language's smallest unit, and a killed worker's work is retried after Temporal's
timeouts.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest
from temporalio.client import WorkflowHandle

from rapport.cli.demo import midday_zone
from rapport.client import Journeys
from rapport.contract.journey import JourneyResult, JourneyStatus
from rapport.language.account import Account
from rapport.runtime.servers import start_dev_server
from rapport.runtime.settings import Settings
from tests.fakes import FakeSmsProvider, Mailbox, WebhookReceiver, serving, smtp_server
from tests.journey_files import write_journey
from tests.scenarios import account
from tests.workers import Workers, settings_for, smtp_env, twilio_env, webhook_env, worker_env
from workflows.journey import DelinquencyJourney

pytestmark = pytest.mark.slow  # real minutes of journeys, SIGKILLs, dev-server restarts

JOURNEY = """\
id: faults
version: 1
name: Push, text, a minute's wait, then email
entry: {when: "account.days_past_due > 0"}
on_paid:
  send: {channel: email, template: thanks}
steps:
  - {id: push, send: {channel: push, template: nudge}}
  - {id: text, send: {channel: sms, template: nudge}}
  - {id: pause, wait: 1m}
  - {id: mail, send: {channel: email, template: reminder}}
"""
PUSH: dict[str, str | None] = {"nudge.push.j2": "{{ balance }} is due"}
FINISH_WITHIN = 240.0  # seconds, after the faults stop


@dataclass
class Providers:
    """The three providers, each as a customer's inbox would see it."""

    mailbox: Mailbox = field(default_factory=Mailbox)
    hooks: WebhookReceiver = field(default_factory=lambda: WebhookReceiver(secret="faults"))
    sms: FakeSmsProvider = field(default_factory=FakeSmsProvider)

    def texted(self, phone: str) -> bool:
        return any(m["To"] == phone for m in self.sms.messages)


@asynccontextmanager
async def providers_for(settings: Settings, log: Path) -> AsyncIterator[tuple[Providers, Workers]]:
    providers = Providers()
    async with AsyncExitStack() as stack:
        smtp_port = await stack.enter_async_context(smtp_server(providers.mailbox))
        hook_base = await stack.enter_async_context(serving(providers.hooks.app()))
        sms_base = await stack.enter_async_context(serving(providers.sms.app()))
        env = worker_env(
            settings,
            **smtp_env(smtp_port),
            **webhook_env(hook_base, "faults", "push"),
            **twilio_env(sms_base, providers.sms.sid, providers.sms.token),
        )
        workers = Workers(env, log)
        try:
            yield providers, workers
        finally:
            workers.stop_all()


def customer(index: int) -> Account:
    return Account.model_validate(
        account(
            account_id=f"F-{index}",
            consent={"push": True, "sms": True, "email": True},
            customer__timezone=midday_zone(),
            customer__phone=f"+1555555{index:04d}",
            customer__email=f"f{index}@example.com",
        )
    )


async def results_in_turn(
    handles: list[WorkflowHandle[DelinquencyJourney, JourneyResult]],
) -> list[JourneyResult]:
    async def all_results() -> list[JourneyResult]:
        return [await handle.result() for handle in handles]

    return await asyncio.wait_for(all_results(), FINISH_WITHIN)


async def statuses(journeys: Journeys, count: int) -> list[JourneyStatus]:
    return [await journeys.status(f"F-{i}") for i in range(count)]


def called_off(status: JourneyStatus, step: str) -> bool:
    """The text was in delivery when the payment came: the journey says it may have gone."""
    return any(s.step == step and s.reason == "called_off" for s in status.skipped)


def assert_each_step_delivered_once(
    providers: Providers, results: list[JourneyResult], states: list[JourneyStatus], paid: set[int]
) -> None:
    for i, (result, status) in enumerate(zip(results, states, strict=True)):
        expected = (
            ("paid", ["push", "text", "on_paid"])
            if i in paid
            else ("exhausted", ["push", "text", "mail"])
        )
        if i in paid and called_off(status, "text"):  # the payment came mid-delivery
            expected = ("paid", ["push", "on_paid"])
        assert (result.outcome, [m.step for m in status.messages]) == expected, f"F-{i}"
    count = len(results)
    # idempotent receivers: whatever came twice over the wire, one message each
    pushes = Counter(p["account_id"] for p in providers.hooks.accepted.values())
    assert pushes == Counter({f"F-{i}": 1 for i in range(count)})
    mails = Counter(m["To"] for m in providers.mailbox.unique.values())
    assert mails == Counter({f"f{i}@example.com": 1 for i in range(count)})
    # no idempotency at the SMS provider: a journey whose text went out twice says so
    texts = Counter(m["To"] for m in providers.sms.messages)
    assert set(texts) == {f"+1555555{i:04d}" for i in range(count)}
    for i, status in enumerate(states):
        if texts[f"+1555555{i:04d}"] > 1:
            assert status.possible_duplicates >= 1, f"F-{i}"


def report(name: str, providers: Providers, **figures: object) -> None:
    wire = (
        f"over the wire: {len(providers.hooks.received)} pushes, "
        f"{len(providers.mailbox.received)} emails, {len(providers.sms.messages)} texts"
    )
    print(f"\n{name}: {figures} {wire}")


async def kill_at_random(workers: Workers, chance: random.Random, seconds: float) -> int:
    """Start a worker, SIGKILL it 1-5 s later, again and again for `seconds`."""
    kills = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        worker = workers.start()
        await asyncio.sleep(chance.uniform(1.0, 5.0))
        worker.kill()
        await asyncio.to_thread(worker.wait)
        kills += 1
    return kills


async def pay_once_texted(journeys: Journeys, providers: Providers, paying: set[int]) -> None:
    """Pay in full as soon as the customer has the text: the journey is in its wait."""
    waiting = set(paying)
    while waiting:
        for i in sorted(waiting):
            if providers.texted(f"+1555555{i:04d}"):
                await journeys.pay(f"F-{i}", Decimal("300.00"))
                waiting.discard(i)
        await asyncio.sleep(0.2)


@pytest.mark.timeout(600)
async def test_random_sigkills_repeat_nothing_and_lose_nothing(tmp_path: Path) -> None:
    count, seed = 100, int(time.time())
    chance = random.Random(seed)
    paid = set(chance.sample(range(count), 25))
    settings = settings_for(tmp_path)
    write_journey(settings.journeys_dir, JOURNEY, PUSH)
    server = await start_dev_server(settings)
    try:
        async with providers_for(settings, tmp_path / "worker.log") as (providers, workers):
            journeys = Journeys(server.client, settings)
            handles = [(await journeys.start(customer(i))).handle for i in range(count)]
            paying = asyncio.create_task(pay_once_texted(journeys, providers, paid))
            kills = await kill_at_random(workers, chance, 40.0)
            workers.start()  # the last one lives
            await asyncio.wait_for(paying, FINISH_WITHIN)
            results = await results_in_turn(handles)
            states = await statuses(journeys, count)
    finally:
        await server.shutdown()
    report(
        "crash",
        providers,
        seed=seed,
        kills=kills,
        reported_duplicates=sum(s.possible_duplicates for s in states),
    )
    assert kills >= 5
    assert_each_step_delivered_once(providers, results, states, paid)


@pytest.mark.timeout(600)
async def test_the_server_restarts_mid_run_and_every_journey_carries_on(tmp_path: Path) -> None:
    count = 30
    settings = settings_for(tmp_path)
    write_journey(settings.journeys_dir, JOURNEY, PUSH)
    server = await start_dev_server(settings)
    try:
        async with providers_for(settings, tmp_path / "worker.log") as (providers, workers):
            workers.start()  # one worker, never restarted
            journeys = Journeys(server.client, settings)
            for i in range(count):
                await journeys.start(customer(i))
            # mid-run: some texted, some not
            while len(providers.sms.messages) < count // 2:  # noqa: ASYNC110  (polling another process's state: there is no event to await)
                await asyncio.sleep(0.05)
            await server.shutdown()
            await asyncio.sleep(2)
            server = await start_dev_server(settings)  # same port, same database file
            journeys = Journeys(server.client, settings)
            handles = [
                server.client.get_workflow_handle_for(DelinquencyJourney.run, f"delinquency-F-{i}")
                for i in range(count)
            ]
            results = await results_in_turn(handles)
            states = await statuses(journeys, count)
    finally:
        await server.shutdown()
    report(
        "server restart", providers, reported_duplicates=sum(s.possible_duplicates for s in states)
    )
    assert_each_step_delivered_once(providers, results, states, paid=set())
