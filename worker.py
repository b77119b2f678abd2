"""Run the Rapport worker: `python worker.py` (against TEMPORAL_ADDRESS).

The worker hosts the DelinquencyJourney workflow and its activities on the
task queue in JOURNEY_TASK_QUEUE (default `collections`). Messages go to the
local outbox (RAPPORT_OUTBOX_PATH, default data/outbox.jsonl) until real
channels are configured.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from activities.channels import Outbox
from rapport.engine import EngineParts, build_worker
from rapport.links import LinkSigner
from rapport.settings import Settings, load_settings


def engine_parts(settings: Settings) -> EngineParts:
    return EngineParts(
        journeys=[settings.journeys_dir],
        channels={"*": Outbox(settings.outbox_path)},
        signer=LinkSigner(settings.link_base_url, settings.link_secret),
    )


async def run(settings: Settings) -> None:
    client = await Client.connect(settings.temporal_address,
                                  namespace=settings.temporal_namespace,
                                  data_converter=pydantic_data_converter)
    worker = build_worker(client, settings.task_queue, engine_parts(settings))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    logging.info("worker polling %s on %s", settings.task_queue, settings.temporal_address)
    async with worker:
        await stop.wait()
        logging.info("shutting down: in-flight activities finish or are retried")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    asyncio.run(run(load_settings()))


if __name__ == "__main__":
    main()
