"""A worker that restarts with running journeys does not have their pinned definitions in
memory: it fetches each from the store's archive off the workflow's thread (no I/O in
workflow code), and the journey carries on."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from rapport.catalog import registry
from rapport.catalog.archive import MemoryArchive
from rapport.catalog.pinned import PinnedJourney
from rapport.cli.demo import midday_zone
from rapport.contract.names import workflow_id
from rapport.language.account import Account
from rapport.providers.outbox import Capture
from rapport.runtime.workers import EngineParts, build_worker
from rapport.security.links import LinkSigner
from tests.journey_files import write_journey
from tests.scenarios import account
from workflows.journey import DelinquencyJourney
from workflows.state import JourneyInput

TWO_TEXTS = """\
id: fetched
version: 1
name: A text, a day, a text
steps:
  - {id: nudge, send: {channel: sms, template: nudge}}
  - {id: pause, wait: 1d}
  - {id: again, send: {channel: sms, template: nudge}}
"""


class WatchedArchive(MemoryArchive):
    """The store's archive, noting which thread each load ran on."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[str] = []

    def load(self, content_hash: str) -> PinnedJourney | None:
        self.threads.append(threading.current_thread().name)
        return super().load(content_hash)


async def test_a_restarted_worker_fetches_the_definition_off_the_workflow_thread(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    write_journey(tmp_path, TWO_TEXTS)
    archive = WatchedArchive()
    outbox = Capture()
    queue = f"fetch-{uuid.uuid4()}"
    parts = EngineParts(
        journeys=[tmp_path], channels={"*": outbox}, signer=LinkSigner("k"), archive=archive
    )
    customer = Account.model_validate(account(customer__timezone=midday_zone()))
    # no cache: the test server would keep the next task on this worker's sticky queue
    async with build_worker(env.client, queue, parts, max_cached_workflows=0):
        handle = await env.client.start_workflow(
            DelinquencyJourney.run,
            JourneyInput(account=customer, journey="fetched"),
            id=workflow_id(customer.account_id),
            task_queue=queue,
        )
        await env.sleep(timedelta(hours=1))  # the first text has gone; the wait is on
    registry.forget()  # a new worker process: nothing in memory
    try:
        async with build_worker(env.client, queue, parts):
            result = await handle.result()
    finally:
        registry.forget()
    assert result.messages_sent == 2
    assert archive.threads  # it was fetched from the archive...
    assert all(name.startswith("definitions") for name in archive.threads)  # ...off-thread
