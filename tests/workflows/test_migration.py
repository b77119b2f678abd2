"""`journey migrate`: running journeys move to another version of their definition at
their next safe point, steps matched by id (issue 23). On the time-skipping server, with
a worker whose archive is the store (as in production): both versions side by side in
the journeys folder, the journeys started while only version 1 was there."""

from __future__ import annotations

import asyncio
import re
import shutil
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.api.enums.v1 import EventType
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from rapport.catalog import registry
from rapport.catalog.archive import StoreArchive
from rapport.catalog.library import Library
from rapport.catalog.pinned import PinnedJourney
from rapport.cli.demo import midday_zone
from rapport.client import JourneyError, Journeys
from rapport.client.migrations import migrate, target_version
from rapport.contract import search_attributes as sa
from rapport.contract.journey import JourneyStatus
from rapport.contract.names import workflow_id
from rapport.contract.payloads import Engagement, MigrateTo
from rapport.language.account import Account
from rapport.providers.base import Outgoing, Receipt
from rapport.providers.outbox import Capture
from rapport.runtime.settings import Settings
from rapport.runtime.temporal import data_converter
from rapport.runtime.workers import EngineParts, build_worker
from rapport.security.links import LinkSigner
from rapport.store.database import Store
from tests.journey_files import write_journey
from tests.scenarios import account
from tests.workflows.test_intake import KEYS
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
# Version 3 has no `rest` (a `pause1` instead): a journey resting there cannot move to it.
V3 = V2.replace("version: 2", "version: 3").replace("id: rest,", "id: pause1,")


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
    [dry] = await migrate(rig.journeys, target, ["M-2"], dry_run=True)

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
    # and the UI's current details say so
    metadata = await rig.env.client.get_workflow_handle(handle.id).query(
        "__temporal_workflow_metadata", result_type=WorkflowMetadata
    )
    card = metadata.current_details.split("\n\n")
    assert card[0] == "**Journey** moving v2 for account M-2"
    assert card[-1].startswith("**Moved** from v1 at step rest, ")
    assert card[-1].endswith(" UTC: welcome back by email")

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
    # the dry run said what then happened: its next contact is the first message on v2
    assert dry.preview is not None
    assert dry.preview.next_contact is not None
    foretold = dry.preview.next_contact
    first_on_v2 = next(m for m in done.messages if m.step != "first")
    assert (first_on_v2.step, first_on_v2.channel, first_on_v2.template) == (
        foretold.step,
        foretold.channel,
        foretold.template,
    )
    assert abs((first_on_v2.at - foretold.at).total_seconds()) < 60
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

    # a version of another journey (`journey migrate other --to 1 --account M-4`)
    write_journey(rig.folder, V1.replace("id: moving", "id: other"), name="other.yaml")
    other = target_version("other", 1, Library([rig.folder]), StoreArchive(rig.store))
    [elsewhere] = await migrate(rig.journeys, other, ["M-4"])
    assert (elsewhere.refused, elsewhere.sent) == (
        "it follows moving; other is another journey",
        False,
    )

    # a raw signal naming it: resolved by the worker's activity, refused in status
    await handle.signal("migrate_to", MigrateTo(version=7))
    status = await eventually_status(rig, "M-4", lambda s: bool(s.refused))
    [(event, error)] = [(r.event, r.error) for r in status.refused]
    assert event == "migrate_to"
    assert error.startswith("v7: journey moving has no version 7; known: v1 (")
    assert (status.journey_version, status.migrating_to) == (1, None)
    await handle.terminate("test over")


