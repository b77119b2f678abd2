"""Payments have an identity and one source of truth; plans are what was offered, while
the offer stands; the billing system's changes reach a running journey."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from temporalio.testing import WorkflowEnvironment

from rapport.billing.sources import HttpBilling
from tests.fakes import FakeBilling, serving
from tests.scenarios import sent, simulate_journey

JOURNEY = """\
id: payments
version: 1
name: Reminder, plan, last word
segments:
  - {id: hardship, when: "account.history.hardship"}
on_paid:
  send: {channel: email, template: thanks}
on_partial_payment:
  send: {channel: sms, template: partial}
steps:
  - {id: reminder, send: {channel: email, template: reminder, variants: {hardship: soft}}}
  - {id: pause, wait: 2d}
  - id: plan
    offer_plan: {channel: email, template: offer, installments: [2, 3], respond_within: 3d}
  - {id: pause2, wait: 2d}
  - {id: last, send: {channel: email, template: reminder, variants: {hardship: soft}}}
"""
TEMPLATES: dict[str, str | None] = {
    "soft.email.j2": "Subject: We're here\n\nTake your time, {{ customer.first_name }}. "
    "{{ opt_out }}\n"
}


async def run(env: WorkflowEnvironment, tmp_path: Path, **kwargs: object) -> dict[str, Any]:
    return await simulate_journey(env, tmp_path, JOURNEY, templates=TEMPLATES, **kwargs)  # type: ignore[arg-type]


async def test_the_same_payment_twice_counts_once(env: WorkflowEnvironment, tmp_path: Path) -> None:
    timeline = await run(
        env,
        tmp_path,
        days=1,
        events=[
            {"at": "+1h", "type": "payment_received", "amount": "50.00", "payment_id": "B-7"},
            {"at": "+2h", "type": "payment_received", "amount": "50.00", "payment_id": "B-7"},
        ],
    )
    assert timeline["balance"] == "250.00"  # one payment of 50.00 on 300.00
    assert [s for s, _, _ in sent(timeline)] == ["reminder", "on_partial_payment"]


async def test_a_partial_payment_during_a_send_is_not_overwritten(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """Billing's view (still 300.00) never overwrites the journey's own balance."""
    billing = FakeBilling(balances={"T-1": Decimal("300.00")})
    async with serving(billing.app()) as base:
        timeline = await run(
            env,
            tmp_path,
            days=4,
            billing=HttpBilling(base),
            events=[{"at": "+1d", "type": "payment_received", "amount": "100.00"}],
        )
    assert timeline["balance"] == "200.00"
    plan = next(m for m in timeline["messages"] if m["step"] == "plan")
    assert "$100.00" in plan["body"]  # 2 x 100.00: the offer made on the real balance


async def test_an_offer_expires(env: WorkflowEnvironment, tmp_path: Path) -> None:
    timeline = await run(
        env, tmp_path, days=10, events=[{"at": "+5d3h", "type": "accept_plan", "installments": 2}]
    )  # the offer ran 3 days
    assert timeline["events"][0]["accepted"] is False
    assert "the plan offer expired on 2028-03-06" in timeline["events"][0]["error"]
    assert timeline["outcome"] == "exhausted"


async def test_a_plan_is_accepted_at_the_amounts_offered(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    timeline = await run(
        env, tmp_path, days=10, events=[{"at": "+2d3h", "type": "accept_plan", "installments": 3}]
    )
    assert timeline["events"][0]["accepted"] is True
    assert timeline["outcome"] == "plan_accepted"
    plan = next(m for m in timeline["messages"] if m["step"] == "plan")
    assert "3 x $100.00" in plan["body"]


async def test_an_account_update_reaches_the_journey(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    timeline = await run(
        env,
        tmp_path,
        days=10,
        events=[
            {
                "at": "+1h",
                "type": "account_updated",
                "history": {"hardship": True},
                "customer": {"email": "robin.new@example.com"},
            },
            {"at": "+5d6h", "type": "account_updated", "balance": "0.00"},
        ],
    )
    assert timeline["refused"] == []
    assert timeline["segment"] == "hardship"
    assert [m["template"] for m in timeline["messages"]] == ["reminder", "offer", "thanks"]
    assert timeline["outcome"] == "paid"  # billing says zero: paid
    assert all(e["accepted"] for e in timeline["events"])


async def test_a_bad_account_update_is_refused_and_changes_nothing(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """Each field fits, the account as a whole does not (USD has two decimal places)."""
    timeline = await run(
        env,
        tmp_path,
        days=1,
        events=[{"at": "+1h", "type": "account_updated", "minimum_due": "5.001"}],
    )
    assert [r["event"] for r in timeline["refused"]] == ["account_updated"]
    assert "more decimal places than USD" in timeline["refused"][0]["error"]
