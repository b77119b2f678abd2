"""`journey migrate`: running journeys move to another version of their definition at
their next safe point, steps matched by id (issue 23). On the time-skipping server, with
a worker whose archive is the store (as in production): both versions side by side in
the journeys folder, the journeys started while only version 1 was there."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from rapport.catalog.archive import StoreArchive
from rapport.catalog.library import Library
from rapport.catalog.pinned import PinnedJourney
from rapport.cli.demo import midday_zone
from rapport.client import JourneyError, Journeys
from rapport.client.migrations import migrate, target_version
from rapport.contract import search_attributes as sa
from rapport.contract.journey import JourneyStatus
from rapport.contract.names import workflow_id
from rapport.contract.payloads import MigrateTo
from rapport.language.account import Account
from rapport.providers.outbox import Capture
from rapport.runtime.settings import Settings
from rapport.runtime.workers import EngineParts, build_worker
from rapport.security.links import LinkSigner
from rapport.store.database import Store
from tests.journey_files import write_journey
from tests.scenarios import account
from workflows.journey import DelinquencyJourney
from workflows.state import JourneyInput

V1 = """\
id: moving
version: 1
name: Moving, first version
steps:
  - {id: first, send: {channel: sms, template: nudge}}
  - {id: rest, wait: 2d}
  - {id: second, send: {channel: sms, template: nudge}}
  - {id: rest2, wait: 2d}
  - {id: old_last, send: {channel: sms, template: nudge}}
"""
# Version 2 greets by email after the first rest, and has no `rest2` (a `pause2` instead).
V2 = """\
id: moving
version: 2
name: Moving, second version
steps:
  - {id: first, send: {channel: sms, template: nudge}}
  - {id: rest, wait: 2d}
  - {id: welcome_back, send: {channel: email, template: reminder}}
  - {id: second, send: {channel: sms, template: nudge}}
  - {id: pause2, wait: 3d}
  - {id: new_last, send: {channel: email, template: reminder}}
