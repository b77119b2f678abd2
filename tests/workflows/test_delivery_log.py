"""The caps count across an account's journeys through the store's delivery log, so that
log must hold every message that went (issue 21: a failed delivery-log write left the
next journey's caps short). Since the stops review the send logs its delivery in its
last look, in the transaction that keeps the message's link, before the provider call:
a store that fails there means no text yet, never a text the log misses. Sends of the
release before logged after the provider call and, failing that, told the workflow,
which retries `record_delivery` until the store answers: that path is still replayed
and still kept. And the caps' ledger a journey carries across continue-as-new holds
only what the caps can still see."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from temporalio import activity
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from rapport.cli.demo import midday_zone
from rapport.contract.activities import SendMessage, SendOutcome
from rapport.contract.names import workflow_id
from rapport.providers.outbox import Capture
from rapport.runtime.workers import EngineParts, activities_for, build_worker
from rapport.security.links import LinkSigner
from rapport.store.database import Store
from rapport.store.deliveries import DeliveryLog, deliveries
from tests.journey_files import write_journey
from tests.scenarios import account
from workflows.journey import DelinquencyJourney
from workflows.sandbox import workflow_runner

ONE_TEXT_A_WEEK = """\
id: capped
version: 1
name: One text, at most one a week per account
policy:
  on_cap: skip
  caps:
    - {channel: sms, max: 1, per: 7d}
steps:
  - {id: nudge, send: {channel: sms, template: nudge}}
"""


class FailingLog(DeliveryLog):
    """The store's delivery log, failing its first `failures` writes."""

    def __init__(self, store: Store, failures: int) -> None:
        super().__init__(store)
        self.failures = failures

    def record(self, *args: Any, **kwargs: Any) -> datetime:
        if self.failures > 0:
            self.failures -= 1
            raise OperationalError("INSERT INTO deliveries", {}, Exception("disk I/O error"))
        return super().record(*args, **kwargs)


def logged(store: Store, account_id: str) -> int:
    with store.begin() as connection:
        count: int = connection.execute(
            select(func.count()).where(deliveries.c.account_id == account_id)
        ).scalar_one()
    return count


async def journey(env: WorkflowEnvironment, queue: str, account_id: str) -> dict[str, Any]:
    handle = await env.client.start_workflow(
        "DelinquencyJourney",
        {
            "account": account(account_id=account_id, customer__timezone=midday_zone()),
            "journey": "capped",
        },
        id=workflow_id(account_id),
        task_queue=queue,
    )
    await handle.result()
    status: dict[str, Any] = await handle.query("status")
    return status


async def test_a_delivery_log_that_fails_holds_the_text_and_the_next_journey_counts_it(
    env: WorkflowEnvironment, tmp_path: Path, sqlite_store: Store
) -> None:
    write_journey(tmp_path, ONE_TEXT_A_WEEK)
    texts = Capture()
    parts = EngineParts(
        journeys=[tmp_path],
        channels={"*": texts},
        signer=LinkSigner("k"),
        deliveries=FailingLog(sqlite_store, failures=2),
    )
    queue = f"log-{uuid.uuid4()}"
    async with build_worker(env.client, queue, parts):
        first = await journey(env, queue, "L-1")
        assert len(texts.items) == 1  # sent once the store answered, once
        assert [m["step"] for m in first["messages"]] == ["nudge"]
        assert logged(sqlite_store, "L-1") == 1
        second = await journey(env, queue, "L-1")  # the account's next journey, same week
    assert len(texts.items) == 1  # no second text: the cap saw the first journey's
    assert [(s["step"], s["reason"]) for s in second["skipped"]] == [("nudge", "cap")]


