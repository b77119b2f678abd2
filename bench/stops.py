"""How fast a stop reaches a send in flight, and the window that remains (issue 21).

On the dev server, with the store on a SQLite file: N journeys each start a text whose
balance check takes 5 s; one second in, a raw `cease_communication` signal arrives
(as any Temporal SDK sends it). Measured, from the moment the signal was sent:

- to the stop kept in the store (the journey's `record_stop`): from then on the send's
  last look, right before the provider call, finds it;
- to the send's cancellation arriving in the activity (its heartbeat's answer).

and the window that remains: from the send's last look (the consent record, read
after the journey's stops, in the transaction that keeps the links and logs the
delivery) to the provider's request, through the real send activity on the same store;
and the provider call itself, the window no stop can close once it has begun: a signed
webhook to a receiver on loopback, timed over the same N requests.

    .venv/bin/python -m bench.stops [N]      (default 20)
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy import select
from temporalio.testing import ActivityEnvironment

from activities.delivery import DeliveryActivities
from bench.common import account, bench_definition, bench_parts, dev_server, new_queue, pinned
from bench.results import record
from rapport.catalog import registry
from rapport.consent.book import ConsentBook, Refusal
from rapport.contract.activities import PaymentCheck, SendMessage
from rapport.contract.names import workflow_id
from rapport.providers.base import Outgoing, Receipt, Router
from rapport.providers.webhook import SignedWebhook
from rapport.runtime.workers import build_worker
from rapport.security.links import LinkSigner
from rapport.store.database import Store
from rapport.store.deliveries import DeliveryLog
from rapport.store.links import LinkBook
from rapport.store.stops import JourneyStops, journey_stops
from workflows.journey import DelinquencyJourney
from workflows.state import JourneyInput

CHECK_SECONDS = 5.0


class SlowBilling:
    """A balance check that takes CHECK_SECONDS, noting when it starts and is cancelled."""

    def __init__(self) -> None:
        self.started: dict[str, asyncio.Event] = {}
        self.cancelled_at: dict[str, float] = {}

    async def balance(self, check: PaymentCheck) -> Decimal:
        self.started.setdefault(check.account_id, asyncio.Event()).set()
        try:
            await asyncio.sleep(CHECK_SECONDS)
        except asyncio.CancelledError:
            self.cancelled_at[check.account_id] = time.monotonic()
            raise
        return Decimal("120.00")

    async def payment_details_updated(
        self, account_id: str, reference: str, customer: str | None
    ) -> None:
        return None


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(202)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


async def provider_call_ms(n: int) -> list[float]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    webhook = SignedWebhook(f"http://127.0.0.1:{server.server_port}/hook", "bench")
    timings = []
    try:
        for i in range(n + 1):
            item = Outgoing(
                key=f"k{i}",
                kind="message",
                channel="sms",
                account_id="A",
                to="+15555550100",
                at="",
                subject=None,
                body="Your balance is due.",
                step="s",
                template="t",
            )
            started = time.perf_counter()
            await webhook.deliver(item)
            if i:  # the first opens the connection
                timings.append((time.perf_counter() - started) * 1000)
    finally:
        server.shutdown()
    return timings


class LookedAt(ConsentBook):
    """The consent record, noting when the send's last look last read it."""

    read_at = 0.0

    def refusal(self, *args: Any, **kwargs: Any) -> Refusal | None:
        refusal = super().refusal(*args, **kwargs)
        self.read_at = time.perf_counter()
        return refusal


class Timed:
    """A provider that notes when the send calls it."""

    idempotent = True
    called_at = 0.0

    async def deliver(self, item: Outgoing) -> Receipt:
        self.called_at = time.perf_counter()
        return "delivered"


