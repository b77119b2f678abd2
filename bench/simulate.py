"""How long a 120-day simulation takes, server start included, and how many history
events a journey uses per step; each against the plain workflow of the same shape (as
many activities and day-long timers), in the same process.

    .venv/bin/python -m bench.simulate
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.worker import Worker

from bench.plain import PlainJourney, PlainShape, plain_send
from bench.results import record
from rapport.runtime.servers import start_time_skipping
from rapport.simulation.runner import simulate
from rapport.simulation.scenario import LoadedScenario, load_scenario
from workflows.sandbox import workflow_runner

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "examples" / "scenarios" / "behind_no_response.yaml"
ROUNDS = 5


def count(history_events: list[Any], kind: int) -> int:
    return sum(1 for e in history_events if e.event_type == kind)


async def plain_run(shape: PlainShape) -> tuple[float, int]:
    started = time.perf_counter()
    env = await start_time_skipping()
    async with env:
        queue = f"plain-{uuid.uuid4()}"
        async with Worker(
            env.client,
            task_queue=queue,
            workflows=[PlainJourney],
            activities=[plain_send],
            workflow_runner=workflow_runner(),
        ):
            handle = await env.client.start_workflow(
                PlainJourney.run, shape, id=queue, task_queue=queue
            )
            await handle.result()
            history = await handle.fetch_history()
    return time.perf_counter() - started, len(history.events)


async def rapport_run(scenario: LoadedScenario) -> tuple[float, object]:
    started = time.perf_counter()
    run = await simulate(scenario)
    return time.perf_counter() - started, run


async def main() -> None:
    base = load_scenario(SCENARIO)
    scenario = LoadedScenario(base.path, base.journey, base.account, base.start, 120, base.events)
    rapport_times, plain_times = [], []
    run = None
    for _ in range(ROUNDS):
        seconds, run = await rapport_run(scenario)
        rapport_times.append(seconds)
    assert run is not None
    events = run.history.events  # type: ignore[attr-defined]
    shape = PlainShape(
        sends=count(events, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED),
        waits=count(events, EventType.EVENT_TYPE_TIMER_STARTED),
        wait_seconds=86400.0,
    )
    plain_events = 0
    for _ in range(ROUNDS):
        seconds, plain_events = await plain_run(shape)
        plain_times.append(seconds)
    steps = run.status.steps_run  # type: ignore[attr-defined]
    messages = len(run.status.messages)  # type: ignore[attr-defined]
    rapport_s, plain_s = min(rapport_times), min(plain_times)
    figures = {
        "simulate_120d_seconds": round(rapport_s, 3),
        "simulate_120d_plain_seconds": round(plain_s, 3),
        "simulate_120d_ratio": round(rapport_s / plain_s, 2),
        "history_events_per_step": round(len(events) / steps, 1),
        "history_events_per_message": round(len(events) / max(messages, 1), 1),
        "history_events_plain": plain_events,
    }
    print(
        f"120-day simulation of {SCENARIO.name} ({steps} steps, {messages} messages, "
        f"{shape.sends} activities, {shape.waits} timers), best of {ROUNDS}:"
    )
    print(f"  {'':<28}{'Rapport':>10}{'plain':>10}{'ratio':>8}")
    print(
        f"  {'wall time, server start incl.':<28}{rapport_s:>9.2f}s{plain_s:>9.2f}s"
        f"{rapport_s / plain_s:>8.2f}"
    )
    print(
        f"  {'history events':<28}{len(events):>10}{plain_events:>10}"
        f"{len(events) / plain_events:>8.2f}"
    )
    print(
        f"  history events per step: {figures['history_events_per_step']}, "
        f"per message: {figures['history_events_per_message']}"
    )
    record(figures)


if __name__ == "__main__":
    asyncio.run(main())
