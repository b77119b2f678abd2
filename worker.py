"""Run the Rapport worker.

    python worker.py              # against TEMPORAL_ADDRESS (default localhost:7233)
    python worker.py --dev        # first start the embedded dev server with its web UI,
                                  # serve the web app (`journey web`) beside the worker
                                  # (and run in development: see RAPPORT_ENVIRONMENT)
    python worker.py --dev --demo # ... and start demo journeys (what `make run` does)

The worker hosts the DelinquencyJourney workflow and its activities on
JOURNEY_TASK_QUEUE (default `collections`). Channels, billing and tuning come
from RAPPORT_* settings (docs/channels.md); with none, messages go to the local
outbox (`journey outbox`). SIGTERM or Ctrl-C stops it gracefully: in-flight
activities finish (or are retried by another worker), nothing is lost.

In production (RAPPORT_ENVIRONMENT unset or `production`) it refuses to start, exit 2
with one line per problem, while a development default is in place (docs/payments.md).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from datetime import timedelta

from temporalio.client import Client

from rapport.runtime import logs, metrics
from rapport.runtime.servers import PortInUse, start_dev_server, ui_address
from rapport.runtime.settings import (
    BadSettings,
    Settings,
    load_settings,
    refuse_to_start,
    refuse_to_start_unless_fit,
)
from rapport.runtime.temporal import connect, ensure_registered
from rapport.runtime.versions import (
    claim_current,
    deployment_config,
    deployment_version,
    label,
)
from rapport.runtime.workers import build_worker, open_store, parts_from_settings
from rapport.security.codec import new_key_line
from rapport.store.database import StoreUnavailable
from rapport.web.app import serve_web

log = logging.getLogger("rapport.worker")


async def run(settings: Settings, dev: bool = False, demo: bool = False) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if dev:
        ensure_dev_key(settings)
    if settings.key_ring() is None:
        log.warning(
            "RAPPORT_ENCRYPTION_KEYS is not set: customer data goes to Temporal in "
            "plain text (journey keys new makes a key)"
        )
    runtime = metrics.serve(settings.metrics_port) if settings.metrics_port else None
    server = await start_dev_server(settings, runtime) if dev else None
    web = None
    try:
        client = server.client if server else await connect(settings, runtime, worker=True)
        web = await serve_web(settings, client=client) if dev else None
        problems = await ensure_registered(client, settings.temporal_namespace)
        if problems:
            sys.exit("cannot start the worker:\n  " + "\n  ".join(problems))
        if web is not None:
            log.info("web app: %s", web.address)
        await serve_until(stop, client, settings, dev, demo)
    finally:
        if web is not None:
            await web.stop()
        if server is not None:
            await server.shutdown()


def ensure_dev_key(settings: Settings) -> None:
    """`make run` encrypts as production does: a development key, made once, kept under
    data/ for the owner only (the CLI in this checkout finds it there too)."""
    if settings.encryption_keys is not None or settings.dev_key_file.exists():
        return
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(settings.dev_key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(new_key_line("dev") + "\n")
    log.info(
        "encryption: a development key was made at %s (keep it: it reads this server's histories)",
        settings.dev_key_file,
    )


async def serve_until(
    stop: asyncio.Event, client: Client, settings: Settings, dev: bool, demo: bool
) -> None:
    store = open_store(settings)
    version = deployment_version(settings, dev)
    worker = build_worker(
        client,
        settings.task_queue,
        parts_from_settings(settings, store),
        max_cached_workflows=settings.worker_max_cached_workflows,
        max_concurrent_activities=settings.worker_max_concurrent_activities,
        max_concurrent_workflow_tasks=settings.worker_max_concurrent_workflow_tasks,
        graceful_shutdown_timeout=timedelta(seconds=settings.worker_graceful_shutdown_seconds),
        deployment_config=deployment_config(version),
    )
    async with worker:
        log.info(
            "worker polling %s on %s as %s",
            settings.task_queue,
            settings.temporal_address,
            label(version),
        )
        log.info("%s", await claim_current(client, version, always=dev))
        if dev:
            log.info("Temporal web UI: %s", ui_address(settings))
        if demo:
            from rapport.cli.demo import start_demo

            print(
                await start_demo(client, settings, ui_address(settings) if dev else None),
                flush=True,
            )
        await stop.wait()
        log.info("shutting down: in-flight activities finish or are retried")


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the Rapport worker.")
    parser.add_argument(
        "--dev", action="store_true", help="start the embedded Temporal dev server and web UI first"
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="start demo journeys for the accounts in examples/accounts",
    )
    parser.add_argument(
        "--log-format",
        choices=["plain", "json"],
        default=None,
        help="plain lines for people (default) or JSON lines for machines",
    )
    args = parser.parse_args()
    try:
        settings = load_settings()
    except BadSettings as bad:
        refuse_to_start(bad.lines)
        raise
    if args.dev and "RAPPORT_ENVIRONMENT" not in os.environ:
        settings = settings.model_copy(update={"environment": "development"})
    refuse_to_start_unless_fit(settings)
    logs.configure(args.log_format or settings.log_format)
    try:
        asyncio.run(run(settings, dev=args.dev, demo=args.demo))
    except PortInUse as exc:
        sys.exit(f"cannot start the dev server: {exc}")
    except metrics.MetricsUnavailable as exc:
        sys.exit(f"cannot serve metrics (RAPPORT_METRICS_PORT): {exc}")
    except StoreUnavailable as exc:
        sys.exit(f"the store: {exc}")
    except RuntimeError as exc:
        sys.exit(f"cannot reach Temporal at {settings.temporal_address}: {exc}")


if __name__ == "__main__":
    main()
