"""SMS replies reach the consent record before anything else, over real HTTP: 2xx only
once a "no" is committed, 503 when it cannot be, once per provider message."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from rapport.consent.book import ConsentBook
from rapport.providers.twilio import twilio_signature
from rapport.runtime.settings import Settings
from rapport.store.database import Store
from rapport.web.inbound import InboundSms
from rapport.web.journeys import JourneyLink
from tests.consent.test_sends import run_journey
from tests.fakes import recipients_at, serving_asgi
from tests.scenarios import NOWHERE

TOKEN = "twilio-token"


@asynccontextmanager
async def inbound_for(
    env: WorkflowEnvironment, tmp_path: Path, store: Store
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    recipients = recipients_at(tmp_path)
    recipients.remember(NOWHERE, "C-1")  # texted before: no journey runs now
    app = InboundSms(
        JourneyLink(Settings(), env.client),
        recipients,
        TOKEN,
        "http://placeholder",
        ConsentBook(store),
        "Acme Lending: 0800 123 456.",
    )
    async with serving_asgi(app.app()) as base, httpx.AsyncClient() as http:
        app.public_url = base
        yield http, f"{base}/sms/inbound"


async def reply(
    http: httpx.AsyncClient, url: str, body: str, sid: str, sender: str = NOWHERE
) -> httpx.Response:
    form = {"From": sender, "Body": body, "MessageSid": sid}
    return await http.post(
        url, data=form, headers={"X-Twilio-Signature": twilio_signature(TOKEN, url, form)}
    )


@pytest.mark.slow
async def test_a_stop_no_journey_heard_still_holds_for_the_next_journey(
    env: WorkflowEnvironment, tmp_path: Path, sqlite_store: Store
) -> None:
    async with inbound_for(env, tmp_path, sqlite_store) as (http, url):
        answer = await reply(http, url, "Stop.", "SM-1")
    assert answer.status_code == 200
    status, outbox = await run_journey(env, tmp_path / "journeys", sqlite_store)
    assert [item.channel for item in outbox.items.values()] == ["email"]
    assert [(s.step, s.reason) for s in status.skipped] == [("text", "opted_out")]


@pytest.mark.slow
async def test_a_provider_retry_is_one_entry_and_start_opts_back_in(
    env: WorkflowEnvironment, tmp_path: Path, sqlite_store: Store
) -> None:
    async with inbound_for(env, tmp_path, sqlite_store) as (http, url):
        first = await reply(http, url, "STOP ALL", "SM-1")
        again = await reply(http, url, "STOP ALL", "SM-1")
        back = await reply(http, url, "start", "SM-2")
    assert (first.status_code, again.status_code, back.status_code) == (200, 200, 200)
    entries = ConsentBook(sqlite_store).entries(None, (NOWHERE,))
    assert [(e.action, e.source, e.reference) for e in entries] == [
        ("opt_out", "sms_keyword", "SM-1"),
        ("opt_in", "sms_keyword", "SM-2"),
    ]
    _, outbox = await run_journey(env, tmp_path / "journeys", sqlite_store)
    assert [item.channel for item in outbox.items.values()] == ["sms", "email"]


async def test_help_is_answered_with_the_creditors_contact_line(
    env: WorkflowEnvironment, tmp_path: Path, sqlite_store: Store
) -> None:
    async with inbound_for(env, tmp_path, sqlite_store) as (http, url):
        answer = await reply(http, url, "HELP", "SM-3")
    assert answer.status_code == 200
    assert answer.text == (
        "<Response><Message>Acme Lending: 0800 123 456. Reply STOP to stop "
        "texts.</Message></Response>"
    )
    assert ConsentBook(sqlite_store).entries(None, (NOWHERE,)) == []


async def test_a_store_that_cannot_commit_answers_503_and_loses_nothing(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    broken = Store(f"sqlite:///{tmp_path / 'not-yet-migrated.db'}")
    async with inbound_for(env, tmp_path, broken) as (http, url):
        refused = await reply(http, url, "STOP", "SM-4")
        broken.upgrade()  # the store is back; the provider sends the same message again
        kept = await reply(http, url, "STOP", "SM-4")
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "30"
    assert kept.status_code == 200
    assert [e.reference for e in ConsentBook(broken).entries(None, (NOWHERE,))] == ["SM-4"]
    broken.dispose()
