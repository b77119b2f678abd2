"""Throughput and history cost: N accounts through the benchmark journey (3 texts, 2
one-second waits) on the dev server, against the plain workflow of the same shape
(bench/plain.py), same server, same run, best of two rounds each, interleaved.

    .venv/bin/python -m bench.throughput [N ...]      (default: 100 500)
"""

from __future__ import annotations

import asyncio
import sys
from functools import partial

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
from rapport.runtime.workers import build_worker

ROUNDS = 2


async def rapport(client: Client, n: int) -> tuple[float, HistoryCost]:
    queue = new_queue("rapport")
    async with build_worker(client, queue, bench_parts(bench_definition())):
        with Timer() as timer:
            handles = await gather_limited(
                [partial(start_journey, client, queue, f"{queue}-{i}") for i in range(n)]
            )
            await gather_limited([h.result for h in handles], limit=n)
        cost = cost_of(await handles[0].fetch_history(), "send_message")
    return n / timer.seconds, cost


async def plain(client: Client, n: int) -> tuple[float, HistoryCost]:
    queue = new_queue("plain")
    async with plain_worker(client, queue):
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
    async with dev_server() as server:
        for n in sizes:
            ours, theirs = [], []
            for _ in range(ROUNDS):
                theirs.append(await plain(server.client, n))
                ours.append(await rapport(server.client, n))
            rows.append(
                (n, max(r for r, _ in ours), max(r for r, _ in theirs), ours[0][1], theirs[0][1])
            )
    print(
        "throughput on the dev server: 3 texts and 2 one-second waits per journey, against "
        "the plain workflow of that shape (best of 2 rounds each, interleaved)"
    )
    print(f"  {'N':>6}{'Rapport/s':>12}{'plain/s':>10}{'ratio':>8}")
    for n, ours_rate, plain_rate, _, _ in rows:
        print(f"  {n:>6}{ours_rate:>12.1f}{plain_rate:>10.1f}{ours_rate / plain_rate:>8.2f}")
    n, ours_rate, plain_rate, cost, base = rows[-1]
    print("one three-message journey's history:")
    print(f"  {'':<24}{'Rapport':>10}{'plain':>10}")
    for label, a, b in (
        ("events", cost.events, base.events),
        ("events per message", cost.events_per_message, base.events_per_message),
        ("actions per message", cost.actions_per_message, base.actions_per_message),
        ("bytes", cost.bytes, base.bytes),
    ):
        print(f"  {label:<24}{a:>10.1f}{b:>10.1f}")
    record(
        {
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
    )


if __name__ == "__main__":
    asyncio.run(main([int(a) for a in sys.argv[1:]] or [100, 500]))
