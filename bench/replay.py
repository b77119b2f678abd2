"""Worker cost and history cost of the shipped journeys, from their recorded histories.

1. Worker cost per step: Temporal's replayer re-runs each recorded history (as a worker
   does after a cache eviction or a restart); the baseline is a bare workflow's history
   with the same activities and timers, recorded here. A step is one workflow task.
2. History and billing cost: history events and Temporal actions per journey and per
   message sent. Actions counted as Temporal Cloud bills them: start, activities
   (each attempt), timers, signals, updates, search-attribute upserts, side-effect markers.

    .venv/bin/python -m bench.replay
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, Worker

from bench.bare import BarePlan, BareWorkflow, bare_noop
from bench.results import record
from rapport.catalog import registry
from rapport.runtime.servers import start_time_skipping
from tests.workflows.histories.record import load_archive
from workflows.journey import DelinquencyJourney
from workflows.sandbox import workflow_runner

HISTORIES = Path(__file__).resolve().parent.parent / "tests" / "workflows" / "histories" / "v2"
ROUNDS = 20
E = EventType
ACTION_EVENTS = {
    E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, E.EVENT_TYPE_ACTIVITY_TASK_STARTED,
    E.EVENT_TYPE_TIMER_STARTED, E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
    E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, E.EVENT_TYPE_MARKER_RECORDED,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
}


def count(history: WorkflowHistory, *kinds: int) -> int:
    return sum(1 for e in history.events if e.event_type in kinds)


def messages(history: WorkflowHistory) -> int:
    return sum(1 for e in history.events if e.event_type == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
               and e.activity_task_scheduled_event_attributes.activity_type.name
               == "send_message")


def replay_cpu(replayer: Replayer, history: WorkflowHistory) -> float:
    async def rounds() -> None:
        for _ in range(ROUNDS):
            await replayer.replay_workflow(history)

    started = time.process_time()
    asyncio.run(rounds())
    return (time.process_time() - started) / ROUNDS


async def bare_history(activities: int, timers: int) -> WorkflowHistory:
    env = await start_time_skipping()
    async with env:
        queue = f"bare-{uuid.uuid4()}"
        async with Worker(env.client, task_queue=queue, workflows=[BareWorkflow],
                          activities=[bare_noop], workflow_runner=workflow_runner()):
            handle = await env.client.start_workflow(
                BareWorkflow.run, BarePlan(activities=activities, timers=timers),
                id=queue, task_queue=queue)
            await handle.result()
            return await handle.fetch_history()


def main() -> None:
    ours = Replayer(workflows=[DelinquencyJourney], workflow_runner=workflow_runner(),
                    data_converter=pydantic_data_converter)
    bare = Replayer(workflows=[BareWorkflow], workflow_runner=workflow_runner(),
                    data_converter=pydantic_data_converter)
    rows = []
    registry.install(load_archive(HISTORIES / "journeys.json").load)
    for path in sorted(p for p in HISTORIES.glob("*.json") if p.name != "journeys.json"):
        history = WorkflowHistory.from_json(path.stem, path.read_text())
        activities = count(history, E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
        timers = count(history, E.EVENT_TYPE_TIMER_STARTED)
        baseline = asyncio.run(bare_history(activities, timers))
        steps = count(history, E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
        bare_steps = count(baseline, E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
        cpu = replay_cpu(ours, history) * 1000 / steps
        bare_cpu = replay_cpu(bare, baseline) * 1000 / bare_steps
        actions = sum(1 for e in history.events if e.event_type in ACTION_EVENTS)
        rows.append((path.stem, len(history.events), len(baseline.events), steps, cpu, bare_cpu,
                     actions, messages(history)))
    print(f"replaying recorded histories ({ROUNDS} rounds each), against a bare workflow with "
          "the same activities and timers")
    print(f"  {'history':<22}{'events':>7}{'bare':>6}{'steps':>6}{'ms/step':>9}{'bare':>7}"
          f"{'ratio':>7}{'actions':>9}{'msgs':>6}{'ev/msg':>8}{'act/msg':>9}")
    for name, events, bare_events, steps, cpu, bare_cpu, actions, sent in rows:
        print(f"  {name:<22}{events:>7}{bare_events:>6}{steps:>6}{cpu:>9.2f}{bare_cpu:>7.2f}"
              f"{cpu / bare_cpu:>7.2f}{actions:>9}{sent:>6}{events / sent:>8.1f}"
              f"{actions / sent:>9.1f}")
    total_events = sum(r[1] for r in rows)
    total_messages = sum(r[7] for r in rows)
    replay_ratio = sum(r[4] for r in rows) / sum(r[5] for r in rows)
    print("  a waiting journey adds no events: each wait is one timer, however long")
    record({"replay_ms_per_step": round(sum(r[4] for r in rows) / len(rows), 2),
            "replay_bare_ms_per_step": round(sum(r[5] for r in rows) / len(rows), 2),
            "replay_ratio": round(replay_ratio, 2),
            "events_per_message": round(total_events / total_messages, 1),
            "actions_per_message": round(sum(r[6] for r in rows) / total_messages, 1),
            "events_per_journey": round(total_events / len(rows), 1)})


if __name__ == "__main__":
    main()
