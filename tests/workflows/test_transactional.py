"""`transactional: true` (receipts, thanks, confirmations): the message skips `min_gap`
and the caps, keeps the contact window and consent. `on_paid` is transactional unless it
says `transactional: false`. On the time-skipping server, through scenarios."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from temporalio.testing import WorkflowEnvironment

from rapport.policy.schedule import spread_for
from rapport.simulation.expect import Expect, check
from tests.scenarios import account, simulate_journey

JOURNEY = """\
id: thanks
version: 1
name: Thanks at once
policy:
  contact_window: {start: "08:00", end: "21:00"}
  caps:
    - {channel: sms, max: 1, per: 7d}
  min_gap: 20h
on_paid:
  send: {channel: sms, template: thanks}
on_partial_payment:
  send: {channel: sms, template: partial, transactional: true}
steps:
  - id: reminder
    send: {channel: sms, template: nudge}
  - id: pause
    wait: 5d
  - id: again
    send: {channel: sms, template: nudge}
"""


def when(timeline: dict[str, Any], step: str) -> list[tuple[int, str]]:
    """(day, customer-local HH:MM:SS) of each message from `step`."""
    return [(m["day"], m["at"][11:19]) for m in timeline["messages"] if m["step"] == step]


OPENING = f"08:0{spread_for('T-1').seconds // 60}:{spread_for('T-1').seconds % 60:02d}"


async def run(
    env: WorkflowEnvironment,
    folder: Path,
    events: list[dict[str, Any]],
    wanted: dict[str, Any],
    definition: str = JOURNEY,
    **more: Any,
) -> dict[str, Any]:
    timeline = await simulate_journey(
        env, folder, definition, start="next wed 09:00", days=10, events=events, **more
    )
    misses = check(Expect.model_validate(wanted), timeline)
    assert misses == [], [m.message for m in misses]
    return timeline


async def test_a_transactional_thank_you_is_not_held_by_the_gap_or_the_caps(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """Two hours after a text, with the week's one text used: thanked at once. The next
    reminder still keeps the gap and the cap, counting the thank-you."""
    timeline = await run(
        env,
        tmp_path,
        [{"at": "+2h", "type": "payment_received", "amount": "40.00"}],
        {"sent": [{"step": "reminder", "day": 0}, {"step": "on_partial_payment", "day": 0}]},
    )
    assert when(timeline, "reminder") == [(0, "09:00:00")]
    assert when(timeline, "on_partial_payment") == [(0, "11:00:00")]
    # the cap: the week's text is the thank-you's, so a week after it, not after the reminder
    assert when(timeline, "again") == [(7, "11:00:00")]


async def test_without_transactional_the_same_thank_you_waits_out_the_gap_and_the_cap(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    plain = JOURNEY.replace(", transactional: true", "")
    timeline = await run(
        env,
        tmp_path,
        [{"at": "+2h", "type": "payment_received", "amount": "40.00"}],
        {"sent": [{"step": "on_partial_payment", "day": 7}]},
        plain,
    )
    assert when(timeline, "on_partial_payment") == [(7, "09:00:00")]  # a week after the text


async def test_a_transactional_thank_you_is_held_by_the_contact_window(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """Paid at 22:30: thanked at the next morning's opening, not in the night."""
    timeline = await run(
        env,
        tmp_path,
        [{"at": "+13h30m", "type": "payment_received", "amount": "40.00"}],
        {"sent": [{"step": "on_partial_payment", "day": 1}]},
    )
    assert when(timeline, "on_partial_payment") == [(1, OPENING)]


async def test_a_transactional_thank_you_keeps_consent(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    timeline = await run(
        env,
        tmp_path,
        [
            {"at": "+1h", "type": "opt_out", "channel": "sms"},
            {"at": "+2h", "type": "payment_received", "amount": "40.00"},
        ],
        {"not_sent": [{"step": "on_partial_payment"}]},
    )
    skipped = [s["reason"] for s in timeline["skipped"] if s["step"] == "on_partial_payment"]
    assert skipped == ["opted_out"]
    no_consent = account(consent={"email": True, "sms": False})
    timeline = await run(
        env,
        tmp_path / "no-consent",
        [{"at": "+2h", "type": "payment_received", "amount": "40.00"}],
        {"messages": {"all": 0}},
        customer=no_consent,
    )
    assert {s["reason"] for s in timeline["skipped"]} == {"no_consent"}


async def test_the_thank_you_for_paying_in_full_is_transactional_unless_it_says_not(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """The designer expects "ends paid" at once: on_paid goes within the window without
    waiting 20 hours; `transactional: false` makes it wait like any message."""
    paid = [{"at": "+2h", "type": "payment_received", "amount": "300.00"}]
    await run(env, tmp_path, paid, {"outcome": "paid", "sent": [{"step": "on_paid", "day": 0}]})
    waits = JOURNEY.replace("template: thanks}", "template: thanks, transactional: false}")
    await run(
        env,
        tmp_path / "waits",
        paid,
        {"outcome": "paid", "sent": [{"step": "on_paid", "day": 7}]},
        waits,
    )
