"""Every patch is asked for first thing in a run, before any local activity (lessons of
this wave: asked later, right after a local activity, a replay under load met the
marker in another workflow task and failed with "Non-deprecated patch marker
encountered"). A continued run used to ask for the stops patch only when a stop first
reached it, in a signal's task, or in a send's, right after a zone read."""

from __future__ import annotations

import json
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from tests.workflows.histories.record import continued_run

FIRST_TASK_ENDS = EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED


def patches_by_task(history: WorkflowHistory) -> list[list[str]]:
    """The patches each workflow task recorded, task by task."""
    tasks: list[list[str]] = []
    for event in history.events:
        if event.event_type == FIRST_TASK_ENDS:
            tasks.append([])
        attributes = event.marker_recorded_event_attributes
        if event.HasField("marker_recorded_event_attributes") and attributes.marker_name == (
            "core_patch"
        ):
            data = attributes.details["patch-data"].payloads[0].data
            tasks[-1].append(json.loads(data)["id"])
    return tasks


async def test_a_continued_run_decides_the_stops_patch_in_its_first_task(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    history = await continued_run(env, tmp_path)
    tasks = patches_by_task(history)
    assert "stops" in tasks[0]  # asked before the run waits, not when the opt-out came
    assert all(not patches for patches in tasks[1:])


def test_a_continued_run_recorded_before_still_replays_as_it_ran() -> None:
    """tests/workflows/histories/v2/stops-asked-late/continued_opt_out.json (replayed by
    test_replay.py) asked in the opt-out's task: the behaviour it replays."""
    recorded = (
        Path(__file__).parent / "histories" / "v2" / "stops-asked-late" / "continued_opt_out.json"
    )
    history = WorkflowHistory.from_json("late", recorded.read_text())
    tasks = patches_by_task(history)
    assert "stops" not in tasks[0]
    assert "stops" in tasks[1]
