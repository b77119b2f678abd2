"""Issue 21's edges of handoffs and plan offers, from the customer's side: a handoff the
queue refuses or that keeps failing is recorded as such and the journey goes on; a plan
offer waiting for the contact window is computed when it goes, on the balance then."""

from __future__ import annotations

from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from rapport.providers.base import Outgoing, PermanentFailure, Receipt
from tests.scenarios import sent, simulate_journey

HANDOFF_THEN_TEXT = """\
id: handoffs
version: 1
name: A person, then a text
steps:
  - {id: person, handoff: {queue: specialists}}
  - {id: nudge, send: {channel: sms, template: nudge}}
"""

OFFER = """\
id: offers
version: 1
name: An offer
steps:
  - id: offer
    offer_plan: {channel: email, template: offer, installments: [2, 3], respond_within: 3d}
"""


class RefusingQueue:
    idempotent = True

    def __init__(self) -> None:
        self.calls = 0

    async def deliver(self, item: Outgoing) -> Receipt:
        self.calls += 1
        raise PermanentFailure("the queue specialists is closed")


class BrokenQueue:
    """A provider with a bug: the same error every time."""

    idempotent = True

    def __init__(self) -> None:
        self.calls = 0

    async def deliver(self, item: Outgoing) -> Receipt:
        self.calls += 1
        raise KeyError("queue")


async def test_a_refused_handoff_is_recorded_as_refused_and_the_journey_goes_on(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    queue = RefusingQueue()
    timeline = await simulate_journey(
        env, tmp_path, HANDOFF_THEN_TEXT, days=2, channels={"handoff": queue}
    )
    assert timeline["handoffs"] == []  # not recorded as made
    assert [(s["step"], s["reason"]) for s in timeline["skipped"]] == [
        ("person", "handoff_refused")
    ]
    assert "closed" in timeline["skipped"][0]["detail"]
    assert queue.calls == 1  # a refusal is not retried
    assert [step for step, _, _ in sent(timeline)] == ["nudge"]


async def test_a_handoff_that_keeps_failing_is_retried_a_bounded_number_of_times(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    queue = BrokenQueue()
    timeline = await simulate_journey(
        env, tmp_path, HANDOFF_THEN_TEXT, days=2, channels={"handoff": queue}
    )
    assert 1 < queue.calls <= 8
    assert [(s["step"], s["reason"]) for s in timeline["skipped"]] == [("person", "handoff_failed")]
    assert [step for step, _, _ in sent(timeline)] == ["nudge"]  # the journey went on


async def test_an_offer_waiting_for_the_window_is_computed_on_the_balance_when_it_goes(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """The offer step is reached at 22:00 and waits for 08:00; the customer pays 100 of
    300 at 23:00: the offer that goes splits 200, which accept_plan then takes."""
    timeline = await simulate_journey(
        env,
        tmp_path,
        OFFER,
        start="2028-03-01T22:00",
        days=1,
        events=[{"at": "+1h", "type": "payment_received", "amount": "100.00"}],
    )
    offer = next(m for m in timeline["messages"] if m["step"] == "offer")
    assert offer["at"].startswith("2028-03-02T08")
    assert "2 x $100.00" in offer["body"]
    assert "150.00" not in offer["body"]
