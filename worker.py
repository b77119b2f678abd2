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
import sys

from aiohttp import web
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from rapport.engine import build_worker, parts_from_settings, recipient_index
from rapport.inbound import InboundSms, serve
from rapport.settings import Settings, load_settings


async def run(settings: Settings) -> None:
    client = await Client.connect(settings.temporal_address,
                                  namespace=settings.temporal_namespace,
                                  data_converter=pydantic_data_converter)
    worker = build_worker(
        client, settings.task_queue, parts_from_settings(settings),
        max_cached_workflows=settings.worker_max_cached_workflows,
        max_concurrent_activities=settings.worker_max_concurrent_activities,
        max_concurrent_workflow_tasks=settings.worker_max_concurrent_workflow_tasks,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    logging.info("worker polling %s on %s", settings.task_queue, settings.temporal_address)
    inbound = await start_inbound(client, settings)
    async with worker:
        await stop.wait()
        logging.info("shutting down: in-flight activities finish or are retried")
    if inbound is not None:
        await inbound.cleanup()


async def start_inbound(client: Client, settings: Settings) -> web.AppRunner | None:
    """The endpoint for SMS replies and delivery callbacks, when RAPPORT_INBOUND_PORT is set."""
    if settings.inbound_port is None or settings.twilio_auth_token is None:
        return None
    recipients = recipient_index(settings)
    public = settings.inbound_public_url or f"http://{settings.inbound_host}:{settings.inbound_port}"
    app = InboundSms(client, recipients, settings.twilio_auth_token.get_secret_value(),
                     public).app()
    logging.info("inbound SMS endpoint on %s:%s", settings.inbound_host, settings.inbound_port)
    return await serve(app, settings.inbound_host, settings.inbound_port)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    settings = load_settings()
    problems = settings.problems()
    if problems:
        sys.exit("cannot start the worker:\n  " + "\n  ".join(problems))
    asyncio.run(run(settings))


if __name__ == "__main__":
    main()
