"""A worker process for the bare baseline workflow (the scale benchmark's comparison).

    TEMPORAL_ADDRESS=... JOURNEY_TASK_QUEUE=... python -m bench.bare_worker
"""

from __future__ import annotations

import asyncio
import os
import signal

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from bench.bare import BareWorkflow, bare_noop
from workflows.sandbox import workflow_runner


async def main() -> None:
    client = await Client.connect(os.environ["TEMPORAL_ADDRESS"],
                                  data_converter=pydantic_data_converter)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with Worker(client, task_queue=os.environ["JOURNEY_TASK_QUEUE"],
                      workflows=[BareWorkflow], activities=[bare_noop],
                      workflow_runner=workflow_runner()):
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
