"""The workflow's contract with billing systems and its durability: pinned definitions,
continue-as-new, the status query, idempotency keys."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from rapport.contract.names import workflow_id
from rapport.contract.payloads import PaymentReceived
from rapport.language.account import Account
from rapport.providers.outbox import Capture
from rapport.runtime.workers import EngineParts, build_worker
from rapport.security.links import LinkSigner
from tests.journey_files import write_journey
from tests.scenarios import account
from workflows.journey import DelinquencyJourney
from workflows.state import JourneyInput

TWO_STEPS = """\
id: pinned
version: 1
name: Two reminders
entry: {when: "account.days_past_due > 0"}
steps:
  - {id: first, send: {channel: email, template: reminder}}
  - {id: pause, wait: 5d}
  - {id: second, send: {channel: sms, template: nudge}}
"""


class Engine:
    def __init__(self, env: WorkflowEnvironment, folder: Path) -> None:
        self.env, self.folder, self.capture = env, folder, Capture()
        self.task_queue = f"test-{uuid.uuid4()}"

    async def start(self, account_id: str, **fields: Any) -> WorkflowHandle[Any, Any]:
        request = JourneyInput(
            account=Account.model_validate(account(account_id=account_id)), **fields
        )
        return await self.env.client.start_workflow(
            DelinquencyJourney.run, request, id=workflow_id(account_id), task_queue=self.task_queue
        )

    def bodies(self, account_id: str) -> list[str]:
        return [i.body for i in self.capture.items.values() if i.account_id == account_id]


@pytest.fixture
async def engine(env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Engine]:
    write_journey(tmp_path, TWO_STEPS)
    running = Engine(env, tmp_path)
    parts = EngineParts(
        journeys=[tmp_path], channels={"*": running.capture}, signer=LinkSigner("test")
    )
    async with build_worker(env.client, running.task_queue, parts):
        yield running


async def test_running_journey_keeps_its_definition(
    engine: Engine, env: WorkflowEnvironment, tmp_path: Path
) -> None:
    old = await engine.start("OLD-1")
    await env.sleep(timedelta(hours=1))
    write_journey(
        tmp_path,
        TWO_STEPS.replace("version: 1", "version: 2"),
        {"nudge.sms.j2": "Changed wording {{ balance }}. {{ opt_out }}"},
    )
    new = await engine.start("NEW-1")
    await old.result()
    await new.result()
    assert engine.bodies("OLD-1")[1].startswith("Still $300.00")
    assert engine.bodies("NEW-1")[1].startswith("Changed wording")
    assert (await old.query(DelinquencyJourney.status)).journey_version == 1
    assert (await new.query(DelinquencyJourney.status)).journey_version == 2


async def test_status_query_while_waiting(engine: Engine, env: WorkflowEnvironment) -> None:
    handle = await engine.start("S-1")
    await env.sleep(timedelta(hours=25))  # the first message goes at the next 08:00 at latest
    status = await handle.query(DelinquencyJourney.status)
    assert (status.journey_id, status.step, status.state) == ("pinned", "pause", "waiting")
    assert [m.step for m in status.messages] == ["first"]
    assert status.next_action_at is not None
    assert status.next_action_at - status.messages[0].at >= timedelta(days=5)
    await handle.signal(
        "payment_received", PaymentReceived(amount=status.balance, payment_id="P-1")
    )
    result = await handle.result()
    assert (result.outcome, result.paid, result.messages_sent) == ("paid", True, 1)


async def test_idempotency_keys_name_the_business_identity(engine: Engine) -> None:
    handle = await engine.start("K-1")
    await handle.result()
    keys = sorted(engine.capture.items)
    assert [re.sub(r"/\d{8}T[\d.]+Z/", "/START/", k) for k in keys] == [
        "delinquency-K-1/pinned/v1/START/first/1/email",
        "delinquency-K-1/pinned/v1/START/second/1/sms",
    ]


async def test_the_next_journey_of_an_account_is_not_taken_for_a_duplicate(engine: Engine) -> None:
    """The account falls behind again after its first journey closed: the second journey's
    reminders are new messages, not repeats the channel drops."""
    first = await engine.start("N-1")
    await first.result()
    second = await engine.start("N-1")
    await second.result()
    assert len(engine.bodies("N-1")) == 4  # two journeys, two messages each, all delivered
    assert all(i.key.count("/") == 6 for i in engine.capture.items.values())


async def test_starting_an_unknown_journey_fails_clearly(engine: Engine) -> None:
    handle = await engine.start("U-1", journey="nope")
    with pytest.raises(WorkflowFailureError) as raised:
        await handle.result()
    cause = raised.value.__cause__
    while cause is not None and cause.__cause__ is not None:
        cause = cause.__cause__
    assert "no journey has id 'nope'; journeys: pinned" in str(cause)


LOOPING = """\
id: looping
version: 1
name: Hourly nudges under a cap
entry: {when: "account.days_past_due > 0"}
policy:
  caps:
    - {channel: all, max: 2, per: 7d}
steps:
  - {id: nudge, send: {channel: sms, template: nudge}}
  - {id: pause, wait: 1h}
  - id: again
    branch:
      - {when: "journey.messages_sent < 8", goto: nudge}
"""


async def test_continue_as_new_keeps_caps(env: WorkflowEnvironment, tmp_path: Path) -> None:
    write_journey(tmp_path, LOOPING)
    engine = Engine(env, tmp_path)
    parts = EngineParts(
        journeys=[tmp_path], channels={"*": engine.capture}, signer=LinkSigner("test")
    )
    async with build_worker(env.client, engine.task_queue, parts):
        handle = await engine.start("C-1", history_limit=100)
        result = await handle.result()
        description = await handle.describe()
    assert result.messages_sent == 8
    assert description.run_id != handle.first_execution_run_id  # it did continue as new
    moments = sorted(datetime.fromisoformat(i.at) for i in engine.capture.items.values())
    for i, first in enumerate(moments):
        assert sum(1 for t in moments[i:] if t - first < timedelta(days=7)) <= 2
