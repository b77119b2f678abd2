"""The send activity asks the store's consent record right before the provider: a "no"
given anywhere (a STOP, an operator, another journey) stops the message, and the journey
records why. On the time-skipping server with a real store."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from rapport.cli.demo import midday_zone
from rapport.consent.book import ConsentBook
from rapport.contract.journey import JourneyStatus
from rapport.contract.names import workflow_id
from rapport.contract.payloads import PaymentReceived
from rapport.language.account import Account
from rapport.providers.outbox import Capture
from rapport.runtime.workers import EngineParts, build_worker
from rapport.security.links import LinkSigner
from rapport.store.database import Store
from tests.journey_files import write_journey
from tests.scenarios import NOWHERE, account
from workflows.journey import DelinquencyJourney
from workflows.state import JourneyInput

JOURNEY = """\
id: asks
version: 1
name: A text, then an email
steps:
  - {id: text, send: {channel: sms, template: nudge}}
  - {id: rest, wait: 1d}
  - {id: mail, send: {channel: email, template: reminder}}
"""


async def run_journey(
    env: WorkflowEnvironment, folder: Path, store: Store, account_id: str = "C-1"
) -> tuple[JourneyStatus, Capture]:
    write_journey(folder, JOURNEY)
    outbox, queue = Capture(), f"consent-{uuid.uuid4()}"
    parts = EngineParts(
        journeys=[folder],
        channels={"*": outbox},
        signer=LinkSigner("k"),
        consent=ConsentBook(store),
    )
    async with build_worker(env.client, queue, parts):
        customer = Account.model_validate(
            account(account_id=account_id, customer__timezone=midday_zone())
        )
        handle = await env.client.start_workflow(
            DelinquencyJourney.run,
            JourneyInput(account=customer, journey="asks"),
            id=workflow_id(account_id),
            task_queue=queue,
        )
        await handle.result()
        status = await handle.query(DelinquencyJourney.status)
    return status, outbox


async def test_a_stop_kept_in_the_store_holds_for_a_new_journey(
    env: WorkflowEnvironment, tmp_path: Path, sqlite_store: Store
) -> None:
    """The customer texted STOP during last month's journey: this month's sends no text,
    and the email still goes."""
    ConsentBook(sqlite_store).record("opt_out", "sms", "sms_keyword", address=NOWHERE)
    status, outbox = await run_journey(env, tmp_path, sqlite_store)
    assert [item.channel for item in outbox.items.values()] == ["email"]
    assert [(s.step, s.reason) for s in status.skipped] == [("text", "opted_out")]
    assert status.skipped[0].detail.startswith("opted_out: sms_keyword at ")
    assert status.suppressed_channels == ["sms"]


async def test_a_cease_kept_in_the_store_ends_the_journey_at_its_first_send(
    env: WorkflowEnvironment, tmp_path: Path, sqlite_store: Store
) -> None:
    ConsentBook(sqlite_store).record("cease", "all", "operator", account_id="C-1")
    status, outbox = await run_journey(env, tmp_path, sqlite_store)
    assert outbox.items == {}
    assert status.outcome == "ceased"


async def test_start_after_stop_lets_the_text_go_again(
    env: WorkflowEnvironment, tmp_path: Path, sqlite_store: Store
) -> None:
    book = ConsentBook(sqlite_store)
    book.record("opt_out", "sms", "sms_keyword", address=NOWHERE)
    book.record("opt_in", "sms", "sms_keyword", address="+1 555 555 0100")  # NOWHERE
    _, outbox = await run_journey(env, tmp_path, sqlite_store)
    assert [item.channel for item in outbox.items.values()] == ["sms", "email"]


async def test_stop_then_payment_then_a_new_journey_is_still_suppressed(
    env: WorkflowEnvironment, tmp_path: Path, sqlite_store: Store
) -> None:
    """Paying ends a journey, not an opt-out: the next missed payment's journey sends no
    text either."""
    write_journey(tmp_path, JOURNEY)
    outbox, queue = Capture(), f"consent-{uuid.uuid4()}"
    parts = EngineParts(
        journeys=[tmp_path],
        channels={"*": outbox},
        signer=LinkSigner("k"),
        consent=ConsentBook(sqlite_store),
    )
    customer = Account.model_validate(account(account_id="C-2", customer__timezone=midday_zone()))
    async with build_worker(env.client, queue, parts):
        paying = await env.client.start_workflow(
            DelinquencyJourney.run,
            JourneyInput(account=customer, journey="asks"),
            id=workflow_id("C-2"),
            task_queue=queue,
        )
        await env.sleep(timedelta(hours=2))  # the text has gone; the journey rests
        ConsentBook(sqlite_store).record("opt_out", "sms", "sms_keyword", address=NOWHERE)
        await paying.signal(
            "payment_received", PaymentReceived(amount=Decimal("300.00"), payment_id="P-1")
        )
        assert (await paying.result()).outcome == "paid"
    status, _ = await run_journey(env, tmp_path, sqlite_store, account_id="C-2")
    assert [(s.step, s.reason) for s in status.skipped] == [("text", "opted_out")]
    assert [item.channel for item in outbox.items.values()] == ["sms"]  # the first journey's
