"""Inbound SMS replies and delivery callbacks become signals to the right journey."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from rapport.consent.book import ConsentBook
from rapport.contract.names import workflow_id
from rapport.language.account import Account
from rapport.providers.outbox import Capture
from rapport.providers.twilio import TwilioSms, twilio_signature
from rapport.runtime.settings import Settings
from rapport.runtime.workers import EngineParts, build_worker
from rapport.security.links import LinkSigner
from rapport.store.recipients import RecipientIndex
from rapport.web.inbound import InboundSms
from rapport.web.journeys import JourneyLink
from tests.fakes import FakeSmsProvider, recipients_at, serving, serving_asgi
from tests.journey_files import write_journey
from tests.scenarios import account
from workflows.journey import DelinquencyJourney
from workflows.state import JourneyInput

TEXTS = """\
id: texts
version: 1
name: Two texts
steps:
  - {id: first, send: {channel: sms, template: nudge}}
  - {id: pause, wait: 3d}
  - {id: second, send: {channel: sms, template: nudge}}
"""


async def post_signed(
    client: httpx.AsyncClient, url: str, token: str, form: dict[str, str]
) -> httpx.Response:
    return await client.post(
        url, data=form, headers={"X-Twilio-Signature": twilio_signature(token, url, form)}
    )


async def test_stop_reply_opts_the_account_out_of_sms(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    write_journey(tmp_path, TEXTS)
    provider = FakeSmsProvider()
    recipients = recipients_at(tmp_path)
    queue = f"inbound-{uuid.uuid4()}"
    async with serving(provider.app()) as sms_base:
        sms = TwilioSms(sms_base, provider.sid, provider.token, "+15550000000", recipients)
        parts = EngineParts(
            journeys=[tmp_path], channels={"*": Capture(), "sms": sms}, signer=LinkSigner("k")
        )
        inbound = InboundSms(
            JourneyLink(Settings(), env.client),
            recipients,
            provider.token,
            "http://placeholder",
            ConsentBook(recipients.store),
        )
        async with (
            build_worker(env.client, queue, parts),
            serving_asgi(inbound.app()) as base,
            httpx.AsyncClient() as http,
        ):
            inbound.public_url = base
            handle = await env.client.start_workflow(
                DelinquencyJourney.run,
                JourneyInput(account=Account.model_validate(account()), journey="texts"),
                id=workflow_id("T-1"),
                task_queue=queue,
            )
            await env.sleep(timedelta(hours=25))  # the first text has gone by now
            forged = await http.post(
                f"{base}/sms/inbound",
                data={"From": "+12125550100", "Body": "STOP"},
                headers={"X-Twilio-Signature": "forged"},
            )
            reply = await post_signed(
                http,
                f"{base}/sms/inbound",
                provider.token,
                {"From": "+12125550100", "Body": " stop "},
            )
            await handle.result()
            status = await handle.query(DelinquencyJourney.status)
    assert forged.status_code == 403
    assert reply.status_code == 200
    assert [m.step for m in status.messages] == ["first"]
    assert [(s.step, s.reason) for s in status.skipped] == [("second", "opted_out")]
    assert status.suppressed_channels == ["sms"]
    assert len(provider.messages) == 1


class SlowIndex(RecipientIndex):
    """The store taking 0.6 s to answer (a lock held by another process)."""

    def accounts(self, number: str) -> list[str]:
        time.sleep(0.6)
        return super().accounts(number)


@pytest.mark.slow
async def test_replies_wait_on_the_store_in_threads_not_on_the_event_loop(tmp_path: Path) -> None:
    """Two replies at once while the store is slow take about the time of one: the
    store's calls run in threads, so the loop goes on serving everyone else."""
    recipients = recipients_at(tmp_path)
    inbound = InboundSms(
        JourneyLink(Settings()),
        SlowIndex(recipients.store),
        "token",
        "http://placeholder",
        ConsentBook(recipients.store),
    )
    async with serving_asgi(inbound.app()) as base, httpx.AsyncClient() as http:
        inbound.public_url = base
        url, form = f"{base}/sms/inbound", {"From": "+12125550100", "Body": "hello"}
        began = time.perf_counter()
        answers = await asyncio.gather(*(post_signed(http, url, "token", form) for _ in range(2)))
        took = time.perf_counter() - began
    assert [a.status_code for a in answers] == [200, 200]
    assert took < 1.1, took  # one after the other (the loop blocked) would be 1.2 s or more