"""


@dataclass
class Rig:
    env: WorkflowEnvironment
    folder: Path
    store: Store
    journeys: Journeys
    outbox: Capture
    queue: str

    async def start(self, account_id: str) -> WorkflowHandle[DelinquencyJourney, object]:
        customer = Account.model_validate(
            account(account_id=account_id, customer__timezone=midday_zone())
        )
        return await self.env.client.start_workflow(
            DelinquencyJourney.run,
            JourneyInput(account=customer, journey="moving"),
            id=workflow_id(account_id),
            task_queue=self.queue,
            search_attributes=sa.starting(customer),
        )

    async def status(self, account_id: str) -> JourneyStatus:
        return await self.journeys.status(account_id)

    def version_2(self) -> PinnedJourney:
        write_journey(self.folder, V2, name="moving_v2.yaml")  # beside version 1
        return target_version("moving", 2, Library([self.folder]), StoreArchive(self.store))

    def sent(self, account_id: str) -> list[tuple[str, str]]:
        return [
            (m.step, m.channel) for m in self.outbox.items.values() if m.account_id == account_id
        ]


@pytest_asyncio.fixture
async def rig(env: WorkflowEnvironment, tmp_path: Path, sqlite_store: Store) -> AsyncIterator[Rig]:
    folder = tmp_path / "journeys"
    write_journey(folder, V1, name="moving_v1.yaml")
    outbox = Capture()
    queue = f"migrate-{uuid.uuid4()}"
    parts = EngineParts(
        journeys=[folder],
        channels={"*": outbox},
        signer=LinkSigner("k"),
        archive=StoreArchive(sqlite_store),  # as a production worker's: the store
    )
    journeys = Journeys(env.client, Settings(task_queue=queue))
    async with build_worker(env.client, queue, parts):
        yield Rig(env, folder, sqlite_store, journeys, outbox, queue)


async def continued(client: Client, handle: WorkflowHandle[Any, Any]) -> None:
    """Until the journey's run has continued as new (asked of the server, not the journey:
    a query, or a result awaited, meeting the run as it closes goes unanswered on the
    time-skipping server)."""
    latest = client.get_workflow_handle(handle.id)
    for _ in range(100):
        if (await latest.describe()).run_id != handle.result_run_id:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the journey did not continue as new")


async def eventually_status(rig: Rig, account_id: str, check: object) -> JourneyStatus:
    """The status once `check(status)` holds (the journey answers within a moment)."""
    assert callable(check)
    for _ in range(100):
        status = await rig.status(account_id)
        if check(status):
            return status
        await asyncio.sleep(0.05)
    raise AssertionError(f"never: {status}")


async def test_a_dry_run_says_where_each_journey_would_be_and_its_next_contact(rig: Rig) -> None:
    handle = await rig.start("M-1")
    await rig.env.sleep(timedelta(hours=1))  # `first` went; it rests in `rest`
    resting = await rig.status("M-1")
    assert (resting.step, resting.state) == ("rest", "waiting")
    target = rig.version_2()

    [move] = await migrate(rig.journeys, target, ["M-1"], dry_run=True)

    assert (move.refused, move.sent) == (None, False)
    preview = move.preview
    assert preview is not None
    assert (preview.now and preview.now.version, preview.step_now) == (1, "rest")
    assert (preview.to.version, preview.step_then) == (2, "rest")
    assert preview.moves == "now, where it rests in its wait"
    contact = preview.next_contact
    assert contact is not None
    assert (contact.step, contact.channel, contact.template) == (
        "welcome_back",
        "email",
        "reminder",
    )
    assert contact.at == resting.next_action_at  # when its wait ends, in the window
    assert contact.local.endswith("customer time")
    after = await rig.status("M-1")  # nothing changed
    assert (after.journey_version, after.migrating_to, after.refused) == (1, None, [])
    await handle.terminate("test over")


async def test_a_journey_on_version_1_moves_to_version_2_and_then_follows_it(rig: Rig) -> None:
    handle = await rig.start("M-2")
    await rig.env.sleep(timedelta(hours=1))
    target = rig.version_2()

    [move] = await migrate(rig.journeys, target, ["M-2"], reason="welcome back by email")
    assert (move.refused, move.sent) == (None, True)
    await continued(rig.env.client, handle)  # at once: it rests in a wait
    moved = await rig.status("M-2")

    # recorded and shown: from which version to which, at which step, and why
    [record] = moved.migrations
    assert (record.from_version, record.to_version, record.step) == (1, 2, "rest")
    assert (record.to_hash, moved.journey_hash) == (target.pin.hash, target.pin.hash)
    assert record.reason == "welcome back by email"
    assert (moved.step, moved.state, moved.migrating_to) == ("rest", "waiting", None)
    assert moved.messages_sent == 1  # what it did on version 1 is kept

    await rig.env.sleep(timedelta(days=6))  # the rest of version 2
    assert await handle.result() is not None
    assert rig.sent("M-2") == [
        ("first", "sms"),  # version 1
        ("welcome_back", "email"),  # version 2 from here
        ("second", "sms"),
        ("new_last", "email"),
    ]
    done = await rig.status("M-2")
    assert (done.journey_version, done.outcome) == (2, "exhausted")
    # in the history: the signal, the pin resolved by an activity, the continue-as-new
    first_run = rig.env.client.get_workflow_handle(handle.id, run_id=handle.result_run_id)
    events = (await first_run.fetch_history()).events
    signalled = [
        e.workflow_execution_signaled_event_attributes.signal_name
        for e in events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    ]
    assert signalled == ["migrate_to"]
    assert events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    description = await rig.env.client.get_workflow_handle(handle.id).describe()
    assert description.typed_search_attributes.get(sa.JOURNEY_VERSION) == 2


async def test_a_journey_whose_step_is_gone_is_refused_before_anything_is_sent(rig: Rig) -> None:
    handle = await rig.start("M-3")
    await rig.env.sleep(timedelta(days=2, hours=1))  # `second` went; it rests in `rest2`
    assert (await rig.status("M-3")).step == "rest2"
    target = rig.version_2()

    [dry] = await migrate(rig.journeys, target, ["M-3"], dry_run=True)
    [move] = await migrate(rig.journeys, target, ["M-3"])

    for answer in (dry, move):
        assert answer.refused is not None
        assert answer.refused.startswith("step rest2 is not in moving v2 (its steps: ")
        assert not answer.sent  # checked before the signal: nothing sent to the journey
    status = await rig.status("M-3")
    assert (status.journey_version, status.migrating_to, status.refused) == (1, None, [])

    # sent anyway, raw, as any SDK could: the journey refuses it itself and goes on
    await handle.signal("migrate_to", MigrateTo(version=2))
    refusing = await eventually_status(rig, "M-3", lambda s: bool(s.refused))
    assert [(r.event, r.error) for r in refusing.refused] == [("migrate_to", f"v2: {move.refused}")]
    await rig.env.sleep(timedelta(days=3))
    assert rig.sent("M-3") == [("first", "sms"), ("second", "sms"), ("old_last", "sms")]
    assert (await rig.status("M-3")).journey_version == 1


async def test_an_unknown_version_is_refused_naming_those_there_are(rig: Rig) -> None:
    handle = await rig.start("M-4")
    await rig.env.sleep(timedelta(hours=1))
    version_2 = rig.version_2()

    with pytest.raises(JourneyError) as refused:
        target_version("moving", 7, Library([rig.folder]), StoreArchive(rig.store))
    message = str(refused.value)
    assert message.startswith("journey moving has no version 7; known: v1 (")
    assert f"v2 ({version_2.pin.hash}, " in message
    with pytest.raises(JourneyError, match="no journey 'elsewhere'"):
        target_version("elsewhere", 1, Library([rig.folder]), StoreArchive(rig.store))

    # a raw signal naming it: resolved by the worker's activity, refused in status
    await handle.signal("migrate_to", MigrateTo(version=7))
    status = await eventually_status(rig, "M-4", lambda s: bool(s.refused))
    [(event, error)] = [(r.event, r.error) for r in status.refused]
    assert event == "migrate_to"
    assert error.startswith("v7: journey moving has no version 7; known: v1 (")
    assert (status.journey_version, status.migrating_to) == (1, None)
    await handle.terminate("test over")
