"""The baseline: what a competent Temporal user would write plainly for the same job, a
workflow of the journey's shape (its activities and timers, nothing else: no search
attributes, no definition, no policy). Benchmarks report Rapport against it.

    TEMPORAL_ADDRESS=... JOURNEY_TASK_QUEUE=... python -m bench.plain   # a worker process
"""

from __future__ import annotations

import asyncio
import os
import signal
from datetime import timedelta
from typing import Any

from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

from rapport.consent.book import ConsentBook
from rapport.runtime.temporal import data_converter
from rapport.store.database import Store
from rapport.store.deliveries import DeliveryLog
from workflows.sandbox import workflow_runner


class PlainShape(BaseModel):
    sends: int = 3
    waits: int = 2
    wait_seconds: float = 1.0
    first_wait_seconds: float = 0.0  # a journey that rests before its first message


@activity.defn(name="plain_send")
async def plain_send(index: int) -> int:
    return index


@workflow.defn(name="PlainJourney")
class PlainJourney:
    @workflow.run
    async def run(self, shape: PlainShape) -> int:
        if shape.first_wait_seconds:
            await workflow.sleep(timedelta(seconds=shape.first_wait_seconds))
        done = 0
        for index in range(max(shape.sends, shape.waits)):
            if index < shape.sends:
                done += await workflow.execute_activity(
                    plain_send, index, start_to_close_timeout=timedelta(seconds=30)
                )
            if index < shape.waits:
                await workflow.sleep(timedelta(seconds=shape.wait_seconds))
        return done


class StoreSend:
    """The plain send with the store work every real send makes: the consent record read
    before it and the delivery written after it (what Rapport's send does, plainly)."""

    def __init__(self, store: Store) -> None:
        self.consent = ConsentBook(store)
        self.deliveries = DeliveryLog(store)

    @activity.defn(name="plain_send")
    async def plain_send(self, index: int) -> int:
        info = activity.info()
        account = info.workflow_id or "plain"

        def work() -> None:
            if self.consent.refusal(account, "sms", "+15555550100") is None:
                self.deliveries.record(
                    f"{account}/{index}", account, "sms", info.current_attempt_scheduled_time
                )

        await asyncio.to_thread(work)
        return index


def plain_worker(
    client: Client, task_queue: str, store: Store | None = None, **options: Any
) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[PlainJourney],
        activities=[plain_send if store is None else StoreSend(store).plain_send],
        workflow_runner=workflow_runner(),
        **options,
    )


async def main() -> None:
    client = await Client.connect(os.environ["TEMPORAL_ADDRESS"], data_converter=data_converter())
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    cached = int(os.environ.get("RAPPORT_WORKER_MAX_CACHED_WORKFLOWS", "10000"))
    async with plain_worker(client, os.environ["JOURNEY_TASK_QUEUE"], max_cached_workflows=cached):
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