async def test_the_same_move_asked_twice_at_once_moves_once(rig: Rig) -> None:
    """Two operators (or a retried command) at the same moment: one move, no refusal;
    asked again once it has moved, nothing is sent and the command says so."""
    handle = await rig.start("M-5")
    await rig.env.sleep(timedelta(hours=1))
    target = rig.version_2()

    both = await asyncio.gather(
        migrate(rig.journeys, target, ["M-5"]), migrate(rig.journeys, target, ["M-5"])
    )
    # each is sent, or finds it moved already (the other's move landed before its ask)
    assert all(m.sent or m.already for [m] in both)
    assert any(m.sent for [m] in both)
    assert all(m.refused is None for [m] in both)
    await continued(rig.env.client, handle)
    moved = await rig.status("M-5")
    assert (moved.journey_version, len(moved.migrations), moved.refused) == (2, 1, [])

    [again] = await migrate(rig.journeys, target, ["M-5"])
    assert (again.already, again.sent, again.refused) == (True, False, None)
    # a raw repeat (a billing script retrying) is not a refusal either
    await rig.env.client.get_workflow_handle(handle.id).signal("migrate_to", MigrateTo(version=2))
    await rig.env.sleep(timedelta(days=6))
    done = await rig.status("M-5")
    assert (done.journey_version, len(done.migrations), done.refused) == (2, 1, [])
    assert rig.sent("M-5") == [
        ("first", "sms"),
        ("welcome_back", "email"),
        ("second", "sms"),
        ("new_last", "email"),
    ]


async def test_of_two_different_moves_at_once_the_last_asked_stands(rig: Rig) -> None:
    handle = await rig.start("M-6")
    await rig.env.sleep(timedelta(hours=1))
    rig.version_2()
    write_journey(rig.folder, V3, name="moving_v3.yaml")  # has no `rest`
    await handle.signal("migrate_to", MigrateTo(version=2))
    await handle.signal("migrate_to", MigrateTo(version=3))
    status = await eventually_status(rig, "M-6", lambda s: bool(s.refused))
    [refused] = status.refused
    assert refused.error.startswith("v3: step rest is not in moving v3")
    assert (status.journey_version, status.migrating_to, status.migrations) == (1, None, [])
    await handle.terminate("test over")


class HeldSms(Capture):
    """Holds the delivery of `first` until released: a send in flight."""

    def __init__(self) -> None:
        super().__init__()
        self.sending = asyncio.Event()
        self.release = asyncio.Event()

    async def deliver(self, item: Outgoing) -> Receipt:
        if item.step == "first":
            self.sending.set()
            await self.release.wait()
        return await super().deliver(item)


async def test_a_move_asked_during_a_send_waits_for_the_send_and_sends_nothing_twice(
    env: WorkflowEnvironment, tmp_path: Path, sqlite_store: Store
) -> None:
    folder = tmp_path / "journeys"
    write_journey(folder, V1, name="moving_v1.yaml")
    outbox = HeldSms()
    queue = f"migrate-{uuid.uuid4()}"
    parts = EngineParts(
        journeys=[folder],
        channels={"*": outbox},
        signer=LinkSigner("k"),
        archive=StoreArchive(sqlite_store),
    )
    async with build_worker(env.client, queue, parts):
        rig = Rig(
            env,
            folder,
            sqlite_store,
            Journeys(env.client, Settings(task_queue=queue)),
            outbox,
            queue,
        )
        handle = await rig.start("M-7")
        await asyncio.wait_for(outbox.sending.wait(), 30)  # `first` is with the provider
        target = rig.version_2()
        await handle.signal("migrate_to", MigrateTo(version=2, hash=target.pin.hash))
        asking = await eventually_status(rig, "M-7", lambda s: s.migrating_to == 2)
        assert (asking.journey_version, asking.step) == (1, "first")  # not cut short
        outbox.release.set()
        await continued(env.client, handle)  # after the send, at the step boundary
        moved = await rig.status("M-7")
        [record] = moved.migrations
        assert (record.step, moved.journey_version, moved.step) == ("first", 2, "rest")
        await env.sleep(timedelta(days=6))
        assert rig.sent("M-7") == [
            ("first", "sms"),  # once, on version 1
            ("welcome_back", "email"),
            ("second", "sms"),
            ("new_last", "email"),
        ]


