"""Recorded histories of every shipped journey must replay on today's workflow code.

A failure here means a change would break journeys that are running now: guard
the change with `workflow.patched(...)` rather than re-recording.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.journey import DelinquencyJourney
from workflows.sandbox import workflow_runner

FOLDER = Path(__file__).parent / "histories"
# legacy/: recorded before the operator view (search attributes) was patched in;
# publish-every-step/: before search attributes were published only where a journey rests
FOLDERS = [FOLDER, FOLDER / "legacy", FOLDER / "publish-every-step"]
HISTORIES = sorted(FOLDER.rglob("*.json"))


@pytest.mark.parametrize("folder", FOLDERS, ids=["current", "legacy", "publish-every-step"])
def test_every_shipped_journey_has_a_recorded_history(folder: Path) -> None:
    names = {p.stem.split("_plan")[0].split("_handoff")[0] for p in folder.glob("*.json")}
    assert {"pre_due", "early_stage", "hardship"} <= names


@pytest.mark.parametrize("path", HISTORIES,
                         ids=[str(p.relative_to(FOLDER).with_suffix("")) for p in HISTORIES])
async def test_history_replays(path: Path) -> None:
    replayer = Replayer(workflows=[DelinquencyJourney], workflow_runner=workflow_runner(),
                        data_converter=pydantic_data_converter)
    history = WorkflowHistory.from_json(f"replay-{path.stem}", path.read_text())
    await replayer.replay_workflow(history)
