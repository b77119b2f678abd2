"""`wait_until`: waits until what the designer lists happens while it waits (a payment,
a reply, an accepted plan) or its timeout; sends nothing. On the time-skipping server,
through scenarios with `expect:`."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from temporalio.testing import WorkflowEnvironment

from rapport.contract.names import workflow_id
from rapport.contract.payloads import Engagement, PaymentReceived
from rapport.language.account import Account
from rapport.language.loader import load_journey
from rapport.policy.zone import LiveZone
from rapport.providers.outbox import Capture
from rapport.runtime.workers import EngineParts, build_worker
from rapport.security.links import LinkSigner
from rapport.simulation.expect import Expect, check
from tests.journey_files import write_journey
from tests.scenarios import account, simulate_journey
from workflows import operator_view
from workflows.journey import DelinquencyJourney
from workflows.state import JourneyInput, JourneyState, Waiting

NOW = datetime(2028, 3, 1, 12, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]

JOURNEY = """\
id: answer
version: 1
name: Time to answer
policy: {min_gap: 20h}
steps:
  - id: reminder
    send: {channel: sms, template: nudge}
  - id: hold
    wait_until: {any_of: [paid, replied], timeout: 5d}
  - id: route
    branch:
      - {when: "journey.replied", goto: talked}
      - {when: "journey.payments > 0", goto: paying}
  - id: again
    send: {channel: sms, template: nudge}
  - id: silent
    end: no_answer
  - id: talked
    end: replied
  - id: paying
    end: paying
