"""What money does to a running journey: a reversal puts what went back on the balance
once (a refund of part, then more, counts the difference); a payment after the journey
is paid is kept aside, not counted; new payment details engage the customer; the
thank-you names the payment's reference; a yen plan is cut in whole yen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from temporalio.testing import WorkflowEnvironment

from rapport.simulation.runner import simulate_on
from rapport.simulation.scenario import load_scenario
from rapport.simulation.timeline import timeline
from tests.scenarios import simulate_journey

ROOT = Path(__file__).resolve().parents[2]
JOURNEY = """\
id: money
version: 1
name: Reminder, a wait, another
on_paid:
  send: {channel: email, template: thanks}
on_partial_payment:
  send: {channel: email, template: partial}
segments:
  - {id: new_card, when: "account.history.payment_method_updated_days_ago == 0"}
steps:
  - {id: reminder, send: {channel: email, template: reminder}}
  - {id: pause, wait: 3d}
  - {id: again, send: {channel: email, template: reminder, variants: {new_card: card}}}
  - {id: pause2, wait: 3d}
"""
TEMPLATES: dict[str, str | None] = {
    "thanks.email.j2": "Subject: Thanks\n\nPaid {% if payment %}{{ payment.amount }} on "
    "{{ payment.date }}, reference {{ payment.reference }}{% endif %}. {{ opt_out }}\n",
    "partial.email.j2": "Subject: Thanks\n\nGot {{ payment.amount }} ({{ payment.reference }})"
    ", {{ balance }} to go. {{ opt_out }}\n",
    "card.email.j2": "Subject: New card\n\nThanks for the new card. {{ opt_out }}\n",
}


async def run(
    env: WorkflowEnvironment, tmp_path: Path, events: list[dict[str, Any]]
) -> dict[str, Any]:
    return await simulate_journey(
        env, tmp_path, JOURNEY, templates=TEMPLATES, days=7, events=events
    )


def paid(at: str, amount: str, payment_id: str) -> dict[str, Any]:
    return {"at": at, "type": "payment_received", "amount": amount, "payment_id": payment_id}


def reversed_(at: str, amount: str, payment_id: str, reason: str = "refund") -> dict[str, Any]:
    return {
        "at": at,
        "type": "payment_reversed",
        "amount": amount,
        "payment_id": payment_id,
        "reason": reason,
    }


async def test_a_refund_puts_what_went_back_on_the_balance_once(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    timeline = await run(
        env,
        tmp_path,
        [
            paid("+1h", "100.00", "pi_1"),
            reversed_("+2h", "30.00", "pi_1"),
            reversed_("+3h", "30.00", "pi_1"),  # told again: nothing changes
            reversed_("+4h", "50.00", "pi_1", "dispute"),  # 50 in all: 20 more
        ],
    )
    assert timeline["balance"] == "250.00"  # 300 - 100 + 50
    assert timeline["refused"] == []
    partial = next(m for m in timeline["messages"] if m["step"] == "on_partial_payment")
    assert "Got $100.00 (pi_1), $200.00 to go." in partial["body"]


async def test_reversals_the_journey_cannot_take_are_refused_with_the_payment_id(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    timeline = await run(
        env,
        tmp_path,
        [
            reversed_("+1h", "10.00", "pi_never"),
            paid("+2h", "50.00", "pi_2"),
            reversed_("+3h", "60.00", "pi_2"),  # more than the payment
        ],
    )
    errors = [r["error"] for r in timeline["refused"]]
    assert errors == [
        "payment pi_never was not counted by this journey",
        "60.00 is more than payment pi_2 (50.00)",
    ]
    assert timeline["balance"] == "250.00"


async def test_a_journey_paid_does_not_reopen_for_a_reversal(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """Paid at 21:35, its thank-you waiting for the morning: a refund at 21:40 is refused
    (the ledger keeps it for billing) and the journey still ends paid."""
    timeline = await simulate_journey(
        env,
        tmp_path,
        JOURNEY,
        templates=TEMPLATES,
        start="2028-03-01T21:30",
        days=2,
        events=[paid("+5m", "300.00", "pi_3"), reversed_("+10m", "300.00", "pi_3")],
    )
    assert timeline["outcome"] == "paid"
    assert [r["error"] for r in timeline["refused"]] == [
        "the journey has ended paid; the reversal of pi_3 is in the payments ledger for billing"
    ]


async def test_a_payment_after_paid_is_kept_aside_not_counted(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    timeline = await run(
        env, tmp_path, [paid("+1h", "300.00", "pi_a"), paid("+1h1m", "300.00", "pi_b")]
    )
    assert timeline["outcome"] == "paid"
    assert timeline["balance"] == "0.00"  # the second is not counted: billing's to refund
    thanks = [m for m in timeline["messages"] if m["step"] == "on_paid"]
    assert len(thanks) == 1
    assert "Paid $300.00 on Mar 1, 2028, reference pi_a." in thanks[0]["body"]


async def test_new_payment_details_engage_and_choose_segments_again(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    timeline = await run(
        env, tmp_path, [{"at": "+1d", "type": "payment_details_updated", "reference": "pm_1"}]
    )
    assert timeline["segment"] == "new_card"
    again = next(m for m in timeline["messages"] if m["step"] == "again")
    assert again["template"] == "card"


async def test_a_yen_plan_is_offered_in_whole_yen(env: WorkflowEnvironment) -> None:
    run = await simulate_on(env, load_scenario(ROOT / "examples/scenarios/yen_plan.yaml"))
    result = timeline(run)
    offer = next(m for m in result["messages"] if m["template"] == "plan_offer")
    assert "3 payments of ￥3,333 (last one ￥3,334)" in offer["body"]
    assert "6 payments of ￥1,666 (last one ￥1,670)" in offer["body"]
    assert result["outcome"] == "running"  # on the plan (on_plan): whole yen too
    (plan,) = result["plans"]
    assert [i["amount"] for i in plan["installments"]] == ["3333", "3333", "3334"]