@pytest.mark.slow  # real time: the activity's retries wait 1 s, then 2 s
async def test_a_send_that_could_not_log_is_logged_by_the_workflow_until_the_store_answers(
    env: WorkflowEnvironment, tmp_path: Path, sqlite_store: Store
) -> None:
    """A send of the release before (it logged after the provider call) that could not
    log: the workflow retries `record_delivery` until the store answers."""
    write_journey(tmp_path, ONE_TEXT_A_WEEK)
    log = FailingLog(sqlite_store, failures=0)
    parts = EngineParts(
        journeys=[tmp_path], channels={"*": Capture()}, signer=LinkSigner("k"), deliveries=log
    )
    acts = activities_for(parts)
    current = next(a for a in acts if getattr(a, "__name__", "") == "send_message")
    sent: list[str] = []

    @activity.defn(name="send_message")
    async def older_send(request: SendMessage) -> SendOutcome:
        """The first journey's send is of the release before; the next one's of today."""
        sent.append(request.key)
        if len(sent) > 1:
            outcome: SendOutcome = await current(request)
            return outcome
        log.failures = 2  # the store fails as the send would have logged, and after
        return SendOutcome(status="delivered", unlogged=True)

    queue = f"log-{uuid.uuid4()}"
    async with Worker(
        env.client,
        task_queue=queue,
        workflows=[DelinquencyJourney],
        activities=[*(a for a in acts if a is not current), older_send],
        workflow_runner=workflow_runner(),
    ):
        # real time: the test server's skipping jumps years ahead while activity retries
        # wait (1 s, then 2 s here)
        with env.auto_time_skipping_disabled():
            first = await journey(env, queue, "L-2")
        assert [m["step"] for m in first["messages"]] == ["nudge"]
        assert log.failures == 0  # every failing write was retried
        assert logged(sqlite_store, "L-2") == 1
        second = await journey(env, queue, "L-2")  # the account's next journey, same week
    assert len(sent) == 1  # the next journey never got as far as a send
    assert second["messages"] == []  # the cap saw the first journey's text
    assert [(s["step"], s["reason"]) for s in second["skipped"]] == [("nudge", "cap")]


WEEKLY_FOR_TEN_WEEKS = """\
id: weekly
version: 1
name: A text a week, under a two-week cap
policy:
  caps:
    - {channel: sms, max: 2, per: 14d}
steps:
  - {id: nudge, send: {channel: sms, template: nudge}}
  - {id: pause, wait: 7d}
  - id: again
    branch:
      - {when: "journey.messages_sent < 10", goto: nudge}
"""


async def test_the_caps_ledger_carried_across_continue_as_new_is_pruned(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    write_journey(tmp_path, WEEKLY_FOR_TEN_WEEKS)
    texts = Capture()
    parts = EngineParts(journeys=[tmp_path], channels={"*": texts}, signer=LinkSigner("k"))
    queue = f"prune-{uuid.uuid4()}"
    async with build_worker(env.client, queue, parts):
        handle = await env.client.start_workflow(
            "DelinquencyJourney",
            {
                "account": account(account_id="P-1", customer__timezone=midday_zone()),
                "journey": "weekly",
                "history_limit": 100,
            },
            id=workflow_id("P-1"),
            task_queue=queue,
        )
        result = await handle.result()
        described = await handle.describe()
        last = env.client.get_workflow_handle(handle.id, run_id=described.run_id)
        history = await last.fetch_history()
    assert described.run_id != handle.first_execution_run_id  # it continued as new
    assert result["messages_sent"] == 10
    started = history.events[0].workflow_execution_started_event_attributes
    payload = await env.client.data_converter.decode(started.input.payloads)
    carried = payload[0]["carried"]
    at = history.events[0].event_time.ToDatetime(tzinfo=UTC)
    ledger = [datetime.fromisoformat(d["at"]) for d in carried["ledger"]]
    assert ledger, "the caps still see the last texts"
    assert all(at - moment < timedelta(days=14) for moment in ledger)  # the cap's reach
    assert len(ledger) <= 2  # a text a week: only the last two weeks' matter
