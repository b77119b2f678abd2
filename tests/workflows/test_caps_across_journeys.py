"""A journey's caps count what the account's earlier journeys sent: next month's journey
does not reset the count (read from the store once, at the start, and recorded)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from rapport.cli.demo import midday_zone
from rapport.contract.journey import JourneyStatus
from rapport.contract.names import workflow_id
from rapport.language.account import Account
from rapport.providers.outbox import Capture
from rapport.runtime.workers import EngineParts, build_worker
from rapport.security.links import LinkSigner
from rapport.store.database import Store
from rapport.store.deliveries import DeliveryLog
from tests.journey_files import write_journey
from tests.scenarios import account
from workflows.journey import DelinquencyJourney
from workflows.state import JourneyInput

ONE_TEXT_A_WEEK = """\
id: capped
version: 1
name: One text, at most one a week
policy:
  caps: [{channel: sms, max: 1, per: 7d}]
  on_cap: skip
steps:
  - {id: text, send: {channel: sms, template: nudge}}
"""


async def journey(env: WorkflowEnvironment, parts: EngineParts) -> JourneyStatus:
    queue = f"caps-{uuid.uuid4()}"
    async with build_worker(env.client, queue, parts):
        customer = Account.model_validate(
            account(account_id="K-1", customer__timezone=midday_zone())
        )
        handle = await env.client.start_workflow(
            DelinquencyJourney.run,
            JourneyInput(account=customer, journey="capped"),
            id=workflow_id("K-1"),
            task_queue=queue,
        )
        await handle.result()
        return await handle.query(DelinquencyJourney.status)


async def test_the_next_journey_counts_what_the_last_one_sent(
    env: WorkflowEnvironment, tmp_path: Path, sqlite_store: Store
) -> None:
    write_journey(tmp_path, ONE_TEXT_A_WEEK)
    outbox = Capture()
    parts = EngineParts(
        journeys=[tmp_path],
        channels={"*": outbox},
        signer=LinkSigner("k"),
        deliveries=DeliveryLog(sqlite_store),
    )
    first = await journey(env, parts)
    second = await journey(env, parts)  # the same day: the week's one text has gone
    await env.sleep(timedelta(days=8))
    third = await journey(env, parts)  # a week on: the cap has room again
    assert [m.step for m in first.messages] == ["text"]
    assert [(s.step, s.reason) for s in second.skipped] == [("text", "cap")]
    assert second.messages == []
    assert [m.step for m in third.messages] == ["text"]
    assert len(outbox.items) == 2
