"""Throughput and history cost: N accounts through the benchmark journey (3 texts, 2
one-second waits) on the dev server, against the plain workflow of the same shape
(bench/plain.py), same server, same run, best of two rounds each, interleaved.

Three pairs: without a store (the engine's own cost), then with the store on SQLite
and on PostgreSQL (pgserver), where Rapport's sends read the consent record, keep the
portal link, read the journey's stops right before the provider and write the
delivery log, and the plain workflow's send makes the same consent read and delivery
write (the work any real send does), so the ratio is what the engine adds.

    .venv/bin/python -m bench.throughput [N ...]      (default: 100 500)
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from temporalio.client import Client

from bench.common import (
    HistoryCost,
    Timer,
    bench_definition,
    bench_parts,
    cost_of,
    dev_server,
    gather_limited,
    new_queue,
    start_journey,
)
from bench.plain import PlainJourney, PlainShape, plain_worker
from bench.results import record
from rapport.consent.book import ConsentBook
from rapport.runtime.workers import build_worker
from rapport.store.database import Store
from rapport.store.deliveries import DeliveryLog
from rapport.store.links import LinkBook
from rapport.store.stops import JourneyStops

ROUNDS = 2


async def rapport(client: Client, n: int, store: Store | None = None) -> tuple[float, HistoryCost]:
    queue = new_queue("rapport")
    parts = bench_parts(bench_definition())
    if store is not None:
        parts.consent, parts.deliveries = ConsentBook(store), DeliveryLog(store)
        parts.links, parts.stops = LinkBook(store), JourneyStops(store)
    async with build_worker(client, queue, parts):
        with Timer() as timer:
            handles = await gather_limited(
                [partial(start_journey, client, queue, f"{queue}-{i}") for i in range(n)]
            )
            await gather_limited([h.result for h in handles], limit=n)
        cost = cost_of(await handles[0].fetch_history(), "send_message")
    return n / timer.seconds, cost


async def plain(client: Client, n: int, store: Store | None = None) -> tuple[float, HistoryCost]:
    queue = new_queue("plain")
    async with plain_worker(client, queue, store):
        with Timer() as timer:
            handles = await gather_limited(
                [
                    partial(
                        client.start_workflow,
                        PlainJourney.run,
                        PlainShape(),
                        id=f"{queue}-{i}",
                        task_queue=queue,
                    )
                    for i in range(n)
                ]
            )
            await gather_limited([h.result for h in handles], limit=n)
        cost = cost_of(await handles[0].fetch_history(), "plain_send")
    return n / timer.seconds, cost


async def main(sizes: list[int]) -> None:
    rows = []
    with stores() as opened:
        async with dev_server() as server:
            for label, store in opened:
                for n in sizes:
                    ours, theirs = [], []
                    for _ in range(ROUNDS):
                        theirs.append(await plain(server.client, n, store))
                        ours.append(await rapport(server.client, n, store))
                    best, baseline = max(r for r, _ in ours), max(r for r, _ in theirs)
                    rows.append((label, n, best, baseline, ours[0][1], theirs[0][1]))
    print(
        "throughput on the dev server: 3 texts and 2 one-second waits per journey, against "
        "the plain workflow of that shape (best of 2 rounds each, interleaved)"
    )
    print(f"  {'store':<12}{'N':>6}{'Rapport/s':>12}{'plain/s':>10}{'ratio':>8}")
    for label, n, ours_rate, plain_rate, _, _ in rows:
        print(
            f"  {label:<12}{n:>6}{ours_rate:>12.1f}{plain_rate:>10.1f}"
            f"{ours_rate / plain_rate:>8.2f}"
        )
    bare = [r for r in rows if r[0] == "none"]
    _, n, ours_rate, plain_rate, cost, base = bare[-1]
    print("one three-message journey's history:")
    print(f"  {'':<24}{'Rapport':>10}{'plain':>10}")
    for label, a, b in (
        ("events", cost.events, base.events),
        ("events per message", cost.events_per_message, base.events_per_message),
        ("actions per message", cost.actions_per_message, base.actions_per_message),
        ("bytes", cost.bytes, base.bytes),
    ):
        print(f"  {label:<24}{a:>10.1f}{b:>10.1f}")
    figures: dict[str, object] = {
        "throughput_n": n,
        "throughput_journeys_per_s": round(ours_rate, 1),
        "throughput_plain_per_s": round(plain_rate, 1),
        "throughput_ratio": round(ours_rate / plain_rate, 2),
        "events_per_message": round(cost.events_per_message, 1),
        "plain_events_per_message": round(base.events_per_message, 1),
        "actions_per_message": round(cost.actions_per_message, 2),
        "plain_actions_per_message": round(base.actions_per_message, 2),
        "history_bytes": cost.bytes,
        "plain_history_bytes": base.bytes,
    }
    for label, n, ours_rate, plain_rate, _, _ in rows:
        if label != "none" and n == bare[-1][1]:
            figures[f"throughput_{label}_per_s"] = round(ours_rate, 1)
            figures[f"throughput_{label}_plain_per_s"] = round(plain_rate, 1)
            figures[f"throughput_{label}_ratio"] = round(ours_rate / plain_rate, 2)
    record(figures)


@contextmanager
def stores() -> Iterator[list[tuple[str, Store | None]]]:
    """No store, a SQLite file and a PostgreSQL 16 (pgserver), each migrated and empty."""
    with tempfile.TemporaryDirectory(prefix="rapport-bench-") as folder:
        sqlite = Store(f"sqlite:///{Path(folder) / 'rapport.db'}")
        sqlite.upgrade()
        os.environ.setdefault("XDG_RUNTIME_DIR", folder)
        import pgserver

        server = pgserver.get_server(Path(folder) / "pg", cleanup_mode="stop")
        try:
            url = server.get_uri().replace("postgresql://", "postgresql+psycopg://")
            postgres = Store(url)
            postgres.upgrade()
            yield [("none", None), ("sqlite", sqlite), ("postgresql", postgres)]
            postgres.dispose()
        finally:
            sqlite.dispose()
            server.cleanup()


if __name__ == "__main__":
    asyncio.run(main([int(a) for a in sys.argv[1:]] or [100, 500]))
