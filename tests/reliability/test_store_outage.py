"""The store (PostgreSQL from pgserver) stopped for 60 s at a journey's start and at its
send: the journey waits for the store, says so in `journey status`, and goes on when the
store is back; nothing is sent unchecked and the journey never fails for it (issue 21).
These wait in real time (an outage is real time): each is as short as its backoffs."""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from rapport.catalog.archive import StoreArchive
from rapport.cli.demo import midday_zone
from rapport.client import Journeys
from rapport.consent.book import ConsentBook
from rapport.contract.names import workflow_id
from rapport.language.account import Account
from rapport.providers.outbox import Capture
from rapport.runtime.settings import Settings
from rapport.runtime.workers import EngineParts, build_worker
from rapport.security.links import LinkSigner
from rapport.store.database import Store
from rapport.store.deliveries import DeliveryLog
from rapport.store.links import LinkBook
from rapport.store.stops import JourneyStops
from tests.journey_files import write_journey
from tests.scenarios import account
from workflows.journey import DelinquencyJourney
from workflows.state import JourneyInput

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

OUTAGE = 60.0  # seconds the store is down

TEXT = """\
id: outage
version: 1
name: A text
steps:
  - {id: nudge, send: {channel: sms, template: nudge}}
"""
WAIT_THEN_TEXT = """\
id: outage
version: 1
name: A minute, then a text
steps:
  - {id: pause, wait: 1m}
  - {id: nudge, send: {channel: sms, template: nudge}}
"""


@dataclass
class Database:
    """A PostgreSQL of this test's own, to stop and start again."""

    folder: Path
    server: Any = None

    def start(self) -> str:
        import pgserver

        self.server = pgserver.get_server(self.folder, cleanup_mode="stop")
        return str(self.server.get_uri()).replace("postgresql://", "postgresql+psycopg://")

    def stop(self) -> None:
        self.server.cleanup()


@pytest.fixture
def database() -> Iterator[tuple[Database, Store]]:
    folder = Path(tempfile.mkdtemp(prefix="rapport-outage-"))
    os.environ.setdefault("XDG_RUNTIME_DIR", str(folder))
    database = Database(folder / "data")
    store = Store(database.start())
    store.upgrade()
    yield database, store
    store.dispose()
    database.stop()


def engine(tmp_path: Path, store: Store, outbox: Capture) -> EngineParts:
    return EngineParts(
        journeys=[tmp_path],
        channels={"*": outbox},
        signer=LinkSigner("k"),
        archive=StoreArchive(store),
        consent=ConsentBook(store),
        deliveries=DeliveryLog(store),
        links=LinkBook(store),
        stops=JourneyStops(store),
    )


async def state_becomes(journeys: Journeys, account_id: str, wanted: str, within: float) -> None:
    deadline = time.monotonic() + within
    seen = []
    while (state := (await journeys.status(account_id)).state) != wanted:
        seen.append(state)
        assert time.monotonic() < deadline, f"never {wanted}: {seen[-5:]}"
        await asyncio.sleep(0.5)


async def sent_within(outbox: Capture, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not outbox.items:
        assert time.monotonic() < deadline, "the text never went"
        await asyncio.sleep(0.5)


async def test_a_store_down_for_a_minute_at_the_start_only_delays_the_journey(
    env: WorkflowEnvironment, tmp_path: Path, database: tuple[Database, Store]
) -> None:
    server, store = database
    write_journey(tmp_path, TEXT)
    outbox = Capture()
    queue = f"outage-{uuid.uuid4()}"
    customer = Account.model_validate(account(customer__timezone=midday_zone()))
    journeys = Journeys(env.client, Settings(task_queue=queue))
    async with build_worker(env.client, queue, engine(tmp_path, store, outbox)):
        server.stop()
        down = time.monotonic()
        await env.client.start_workflow(
            DelinquencyJourney.run,
            JourneyInput(account=customer, journey="outage"),
            id=workflow_id(customer.account_id),
            task_queue=queue,
        )
        await state_becomes(journeys, customer.account_id, "waiting_for_store", 30)
        await asyncio.sleep(max(0.0, OUTAGE - (time.monotonic() - down)))
        assert outbox.items == {}
        server.start()
        await sent_within(outbox, 60)  # at the next try of its backoff (at most 40 s)
    description = await env.client.get_workflow_handle(workflow_id(customer.account_id)).describe()
    assert description.status is not None
    assert description.status.name in ("RUNNING", "COMPLETED")  # never failed for it


async def test_a_store_down_for_a_minute_at_the_send_only_delays_the_text(
    env: WorkflowEnvironment, tmp_path: Path, database: tuple[Database, Store]
) -> None:
    server, store = database
    write_journey(tmp_path, WAIT_THEN_TEXT)
    outbox = Capture()
    queue = f"outage-{uuid.uuid4()}"
    customer = Account.model_validate(account(customer__timezone=midday_zone()))
    journeys = Journeys(env.client, Settings(task_queue=queue))
    async with build_worker(env.client, queue, engine(tmp_path, store, outbox)):
        handle = await env.client.start_workflow(
            DelinquencyJourney.run,
            JourneyInput(account=customer, journey="outage"),
            id=workflow_id(customer.account_id),
            task_queue=queue,
        )
        await state_becomes(journeys, customer.account_id, "waiting", 30)
        await asyncio.sleep(40)  # the send is due 60 s in: the store goes down before it
        server.stop()
        down = time.monotonic()
        await state_becomes(journeys, customer.account_id, "waiting_for_store", 45)
        await asyncio.sleep(max(0.0, OUTAGE - (time.monotonic() - down)))
        assert outbox.items == {}  # nothing sent without the consent record's answer
        server.start()
        await sent_within(outbox, 60)
        result = await handle.result()
    assert result.messages_sent == 1
