"""Throughput: N accounts through a journey of 3 sends and 2 one-second waits on the dev
server, against a bare workflow running the same activities and timers on the same server.

    .venv/bin/python -m bench.throughput [N ...]      (default: 100 500 2000)
"""

from __future__ import annotations

import asyncio
import sys
from functools import partial

from temporalio.client import Client
from temporalio.worker import Worker

from bench.bare import BarePlan, BareWorkflow, bare_noop
from bench.common import (
    Timer,
    bench_definition,
    bench_parts,
    dev_server,
    gather_limited,
    journey_input,
    new_queue,
)
from bench.results import record
from rapport.contract.names import workflow_id
from rapport.runtime.workers import build_worker
from workflows.journey import DelinquencyJourney
from workflows.sandbox import workflow_runner
from workflows.state import JourneyInput

SENDS, WAITS = 3, 2
ACTIVITIES = 1 + 2 * SENDS  # load the journey; per send, a payment check and the delivery
UPSERTS = WAITS + 1  # the operator view publishes at each wait and at the end


def unique_input(run: str, index: int) -> JourneyInput:
    request = journey_input(index)
    request.account.account_id = f"{run}-{index}"
    return request


async def rapport(client: Client, n: int) -> float:
    queue = new_queue("rapport")
    async with build_worker(client, queue, bench_parts(bench_definition(SENDS, WAITS))):
        with Timer() as timer:
            handles = await gather_limited([partial(
                client.start_workflow, DelinquencyJourney.run, unique_input(queue, i),
                id=workflow_id(f"{queue}-{i}"), task_queue=queue) for i in range(n)])
            await gather_limited([h.result for h in handles], limit=n)
    return n / timer.seconds


async def bare(client: Client, n: int, upserts: int = 0) -> float:
    queue = new_queue("bare")
    plan = BarePlan(activities=ACTIVITIES, timers=WAITS, timer_seconds=1.0, upserts=upserts)
    async with Worker(client, task_queue=queue, workflows=[BareWorkflow],
                      activities=[bare_noop], workflow_runner=workflow_runner()):
        with Timer() as timer:
            handles = await gather_limited([partial(
                client.start_workflow, BareWorkflow.run, plan, id=f"{queue}-{i}",
                task_queue=queue) for i in range(n)])
            await gather_limited([h.result for h in handles], limit=n)
    return n / timer.seconds


async def main(sizes: list[int]) -> None:
    rows = []
    async with dev_server() as server:
        for n in sizes:
            bare_rate = await bare(server.client, n)
            visible_rate = await bare(server.client, n, upserts=UPSERTS)
            rapport_rate = await rapport(server.client, n)
            rows.append((n, rapport_rate, bare_rate, visible_rate))
    print(f"throughput on the dev server ({SENDS} sends, {WAITS} one-second waits per journey);")
    print(f"'bare+sa' also makes the {UPSERTS} search-attribute upserts of the operator view")
    print(f"  {'N':>6}{'Rapport/s':>12}{'bare/s':>10}{'ratio':>8}{'bare+sa/s':>12}{'ratio':>8}")
    for n, rapport_rate, bare_rate, visible_rate in rows:
        print(f"  {n:>6}{rapport_rate:>12.1f}{bare_rate:>10.1f}{rapport_rate / bare_rate:>8.2f}"
              f"{visible_rate:>12.1f}{rapport_rate / visible_rate:>8.2f}")
    n, rapport_rate, bare_rate, visible_rate = rows[-1]
    record({"throughput_n": n, "throughput_journeys_per_s": round(rapport_rate, 1),
            "throughput_bare_per_s": round(bare_rate, 1),
            "throughput_ratio": round(rapport_rate / bare_rate, 2),
            "throughput_ratio_same_visibility": round(rapport_rate / visible_rate, 2)})


if __name__ == "__main__":
    asyncio.run(main([int(a) for a in sys.argv[1:]] or [100, 500, 2000]))
