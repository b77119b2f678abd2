"""A STOP holds through faults: the worker SIGKILLed at random while STOPs arrive, and
Temporal down when one arrives. On the embedded dev server, with `python worker.py` as a
separate process, a Twilio-style SMS provider and the inbound endpoint on loopback, all
sharing one store. Each journey texts, waits a real minute, and texts again."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from rapport.cli.demo import midday_zone
from rapport.client import Journeys
from rapport.consent.book import ConsentBook
from rapport.contract.journey import JourneyStatus
from rapport.language.account import Account
from rapport.providers.twilio import twilio_signature
from rapport.runtime.servers import start_dev_server
from rapport.runtime.settings import Settings
from rapport.store.database import Store
from rapport.store.recipients import RecipientIndex
from rapport.web.inbound import InboundSms
from rapport.web.journeys import JourneyLink
from tests.fakes import FakeSmsProvider, serving, serving_asgi
from tests.journey_files import write_journey
from tests.reliability.test_reliability import kill_at_random, results_in_turn
from tests.scenarios import account
from tests.workers import Workers, settings_for, twilio_env, worker_env
from workflows.journey import DelinquencyJourney

pytestmark = pytest.mark.slow  # real minutes of journeys, SIGKILLs, Temporal stopped

JOURNEY = """\
id: twice
version: 1
name: A text, a minute's wait, another text
entry: {when: "account.days_past_due > 0"}
steps:
  - {id: first, send: {channel: sms, template: first}}
  - {id: pause, wait: 1m}
  - {id: second, send: {channel: sms, template: second}}
"""
TEXTS: dict[str, str | None] = {
    "first.sms.j2": "First: {{ balance }} due. {{ opt_out }}",
    "second.sms.j2": "Second: {{ balance }} due. {{ opt_out }}",
}


def phone(index: int) -> str:
    return f"+1555555{index:04d}"  # places no one: only the stated zone's hours count


def customer(index: int) -> Account:
    return Account.model_validate(
        account(
            account_id=f"S-{index}",
            consent={"sms": True},
            customer__phone=phone(index),
            customer__timezone=midday_zone(),
        )
    )


@dataclass
class Rig:
    server: WorkflowEnvironment
    settings: Settings
    store: Store
    sms: FakeSmsProvider
    workers: Workers
    inbound: InboundSms
    inbound_url: str

    def texts_to(self, index: int, prefix: str = "") -> int:
        return sum(
            1 for m in self.sms.messages if m["To"] == phone(index) and m["Body"].startswith(prefix)
        )

    async def stop(self, http: httpx.AsyncClient, index: int) -> None:
        """Reply STOP as a provider would deliver it: again until answered 2xx."""
        form = {"From": phone(index), "Body": "Stop", "MessageSid": f"SM-stop-{index}"}
        headers = {"X-Twilio-Signature": twilio_signature(self.sms.token, self.inbound_url, form)}
        while (await http.post(self.inbound_url, data=form, headers=headers)).status_code != 200:  # noqa: ASYNC110  (polling another process's state: there is no event to await)
            await asyncio.sleep(0.5)


@asynccontextmanager
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    settings = settings_for(tmp_path)
    write_journey(settings.journeys_dir, JOURNEY, TEXTS)
    store = Store(settings.store_url())
    store.upgrade()
    sms = FakeSmsProvider()
    server = await start_dev_server(settings)
    async with AsyncExitStack() as stack:
        sms_base = await stack.enter_async_context(serving(sms.app()))
        inbound = InboundSms(
            JourneyLink(settings, server.client),
            RecipientIndex(store),
            sms.token,
            "http://later",
            ConsentBook(store),
        )
        inbound_base = await stack.enter_async_context(serving_asgi(inbound.app()))
        inbound.public_url = inbound_base
        workers = Workers(
            worker_env(settings, **twilio_env(sms_base, sms.sid, sms.token)),
            tmp_path / "worker.log",
        )
        stack.callback(workers.stop_all)
        rigged = Rig(server, settings, store, sms, workers, inbound, f"{inbound_base}/sms/inbound")
        try:
            yield rigged
        finally:
            await rigged.server.shutdown()
            store.dispose()


@pytest.mark.timeout(600)
async def test_no_text_after_a_committed_stop_while_workers_die(tmp_path: Path) -> None:
    count, seed = 30, int(time.time())
    chance = random.Random(seed)
    stopping = set(chance.sample(range(count), 15))
    async with rig(tmp_path) as r, httpx.AsyncClient(timeout=30) as http:
        journeys = Journeys(r.server.client, r.settings)
        handles = [(await journeys.start(customer(i))).handle for i in range(count)]

        async def stop_once_texted() -> None:
            waiting = set(stopping)
            while waiting:
                for i in sorted(waiting):
                    if r.texts_to(i):
                        await r.stop(http, i)
                        waiting.discard(i)
                await asyncio.sleep(0.2)

        stops = asyncio.create_task(stop_once_texted())
        kills = await kill_at_random(r.workers, chance, 30.0)
        r.workers.start()  # the last one lives
        await asyncio.wait_for(stops, 240)
        results = await results_in_turn(handles)
        states = [await journeys.status(f"S-{i}") for i in range(count)]
    print(f"\nconsent under kills: seed={seed} kills={kills} texts={len(r.sms.messages)}")
    assert kills >= 3
    for i in range(count):
        if i in stopping:  # the first text went (it is what they replied to); nothing after
            assert r.texts_to(i, "Second") == 0, f"S-{i}"
            assert ("second", "opted_out") in [(s.step, s.reason) for s in states[i].skipped]
        else:
            assert r.texts_to(i, "Second") >= 1, f"S-{i}"
        assert r.texts_to(i, "First") >= 1
        assert results[i].outcome == "exhausted"


@pytest.mark.timeout(600)
async def test_a_stop_while_temporal_is_down_holds_for_this_journey_and_the_next(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path) as r, httpx.AsyncClient(timeout=30) as http:
        r.workers.start()
        journeys = Journeys(r.server.client, r.settings)
        await journeys.start(customer(1))
        while not r.texts_to(1):  # noqa: ASYNC110  (polling another process's state: there is no event to await)
            await asyncio.sleep(0.1)
        await r.server.shutdown()
        started = time.monotonic()
        await r.stop(http, 1)  # committed; the journey cannot hear of it now
        answered_in = time.monotonic() - started
        r.server = await start_dev_server(r.settings)
        journeys = Journeys(r.server.client, r.settings)
        handle = r.server.client.get_workflow_handle_for(DelinquencyJourney.run, "delinquency-S-1")
        await asyncio.wait_for(handle.result(), 240)
        first: JourneyStatus = await journeys.status("S-1")
        told = [
            e
            for e in (await handle.fetch_history()).events
            if e.workflow_execution_signaled_event_attributes.signal_name == "opt_out"
        ]
        again = (await journeys.start(customer(1))).handle  # next month's journey
        await asyncio.wait_for(again.result(), 240)
        second: JourneyStatus = await journeys.status("S-1")
    assert answered_in < 10  # the provider is answered, not kept waiting on Temporal
    assert told  # the opt-out signal, tried again once Temporal was back
    assert r.texts_to(1) == 1
    assert r.texts_to(1, "First") == 1
    assert [(s.step, s.reason) for s in first.skipped] == [("second", "opted_out")]
    assert [(s.step, s.reason) for s in second.skipped][:1] == [("first", "opted_out")]