@pytest.mark.slow  # signals one by one until the history is long: about 2 s
async def test_a_move_carried_across_a_continue_as_new_keeps_the_wait_it_rests_in(
    env: WorkflowEnvironment, tmp_path: Path, sqlite_store: Store
) -> None:
    """A migrate_to that arrives as a long history continues as new: the move is carried,
    resolved, into the next run, which moves where it rests in its wait: the rest of the
    wait is kept (it is not skipped, and the first message on version 2 goes when the
    wait ends)."""
    folder = tmp_path / "journeys"
    write_journey(folder, V1, name="moving_v1.yaml")
    outbox = Capture()
    queue = f"migrate-{uuid.uuid4()}"
    parts = EngineParts(
        journeys=[folder],
        channels={"*": outbox},
        signer=LinkSigner("k"),
        archive=StoreArchive(sqlite_store),
    )
    async with build_worker(env.client, queue, parts):
        rig = Rig(
            env,
            folder,
            sqlite_store,
            Journeys(env.client, Settings(task_queue=queue)),
            outbox,
            queue,
        )
        customer = Account.model_validate(
            account(account_id="M-8", customer__timezone=midday_zone())
        )
        handle = await env.client.start_workflow(
            DelinquencyJourney.run,
            JourneyInput(account=customer, journey="moving", history_limit=100),
            id=workflow_id("M-8"),
            task_queue=queue,
            search_attributes=sa.starting(customer),
        )
        await env.sleep(timedelta(hours=1))
        resting = await rig.status("M-8")
        assert (resting.step, resting.state) == ("rest", "waiting")
        wait_ends = resting.next_action_at
        assert wait_ends is not None
        # signals until the next one makes the history long enough to continue as new
        while (length := (await handle.describe()).history_length) < 97:
            await handle.signal("engagement", Engagement(kind="opened"))
            for _ in range(100):
                if (await handle.describe()).history_length != length:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.1)
        assert (await handle.describe()).run_id == handle.result_run_id  # not yet
        target = rig.version_2()
        await handle.signal("migrate_to", MigrateTo(version=2, hash=target.pin.hash))
        latest = env.client.get_workflow_handle(handle.id)
        for _ in range(200):  # until a run on version 2 runs
            found = await latest.describe()
            if found.typed_search_attributes.get(sa.JOURNEY_VERSION) == 2:
                break
            await asyncio.sleep(0.05)
        # the long history's run came between: the move was carried into it, then made
        began = (await latest.fetch_history()).events[0]
        before = began.workflow_execution_started_event_attributes.continued_execution_run_id
        assert before not in ("", handle.result_run_id)
        moved = await eventually_status(rig, "M-8", lambda s: s.journey_version == 2)
        assert (moved.step, moved.state, moved.next_action_at) == ("rest", "waiting", wait_ends)
        await env.sleep(timedelta(days=6))
        await latest.result()
        done = await rig.status("M-8")
        welcome = next(m for m in done.messages if m.step == "welcome_back")
        assert abs((welcome.at - wait_ends).total_seconds()) < 60
        assert rig.sent("M-8") == [
            ("first", "sms"),
            ("welcome_back", "email"),
            ("second", "sms"),
            ("new_last", "email"),
        ]


THANKS = "on_partial_payment:\n  send: {channel: sms, template: nudge}\nsteps:\n"