async def last_look_to_request_ms(n: int, store: Store) -> list[float]:
    """The real send activity on the store: from its last read of the consent record to
    the provider's request (the commit, the way back from the store's thread, a heartbeat)."""
    journey = pinned(bench_definition())
    registry.remember(journey)
    consent, provider = LookedAt(store), Timed()
    sends = DeliveryActivities(
        Router({"*": provider}),
        LinkSigner("bench"),
        consent=consent,
        deliveries=DeliveryLog(store),
        links=LinkBook(store),
        stops=JourneyStops(store),
    )
    who = account("LOOK-1")
    timings = []
    for i in range(n + 1):
        request = SendMessage(
            key=f"look-{i}",
            journey=journey.pin,
            step="send0",
            channel="sms",
            template="note",
            account_id=who.account_id,
            to=who.address_for("sms") or "",
            fields=who.model_dump(mode="json"),
            balance=who.balance,
            opening_balance=who.balance,
            deliver_by=datetime.now(UTC) + timedelta(days=1),
            instance=f"{workflow_id(who.account_id)}/look",
        )
        await ActivityEnvironment().run(sends.send_message, request)
        if i:  # the first warms the templates up
            timings.append((provider.called_at - consent.read_at) * 1000)
    return timings


async def main(n: int) -> None:
    with tempfile.TemporaryDirectory(prefix="rapport-stops-") as folder:
        store = Store(f"sqlite:///{Path(folder) / 'rapport.db'}")
        store.upgrade()
        stops = JourneyStops(store)
        billing = SlowBilling()
        parts = bench_parts(bench_definition())
        parts.balance_source, parts.consent, parts.stops = billing, ConsentBook(store), stops
        to_store, to_cancel = [], []
        async with dev_server() as server:
            queue = new_queue("stops")
            async with build_worker(server.client, queue, parts):
                for i in range(n):
                    who = account(f"STOP-{i}")
                    handle = await server.client.start_workflow(
                        DelinquencyJourney.run,
                        JourneyInput(account=who, journey="bench"),
                        id=workflow_id(who.account_id),
                        task_queue=queue,
                    )
                    started = billing.started.setdefault(who.account_id, asyncio.Event())
                    await asyncio.wait_for(started.wait(), 30)
                    await asyncio.sleep(1.0)
                    sent = time.monotonic()
                    await handle.signal("cease_communication")
                    while not any(  # noqa: ASYNC110 (polling the store is what is measured)
                        r.ceased for r in _rows(stops, who.account_id)
                    ):  # the store, as the send's last look reads it
                        await asyncio.sleep(0.001)
                    to_store.append((time.monotonic() - sent) * 1000)
                    await handle.result()
                    to_cancel.append((billing.cancelled_at[who.account_id] - sent) * 1000)
        looks = await last_look_to_request_ms(n, store)
        store.dispose()
    calls = await provider_call_ms(n)
    print(f"a cease sent 1 s into a {CHECK_SECONDS:g} s balance check, {n} journeys (ms):")
    for label, values in (
        ("signal -> stop kept in the store", to_store),
        ("signal -> cancellation in the send", to_cancel),
        ("last look -> the provider's request", looks),
        ("the provider call itself (loopback)", calls),
    ):
        print(f"  {label:<38} median {statistics.median(values):7.2f}   max {max(values):7.2f}")
    record(
        {
            "stop_to_store_ms_median": round(statistics.median(to_store), 1),
            "stop_to_store_ms_max": round(max(to_store), 1),
            "stop_to_cancel_ms_median": round(statistics.median(to_cancel), 1),
            "stop_to_cancel_ms_max": round(max(to_cancel), 1),
            "last_look_to_request_ms_median": round(statistics.median(looks), 2),
            "last_look_to_request_ms_max": round(max(looks), 2),
            "provider_call_ms_median": round(statistics.median(calls), 1),
        }
    )


def _rows(stops: JourneyStops, account_id: str) -> list[Any]:
    with stops.store.begin() as connection:
        return list(
            connection.execute(
                select(journey_stops).where(journey_stops.c.account_id == account_id)
            )
        )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20))
