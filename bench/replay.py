"""Worker cost per step and history cost per message.

1. Worker CPU per step: Temporal's replayer re-runs a history (as a worker does after a
   cache eviction or a restart). Rapport's benchmark journey (3 texts, 2 waits) and the
   plain workflow of the same shape are recorded here, on the time-skipping server, and
   each replayed the same number of times. A step is one workflow task.
2. History cost of the shipped journeys, from their recorded histories: events and
   billable actions per message (waits and deferrals cost events too, so journeys with
   many waits per message cost more per message than the benchmark journey).

    .venv/bin/python -m bench.replay
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from bench.common import bench_definition, bench_parts, cost_of, start_journey
from bench.plain import PlainJourney, PlainShape, plain_worker
from bench.results import record
from rapport.catalog import registry
from rapport.runtime.servers import start_time_skipping
from rapport.runtime.temporal import data_converter
from rapport.runtime.workers import build_worker
from tests.workflows.histories.record import load_archive
from workflows.journey import DelinquencyJourney
from workflows.sandbox import workflow_runner

SHIPPED = Path(__file__).resolve().parent.parent / "tests" / "workflows" / "histories" / "v2"
ROUNDS = 40


def steps(history: WorkflowHistory) -> int:
    return sum(
        1 for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    )


def replay_cpu_ms(replayer: Replayer, history: WorkflowHistory) -> float:
    """CPU milliseconds per step, over ROUNDS replays."""

    async def rounds() -> None:
        for _ in range(ROUNDS):
            await replayer.replay_workflow(history)

    asyncio.run(rounds())  # warm: imports and caches, as a running worker has them
    started = time.process_time()
    asyncio.run(rounds())
    return (time.process_time() - started) * 1000 / ROUNDS / steps(history)


async def recorded() -> tuple[WorkflowHistory, WorkflowHistory]:
    """One run of each, on the time-skipping server."""
    env = await start_time_skipping()
    async with env:
        queue = f"replay-{uuid.uuid4()}"
        async with build_worker(env.client, queue, bench_parts(bench_definition())):
            ours = await start_journey(env.client, queue, "R-1")
            await ours.result()
        async with plain_worker(env.client, queue + "-plain"):
            theirs = await env.client.start_workflow(
                PlainJourney.run, PlainShape(), id=queue, task_queue=queue + "-plain"
            )
            await theirs.result()
        return await ours.fetch_history(), await theirs.fetch_history()


def main() -> None:
    ours, theirs = asyncio.run(recorded())
    converter = data_converter()
    cpu = replay_cpu_ms(
        Replayer(
            workflows=[DelinquencyJourney],
            workflow_runner=workflow_runner(),
            data_converter=converter,
        ),
        ours,
    )
    base = replay_cpu_ms(
        Replayer(
            workflows=[PlainJourney], workflow_runner=workflow_runner(), data_converter=converter
        ),
        theirs,
    )
    print(
        f"replaying the benchmark journey ({steps(ours)} steps) and the plain workflow of "
        f"its shape ({steps(theirs)} steps), {ROUNDS} times each, after a warm-up:"
    )
    print(f"  CPU per step: Rapport {cpu:.2f} ms, plain {base:.2f} ms, ratio {cpu / base:.2f}")
    registry.install(load_archive(SHIPPED / "journeys.json").load)
    print("history cost of the shipped journeys (recorded example scenarios):")
    print(f"  {'journey':<22}{'events':>7}{'actions':>9}{'msgs':>6}{'ev/msg':>8}{'act/msg':>9}")
    totals = [0, 0, 0]
    for path in sorted(p for p in SHIPPED.glob("*.json") if p.name != "journeys.json"):
        cost = cost_of(WorkflowHistory.from_json(path.stem, path.read_text()), "send_message")
        totals = [totals[0] + cost.events, totals[1] + cost.actions, totals[2] + cost.messages]
        print(
            f"  {path.stem:<22}{cost.events:>7}{cost.actions:>9}{cost.messages:>6}"
            f"{cost.events_per_message:>8.1f}{cost.actions_per_message:>9.1f}"
        )
    print("  (a waiting journey adds no events: each wait is one timer, however long)")
    record(
        {
            "replay_ms_per_step": round(cpu, 2),
            "replay_plain_ms_per_step": round(base, 2),
            "replay_ratio": round(cpu / base, 2),
            "shipped_events_per_message": round(totals[0] / totals[2], 1),
            "shipped_actions_per_message": round(totals[1] / totals[2], 1),
        }
    )


if __name__ == "__main__":
    main()