async def test_a_journey_in_its_wait_with_a_thank_you_held_for_the_morning_moves_in_the_wait(
    env: WorkflowEnvironment, tmp_path: Path, sqlite_store: Store
) -> None:
    """A part payment at night: its thank-you is held for the contact window while the
    journey rests in its wait. The dry run says it moves in that wait (once the thank-you
    has gone) and foretells the first message of version 2 when the wait ends, as the
    move then does; it does not skip what is left of the wait."""
    folder = tmp_path / "journeys"
    write_journey(folder, V1.replace("steps:\n", THANKS), name="moving_v1.yaml")
    outbox = Capture()
    queue = f"migrate-{uuid.uuid4()}"
    parts = EngineParts(
        journeys=[folder],
        channels={"*": outbox},
        signer=LinkSigner("k"),
        archive=StoreArchive(sqlite_store),
    )
    async with build_worker(env.client, queue, parts):
        rig = Rig(
            env,
            folder,
            sqlite_store,
            Journeys(env.client, Settings(task_queue=queue)),
            outbox,
            queue,
        )
        handle = await rig.start("M-9")
        await env.sleep(timedelta(hours=1))
        wait_ends = (await rig.status("M-9")).next_action_at  # `rest`, 2 days
        assert wait_ends is not None
        await env.sleep(timedelta(hours=10))  # past 21:00, the end of the contact window
        await handle.signal("payment_received", {"amount": "10.00", "payment_id": "P-9"})
        held = await eventually_status(rig, "M-9", lambda s: s.state == "deferred")
        assert held.step == "rest"
        write_journey(folder, V2.replace("steps:\n", THANKS), name="moving_v2.yaml")
        target = target_version("moving", 2, Library([folder]), StoreArchive(sqlite_store))

        [dry] = await migrate(rig.journeys, target, ["M-9"], dry_run=True)
        preview = dry.preview
        assert preview is not None
        assert preview.step_then == "rest"
        assert preview.moves.startswith("where it rests in its wait, once the message under way")
        contact = preview.next_contact
        assert contact is not None
        assert (contact.step, contact.channel) == ("welcome_back", "email")

        [move] = await migrate(rig.journeys, target, ["M-9"])
        assert move.sent
        await env.sleep(timedelta(days=6))
        await env.client.get_workflow_handle(handle.id).result()
        done = await rig.status("M-9")
        [record] = done.migrations
        assert (done.journey_version, record.step) == (2, "rest")
        assert [(m.step, m.channel) for m in done.messages] == [
            ("first", "sms"),
            ("on_partial_payment", "sms"),  # the thank-you, in the morning, on version 1
            ("welcome_back", "email"),  # when the wait ends, as foretold
            ("second", "sms"),
            ("new_last", "email"),
        ]
        welcome = done.messages[2]
        assert abs((welcome.at - contact.at).total_seconds()) < 60
        assert abs((welcome.at - wait_ends).total_seconds()) < 60  # the wait was kept


async def test_an_encrypted_journey_answers_the_dry_run(
    env: WorkflowEnvironment, tmp_path: Path, sqlite_store: Store
) -> None:
    """With encryption keys the journey's query failures are sealed ('Encoded failure'):
    the first ask meets a worker still fetching the version from the archive, and the
    command must read that (with its keys) and ask again, not refuse the journey."""
    keyed = Client(
        env.client.service_client,
        namespace=env.client.namespace,
        data_converter=data_converter(Settings(encryption_keys=KEYS)),
    )
    folder = tmp_path / "journeys"
    write_journey(folder, V1, name="moving_v1.yaml")
    queue = f"migrate-{uuid.uuid4()}"
    parts = EngineParts(
        journeys=[folder],
        channels={"*": Capture()},
        signer=LinkSigner("k"),
        archive=StoreArchive(sqlite_store),
    )
    registry.forget()  # this process has not seen version 2: the worker fetches it
    async with build_worker(keyed, queue, parts):
        journeys = Journeys(keyed, Settings(task_queue=queue))
        customer = Account.model_validate(
            account(account_id="M-10", customer__timezone=midday_zone())
        )
        handle = await keyed.start_workflow(
            DelinquencyJourney.run,
            JourneyInput(account=customer, journey="moving"),
            id=workflow_id("M-10"),
            task_queue=queue,
            search_attributes=sa.starting(customer),
        )
        await env.sleep(timedelta(hours=1))
        write_journey(folder, V2, name="moving_v2.yaml")
        target = target_version("moving", 2, Library([folder]), StoreArchive(sqlite_store))

        [dry] = await migrate(journeys, target, ["M-10"], dry_run=True)

        assert dry.refused is None
        assert dry.preview is not None
        assert (dry.preview.step_now, dry.preview.step_then) == ("rest", "rest")
        await handle.terminate("test over")