"""


async def expect(
    env: WorkflowEnvironment,
    folder: Path,
    events: list[dict[str, Any]],
    wanted: dict[str, Any],
    definition: str = JOURNEY,
) -> dict[str, Any]:
    timeline = await simulate_journey(
        env, folder, definition, start="next wed 09:00", days=10, events=events
    )
    misses = check(Expect.model_validate(wanted), timeline)
    assert misses == [], [m.message for m in misses]
    return timeline


async def test_a_payment_ends_the_wait(env: WorkflowEnvironment, tmp_path: Path) -> None:
    await expect(
        env,
        tmp_path,
        [{"at": "+1d2h", "type": "payment_received", "amount": "40.00"}],
        {
            "outcome": "paying",
            "messages": {"sms": 1},
            "waits": [{"step": "hold", "ended_by": "paid", "day": 1}],
        },
    )


async def test_a_text_back_ends_the_wait(env: WorkflowEnvironment, tmp_path: Path) -> None:
    await expect(
        env,
        tmp_path,
        [{"at": "+2d", "type": "sms_reply", "text": "I get paid on Friday"}],
        {
            "outcome": "replied",
            "messages": {"sms": 1},
            "waits": [{"step": "hold", "ended_by": "replied", "day": 2}],
        },
    )


async def test_a_word_on_the_portal_ends_the_wait(env: WorkflowEnvironment, tmp_path: Path) -> None:
    """Reporting a hardship (the portal's "hardship" section sends hardship_reported)."""
    await expect(
        env,
        tmp_path,
        [{"at": "+3d", "type": "hardship_reported", "reason": "said on the portal"}],
        {"outcome": "replied", "waits": [{"step": "hold", "ended_by": "replied", "day": 3}]},
    )


async def test_nothing_happens_the_timeout_ends_it(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """A STOP is no reply, and a click is engagement, not a reply: the wait runs out."""
    timeline = await expect(
        env,
        tmp_path,
        [
            {"at": "+1d", "type": "engagement", "kind": "clicked"},
            {"at": "+2d", "type": "sms_reply", "text": "STOP"},
        ],
        {
            "outcome": "no_answer",
            "messages": {"sms": 1},
            "not_sent": [{"step": "again"}],
            "waits": [{"step": "hold", "ended_by": "timeout", "day": 5}],
        },
    )
    assert [s["reason"] for s in timeline["skipped"] if s["step"] == "again"] == ["opted_out"]


async def test_only_what_the_step_lists_ends_it(env: WorkflowEnvironment, tmp_path: Path) -> None:
    """A step waiting for a payment alone waits on through a reply; a payment in full
    ends the journey at once, whatever the step lists."""
    only_paid = JOURNEY.replace("any_of: [paid, replied]", "any_of: [paid]")
    await expect(
        env,
        tmp_path / "reply",
        [{"at": "+1d", "type": "sms_reply", "text": "call me"}],
        {"outcome": "replied", "waits": [{"step": "hold", "ended_by": "timeout", "day": 5}]},
        only_paid,
    )
    only_replies = JOURNEY.replace("any_of: [paid, replied]", "any_of: [replied]")
    await expect(
        env,
        tmp_path / "full",
        [{"at": "+1d", "type": "payment_received", "amount": "300.00"}],
        {
            "outcome": "paid",
            "waits": [{"step": "hold", "ended_by": "stopped", "day": 1}],
            "not_sent": [{"step": "again"}],
        },
        only_replies,
    )


def test_what_the_step_lists_marks_the_wait_and_nothing_else_does() -> None:
    """The signals' effects mark the wait under way (an accepted plan is marked by the
    accept_plan update, which also ends the journey, as it ends every wait today)."""
    state = JourneyState(
        account=Account.model_validate(account()), balance=Decimal(300), started_at=NOW
    )
    state.heard("replied")  # no wait under way: nothing to mark
    state.waiting = Waiting(step="hold", any_of=["plan_accepted"], began=NOW)
    state.on_engagement(Engagement(kind="replied"), NOW)
    state.on_payment_received(PaymentReceived(amount=Decimal(10), payment_id="p"), NOW)
    assert state.waiting.ended_by is None
    state.heard("plan_accepted")
    state.heard("paid")
    assert state.waiting.ended_by == "plan_accepted"


async def test_a_wait_resumes_after_continuing_as_new(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """Many signals during the wait make the history long: the journey continues as new
    mid-wait, and the new run keeps waiting for what the step listed, from when it began."""
    write_journey(tmp_path, JOURNEY.replace("id: answer", "id: answer\nentry: {when: 'true'}"))
    capture, queue = Capture(), f"test-{uuid.uuid4()}"
    parts = EngineParts(journeys=[tmp_path], channels={"*": capture}, signer=LinkSigner("test"))
    async with build_worker(env.client, queue, parts):
        handle = await env.client.start_workflow(
            DelinquencyJourney.run,
            JourneyInput(account=Account.model_validate(account()), history_limit=100),
            id=workflow_id("T-1"),
            task_queue=queue,
        )
        # Each is an event in the history (however many one workflow task takes), and
        # wakes the wait, which rests again: past 100 events, it continues as new there.
        for _ in range(100):
            await handle.signal("engagement", Engagement(kind="opened"))
        await env.sleep(3600)
        await handle.signal("payment_received", PaymentReceived(amount=50, payment_id="p-1"))
        result = await handle.result()
        status = await handle.query(DelinquencyJourney.status)
        description = await handle.describe()
    assert description.run_id != handle.first_execution_run_id  # it did continue as new
    assert result.outcome == "paying"
    [wait] = status.waits
    assert (wait.step, wait.ended_by) == ("hold", "paid")
    assert wait.ended - wait.began < (await env.get_current_time()) - wait.began
    assert len(capture.items) == 1  # the reminder; nothing again after continuing


def test_operators_see_what_a_wait_until_waits_for() -> None:
    state = JourneyState(
        account=Account.model_validate(account()), balance=Decimal(300), started_at=NOW
    )
    state.step = "hold"
    state.waiting = Waiting(step="hold", any_of=["paid", "replied"], began=NOW)
    definition = load_journey(ROOT / "journeys" / "follow_up.yaml").definition
    later = NOW + timedelta(days=5)
    zone = LiveZone("America/New_York")
    card = operator_view.details(state, definition, zone, "waiting", later, NOW)
    assert "**Step** hold (waiting)\n\n**Waiting until** paid or replied, or the time below" in card
    assert "**Next** Mon 6 Mar 07:00 customer time" in card
