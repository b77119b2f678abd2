"""Operators read the Temporal UI: every activity and timer a journey schedules says what
it is, the current details read as sentences, and the words can change freely: replay
does not compare a command's summary (its user metadata)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from rapport.catalog import registry
from rapport.catalog.library import expected
from rapport.catalog.pinned import PinnedJourney
from rapport.client import Journeys
from rapport.contract.records import trusted
from rapport.language.account import Account
from rapport.language.loader import load_journey, validate_model
from rapport.language.yaml_source import load_yaml
from rapport.policy.caps import Delivery
from rapport.policy.zone import rules_for
from rapport.runtime.settings import Settings
from rapport.runtime.temporal import data_converter
from rapport.simulation.runner import simulate_on
from rapport.simulation.scenario import load_scenario
from tests.scenarios import ACCOUNT
from workflows import operator_view
from workflows.journey import DelinquencyJourney
from workflows.sandbox import workflow_runner
from workflows.state import JourneyState

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "examples" / "scenarios"
E = EventType
CONVERTER = DataConverter.default.payload_converter
SUMMARISED = (
    E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
    E.EVENT_TYPE_TIMER_STARTED,
    E.EVENT_TYPE_MARKER_RECORDED,
)


def summaries(events: Sequence[HistoryEvent]) -> Iterator[tuple[int, str | None]]:
    """(event type, summary) of every activity, timer and local activity; patch markers
    are Temporal's own and carry none."""
    for event in events:
        if event.event_type not in SUMMARISED:
            continue
        if event.marker_recorded_event_attributes.marker_name == "core_patch":
            continue
        summary = None
        if event.user_metadata.HasField("summary"):
            summary = CONVERTER.from_payload(event.user_metadata.summary, str)
        yield event.event_type, summary


@pytest.mark.slow
async def test_every_activity_and_timer_of_a_journey_says_what_it_is(
    env: WorkflowEnvironment,
) -> None:
    said: list[str] = []
    for scenario in ("card_declined_partial_then_plan.yaml", "opt_out_then_cease.yaml"):
        run = await simulate_on(env, load_scenario(SCENARIOS / scenario))
        found = list(summaries(run.history.events))
        assert found
        assert all(summary for _, summary in found), found
        said += [summary for _, summary in found if summary]
    # the message, how it goes, and the variant when there is one
    assert "reminder by email (template reminder_card)" in said
    assert "options by email" in said  # no SMS consent: the fallback, as it went
    assert "plan offer by email (step plan)" in said
    assert "thanks for a payment by email (template partial_thanks)" in said
    # the wait, how long, until when in the customer's own time, which step
    waits = [s for s in said if s.startswith("wait 3d until")]
    assert waits
    assert re.fullmatch(
        r"wait 3d until (Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2} [A-Z][a-z]{2} \d\d:\d\d "
        r"customer time \(first_pause\)",
        waits[0],
    )
    assert any(s.startswith("hold thanks for a payment by email") for s in said)  # the gap
    assert any(s.startswith("pin early-stage; time-zone rules for ") for s in said)
    assert "record stop: opt out of sms" in said
    assert "record stop: cease" in said


@pytest.mark.slow
async def test_replay_does_not_compare_summaries(env: WorkflowEnvironment) -> None:
    """A history whose summaries say something else, or nothing, replays: words can be
    improved without a patch (older histories, recorded without any, replay too:
    test_replay.py)."""
    run = await simulate_on(env, load_scenario(SCENARIOS / "opt_out_then_cease.yaml"))
    registry.remember(PinnedJourney.loaded(load_journey(ROOT / "journeys" / "early_stage.yaml")))
    for change in ("other words", None):
        events = []
        for event in run.history.events:
            copy = HistoryEvent()
            copy.CopyFrom(event)
            if copy.user_metadata.HasField("summary"):
                if change is None:
                    copy.ClearField("user_metadata")
                else:
                    copy.user_metadata.summary.CopyFrom(CONVERTER.to_payload(change))
            events.append(copy)
        replayer = Replayer(
            workflows=[DelinquencyJourney],
            workflow_runner=workflow_runner(),
            data_converter=data_converter(),
        )
        await replayer.replay_workflow(WorkflowHistory(run.history.workflow_id, events))


def test_the_current_details_read_as_sentences() -> None:
    journey = load_journey(ROOT / "journeys" / "early_stage.yaml")
    now = datetime(2028, 3, 6, 17, 0, tzinfo=UTC)
    state = trusted(
        JourneyState,
        {
            "account": ACCOUNT,
            "balance": "182.40",
            "started_at": "2028-03-01T17:00:00Z",
            "step": "first_pause",
            "segment": "loyal_first_miss",
            "messages_sent": 2,
            "suppressed": ["sms"],
            "ledger": [
                Delivery(at=now - timedelta(days=8), channel="sms"),  # out of reach
                Delivery(at=now - timedelta(days=2), channel="email"),
            ],
        },
    )
    zone = rules_for("America/Los_Angeles", now)
    card = operator_view.details(
        state, journey.definition, zone, "waiting", now + timedelta(days=1), now
    )
    lines = card.split("\n\n")
    assert lines[0] == f"**Journey** early-stage v2 for account {state.account.account_id}"
    assert lines[1] == "**Step** first_pause (waiting)"
    assert lines[2] == "**Next** Tue 7 Mar 09:00 customer time (2028-03-07 17:00 UTC)"
    assert lines[4] == (
        "**Messages sent** 2 · **Caps** 1 of 3 messages in 7 days; 0 of 2 by sms in 7 days"
    )
    assert lines[5] == "**Holds** opted out of sms"
    assert "0:00:00" not in card


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (timedelta(days=7), "7 days"),
        (timedelta(hours=20), "20 hours"),
        (timedelta(days=1, hours=12), "1 day 12 hours"),
        (timedelta(minutes=90), "1 hour 30 minutes"),
    ],
)
def test_durations_in_words(value: timedelta, words: str) -> None:
    assert operator_view.in_words(value) == words


async def test_a_journey_started_by_our_client_names_its_journey_and_version(
    env: WorkflowEnvironment,
) -> None:
    """The summary at the top of the journey's page: which journey and version the
    starter's journeys folder chooses (entry rules), and the account."""
    account = validate_model(Account, load_yaml(ROOT / "examples" / "accounts" / "hardship.yaml"))
    chosen = expected(ROOT / "journeys", None, account)
    assert chosen is not None
    journeys = Journeys(env.client, Settings(task_queue=f"nobody-{uuid.uuid4()}"))
    started = await journeys.start(account, expected=chosen)
    description = await started.handle.describe()
    assert await description.static_summary() == (
        f"{chosen.id} v{chosen.version} for account {account.account_id}: "
        f"{account.balance} {account.currency}, {account.days_past_due} days past due"
    )
    await started.handle.terminate("test over")
    assert expected(ROOT / "nowhere", None, account) is None  # no folder: the worker says