async def test_a_journey_that_ends_before_its_move_does_not_say_it_is_moving(rig: Rig) -> None:
    """Asked to move during a send (it moves after the send) and paid in full meanwhile:
    the journey ends on its version, and neither status nor the details say 'moving'."""
    handle = await rig.start("M-11")
    await rig.env.sleep(timedelta(hours=1))
    target = rig.version_2()
    await handle.signal("pause")  # held: the move waits for the step after `rest`
    await rig.env.sleep(timedelta(days=2, hours=1))  # `second` is held, not sent
    held = await rig.status("M-11")
    assert (held.step, held.state) == ("second", "paused")
    await handle.signal("migrate_to", MigrateTo(version=2, hash=target.pin.hash))
    asked = await eventually_status(rig, "M-11", lambda s: s.migrating_to == 2)
    assert asked.journey_version == 1
    await handle.signal("payment_received", {"amount": "300.00", "payment_id": "P-11"})
    await handle.result()
    done = await rig.status("M-11")
    assert (done.outcome, done.journey_version, done.migrating_to) == ("paid", 1, None)
    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    assert "**Moving**" not in metadata.current_details


SHIPPED = Path(__file__).resolve().parents[2] / "journeys"


@pytest.mark.slow  # eight journeys, each a month on the time-skipping server: about 25 s
@pytest.mark.parametrize("moved_after", [timedelta(hours=1), timedelta(days=3, hours=2)])
@pytest.mark.parametrize(
    ("name", "journey_id"),
    [
        ("early_stage", "early-stage"),
        ("hardship", "hardship"),
        ("pre_due", "pre-due"),
        ("follow_up", "follow-up"),
    ],
)
async def test_the_dry_run_foretells_the_first_message_each_shipped_journey_sends_after_moving(
    env: WorkflowEnvironment,
    tmp_path: Path,
    sqlite_store: Store,
    name: str,
    journey_id: str,
    moved_after: timedelta,
) -> None:
    """The dry run computes its next contact by walking the new version from the journey's
    state (waits, branches, the segment's template, consent, the window, days, gap and
    caps); the real workflow then decides by its own code. For every shipped journey,
    moved to its next version (the same file, numbered one up) an hour in and three days in, the two agree: the same
    step, channel and template, at the same minute."""
    folder = tmp_path / "journeys"
    shutil.copytree(SHIPPED, folder)
    outbox = Capture()
    queue = f"migrate-{uuid.uuid4()}"
    parts = EngineParts(
        journeys=[folder],
        channels={"*": outbox},
        signer=LinkSigner("k"),
        archive=StoreArchive(sqlite_store),
    )
    async with build_worker(env.client, queue, parts):
        journeys = Journeys(env.client, Settings(task_queue=queue))
        account_id = f"S-{name}"
        customer = Account.model_validate(
            account(account_id=account_id, customer__timezone=midday_zone())
        )
        handle = await env.client.start_workflow(
            DelinquencyJourney.run,
            JourneyInput(account=customer, journey=journey_id),
            id=workflow_id(account_id),
            task_queue=queue,
            search_attributes=sa.starting(customer),
        )
        await env.sleep(moved_after)
        source = (SHIPPED / f"{name}.yaml").read_text()
        shipped = int(re.search(r"^version: (\d+)$", source, re.MULTILINE)[1])  # type: ignore[index]
        bumped = source.replace(f"version: {shipped}", f"version: {shipped + 1}", 1)
        (folder / f"{name}_next.yaml").write_text(bumped)
        target = target_version(
            journey_id, shipped + 1, Library([folder]), StoreArchive(sqlite_store)
        )

        [dry] = await migrate(journeys, target, [account_id], dry_run=True)
        assert dry.refused is None, dry.refused
        assert dry.preview is not None
        [move] = await migrate(journeys, target, [account_id])
        assert move.sent
        latest = env.client.get_workflow_handle(handle.id)
        await env.sleep(timedelta(days=30))
        if (await latest.describe()).status == WorkflowExecutionStatus.RUNNING:
            after = await journeys.status(account_id)
            await latest.terminate("test over")
        else:
            after = await journeys.status(account_id)
        assert after.journey_version == shipped + 1
        foretold = dry.preview.next_contact
        sent = [m for m in after.messages if f"/{journey_id}/v{shipped + 1}/" in m.key]
        if foretold is None:
            assert sent == [], dry.preview.then
            return
        assert sent, f"foretold {foretold}, nothing sent"
        first = sent[0]
        assert (first.step, first.channel, first.template) == (
            foretold.step,
            foretold.channel,
            foretold.template,
        )
        assert abs((first.at - foretold.at).total_seconds()) < 60
