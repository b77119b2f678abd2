"""Running journeys survive upgrades: what a journey kept is read tolerantly, and its
decisions about time zones come from rules recorded in its history, not from the worker's
tz database."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from rapport.catalog import registry
from rapport.catalog.archive import MemoryArchive
from rapport.contract.records import trusted
from rapport.policy import zone
from rapport.runtime.temporal import data_converter
from tests.scenarios import ACCOUNT
from tests.workflows.histories.record import load_archive
from workflows.journey import DelinquencyJourney
from workflows.sandbox import workflow_runner
from workflows.state import JourneyState

V2 = Path(__file__).parent / "histories" / "v2"
HISTORIES = sorted(p for p in V2.glob("*.json") if p.name != "journeys.json")


@pytest.fixture(scope="module")
def recorded() -> MemoryArchive:
    """The recorded journeys, read once (each read pins and hashes every one of them)."""
    return load_archive(V2 / "journeys.json")


@pytest.fixture(autouse=True)
def archive(recorded: MemoryArchive) -> Iterator[None]:
    registry.forget()
    registry.install(recorded.load)
    yield
    registry.install(None)


def _payloads(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if "payloads" in node:
            yield from node["payloads"]
        for value in node.values():
            yield from _payloads(value)
    elif isinstance(node, list):
        for value in node:
            yield from _payloads(value)


def _results(events: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """What activities and local activities returned: the payloads our models read."""
    for event in events:
        completed = event.get("activityTaskCompletedEventAttributes")
        marker = event.get("markerRecordedEventAttributes")
        if completed and "result" in completed:
            yield from _payloads(completed["result"])
        if marker and "result" in marker.get("details", {}):
            yield from _payloads(marker["details"]["result"])


def evolved(path: Path) -> str:
    """The history as a later version of the models would find it: every result gains a
    field, and loses one that has a default."""
    history = json.loads(path.read_text())
    for payload in _results(history["events"]):
        if "data" not in payload:
            continue  # None (record_stop returns nothing)
        data = json.loads(base64.b64decode(payload["data"]))
        if isinstance(data, dict):
            data.pop("possible_duplicate", None)
            data["added_in_a_later_version"] = {"any": "thing"}
            payload["data"] = base64.b64encode(json.dumps(data).encode()).decode()
    return json.dumps(history)


async def replay(text: str, name: str) -> None:
    replayer = Replayer(
        workflows=[DelinquencyJourney],
        workflow_runner=workflow_runner(),
        data_converter=data_converter(),
    )
    await replayer.replay_workflow(WorkflowHistory.from_json(name, text))


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_a_history_replays_after_its_models_change(path: Path) -> None:
    await replay(evolved(path), path.stem)


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_a_tz_database_update_cannot_flip_a_decision(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker's tz database now says every zone is 5 hours off: the journeys decided
    with the rules recorded when they started, so their histories replay unchanged."""

    class Shifted:
        def __init__(self, name: str) -> None:
            self.name = name

        def utcoffset(self, at: datetime | None) -> timedelta:
            return timedelta(hours=5)

        def fromutc(self, at: datetime) -> datetime:
            return (at + timedelta(hours=5)).replace(tzinfo=self)  # type: ignore[arg-type]

    monkeypatch.setattr(zone, "ZoneInfo", Shifted)
    await replay(path.read_text(), path.stem)


def test_carried_state_from_an_older_or_newer_version_is_read() -> None:
    kept = JourneyState(
        account=ACCOUNT,
        balance="300.00",
        started_at=datetime(2028, 3, 1, tzinfo=UTC),
    ).model_dump(mode="json")
    kept["field_of_a_later_version"] = 1
    kept.pop("engaged")  # dropped by a later version: its default is taken
    kept["account"]["customer"]["nickname"] = "Robin"  # a field the account no longer has
    kept["account"]["balance"] = "300.005"  # a bound tightened since it was checked
    state = trusted(JourneyState, kept)
    assert (state.engaged, state.account.customer.first_name) == (False, "Robin")


HISTORIES_ROOT = V2.parent
RETIRED: set[str] = set()  # carried fields a later build dropped on purpose, with the reason


def _carried(path: Path) -> dict[str, Any] | None:
    """The state a run continued as new carried, as its first event holds it."""
    started = json.loads(path.read_text())["events"][0]["workflowExecutionStartedEventAttributes"]
    if not started.get("continuedExecutionRunId"):
        return None
    request = json.loads(base64.b64decode(started["input"]["payloads"][0]["data"]))
    carried: dict[str, Any] = request["carried"]
    return carried


CONTINUED = sorted(
    p
    for p in HISTORIES_ROOT.rglob("*.json")
    if p.name != "journeys.json" and "encrypted" not in str(p) and _carried(p)
)


def test_a_run_continued_as_new_is_recorded() -> None:
    assert CONTINUED, (
        "record one: python -m tests.workflows.histories.record v2/continued continued"
    )


@pytest.mark.parametrize(
    "path", CONTINUED, ids=[str(p.relative_to(HISTORIES_ROOT).with_suffix("")) for p in CONTINUED]
)
def test_the_state_an_earlier_build_carried_is_read_whole(path: Path) -> None:
    """What a run of an earlier build carried across continue-as-new (recorded, and kept
    for every build since) is read by today's state model with nothing lost: a field
    renamed or dropped would be read as its default, and the journey would forget it.
    (The replay of the same history, test_replay.py, runs it on from there.)"""
    carried = _carried(path)
    assert carried is not None
    state = trusted(JourneyState, carried)
    known = set(JourneyState.model_fields) | {"_carried_from"}
    assert set(carried) - known - RETIRED == set()
    again = state.model_dump(mode="json", exclude_defaults=True)
    for name, value in carried.items():
        if name in JourneyState.model_fields:
            assert again.get(name) == value, name
