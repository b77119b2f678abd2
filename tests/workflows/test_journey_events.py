"""What customers and operators do while a journey runs: pay, opt out, cease, accept a plan."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from temporalio.testing import WorkflowEnvironment

from tests.scenarios import account, opening, sent, simulate_journey

JOURNEY = """\
id: events
version: 1
name: Reminder, wait, nudge, plan
segments:
  - {id: hardship, when: "account.history.hardship"}
  - {id: loyal, when: "account.history.tenure_months >= 24"}
on_paid:
  send: {channel: email, template: thanks, fallback: sms}
on_partial_payment:
  send: {channel: sms, template: partial}
steps:
  - id: reminder
    send: {channel: email, template: reminder, variants: {loyal: nudge_loyal, hardship: soft}, fallback: sms}
  - id: pause
    wait: 3d
  - id: nudge
    send: {channel: sms, template: nudge, fallback: email}
  - id: pause2
    wait: 2d
  - id: plan
    offer_plan: {channel: email, template: offer, installments: [2, 3, 6], min_installment: "40.00", respond_within: 7d}
  - id: last
    send: {channel: sms, template: nudge, variants: {hardship: soft}}
"""

TEMPLATES: dict[str, str | None] = {
    "nudge_loyal.email.j2": "Subject: Thanks for years with us\n\n{{ balance }}. {{ opt_out }}\n",
    "nudge_loyal.sms.j2": "Loyal! {{ balance }}. {{ opt_out }}\n",
    "soft.email.j2": "Subject: We're here to help\n\n{{ balance }}. {{ opt_out }}\n",
    "soft.sms.j2": "We're here to help. {{ opt_out }}\n",
    "nudge.email.j2": "Subject: Still open\n\n{{ balance }}. {{ opt_out }}\n",
}


async def run(env: WorkflowEnvironment, tmp_path: Path, **kwargs: object) -> dict[str, Any]:
    return await simulate_journey(env, tmp_path, JOURNEY, templates=TEMPLATES, **kwargs)  # type: ignore[arg-type]


async def test_whole_journey_without_events(env: WorkflowEnvironment, tmp_path: Path) -> None:
    timeline = await run(env, tmp_path)
    assert [(s, c) for s, c, _ in sent(timeline)] == [
        ("reminder", "email"),
        ("nudge", "sms"),
        ("plan", "email"),
        ("last", "sms"),
    ]
    assert timeline["outcome"] == "exhausted"
    plan_body = timeline["messages"][2]["body"]
    assert "2 x $150.00" in plan_body
    assert "6 x $50.00" in plan_body


async def test_payment_in_full_mid_wait_ends_with_thanks_only(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    timeline = await run(
        env, tmp_path, events=[{"at": "+1d2h", "type": "payment_received", "amount": "300.00"}]
    )
    assert sent(timeline) == [
        ("reminder", "email", "2028-03-01T09:00:00-05:00"),
        ("on_paid", "email", "2028-03-02T11:00:00-05:00"),
    ]
    assert timeline["outcome"] == "paid"


async def test_payment_during_a_deferral_cancels_the_send(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    timeline = await run(
        env,
        tmp_path,
        start="2028-03-01T06:10",
        events=[{"at": "+20m", "type": "payment_received", "amount": "300.00"}],
    )
    # the 06:10 reminder waited for 08:00; the payment at 06:30 cancelled it, and the
    # thank-you itself waits for the window
    assert sent(timeline) == [("on_paid", "email", opening("2028-03-01T08:00:00-05:00"))]
    assert timeline["outcome"] == "paid"


async def test_partial_payment_thanks_and_lowers_later_balances(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    timeline = await run(
        env, tmp_path, events=[{"at": "+1d", "type": "payment_received", "amount": "120.50"}]
    )
    steps = [s for s, _, _ in sent(timeline)]
    assert steps[:3] == ["reminder", "on_partial_payment", "nudge"]
    assert "$179.50 left" in timeline["messages"][1]["body"]
    assert "Still $179.50" in timeline["messages"][2]["body"]
    assert timeline["outcome"] == "exhausted"


async def test_opt_out_of_sms_falls_back_or_skips(env: WorkflowEnvironment, tmp_path: Path) -> None:
    timeline = await run(env, tmp_path, events=[{"at": "+1d", "type": "opt_out", "channel": "sms"}])
    assert [(s, c) for s, c, _ in sent(timeline)] == [
        ("reminder", "email"),
        ("nudge", "email"),
        ("plan", "email"),
    ]
    assert [(s["step"], s["channel"], s["reason"]) for s in timeline["skipped"]] == [
        ("nudge", "sms", "opted_out"),
        ("last", "sms", "opted_out"),
    ]


async def test_cease_stops_everything(env: WorkflowEnvironment, tmp_path: Path) -> None:
    timeline = await run(
        env,
        tmp_path,
        events=[
            {"at": "+1d", "type": "cease_communication"},
            {"at": "+2d", "type": "payment_received", "amount": "300.00"},
        ],
    )
    assert [s for s, _, _ in sent(timeline)] == ["reminder"]
    assert timeline["outcome"] == "ceased"
    assert timeline["events"][1]["accepted"] is False  # the journey had already ended


async def test_no_consent_falls_back_to_the_other_channel(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    customer = account(consent={"sms": True})
    timeline = await run(env, tmp_path, customer=customer, days=3)
    assert sent(timeline)[0][:2] == ("reminder", "sms")
    assert timeline["skipped"][0]["reason"] == "no_consent"


async def test_no_address_is_a_skip_reason(env: WorkflowEnvironment, tmp_path: Path) -> None:
    customer = account()
    del customer["customer"]["phone"]
    customer["consent"] = {"sms": True}
    timeline = await run(env, tmp_path, customer=customer, days=3)
    assert sent(timeline) == []
    assert [(s["channel"], s["reason"]) for s in timeline["skipped"]] == [
        ("email", "no_consent"),
        ("sms", "no_address"),
    ]


async def test_segment_variant_and_hardship_resegments(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    customer = account(history={"tenure_months": 40, "missed_payments_12m": 0})
    timeline = await run(
        env, tmp_path, customer=customer, events=[{"at": "+8d", "type": "hardship_reported"}]
    )
    templates = [m["template"] for m in timeline["messages"]]
    assert templates[0] == "nudge_loyal"
    assert templates[-1] == "soft"
    assert timeline["segment"] == "hardship"


async def test_plan_accepted_ends_the_journey(env: WorkflowEnvironment, tmp_path: Path) -> None:
    timeline = await run(
        env, tmp_path, events=[{"at": "+6d", "type": "accept_plan", "installments": 3}]
    )
    assert timeline["outcome"] == "plan_accepted"
    assert timeline["events"][0]["accepted"] is True
    assert [s for s, _, _ in sent(timeline)] == ["reminder", "nudge", "plan"]


async def test_plan_rejections_explain_and_change_nothing(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    timeline = await run(
        env,
        tmp_path,
        events=[
            {"at": "+1d", "type": "accept_plan", "installments": 3},
            {"at": "+5d2h", "type": "accept_plan", "installments": 4},
            {"at": "+5d3h", "type": "payment_received", "amount": "200.00"},
            {"at": "+5d4h", "type": "accept_plan", "installments": 3},
        ],
    )
    errors = [e.get("error", "") for e in timeline["events"]]
    assert "no payment plan has been offered" in errors[0]
    assert "4 installments were not offered; offered: 2, 3, 6" in errors[1]
    # a payment after the offer changed the balance: the offer made no longer stands
    assert "the balance changed since the offer (300.00 then, 100.00 now)" in errors[3]
    assert [e["accepted"] for e in timeline["events"]] == [False, False, True, False]
    assert timeline["outcome"] == "exhausted"


async def test_dispute_holds_messages_until_resolved(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    timeline = await run(
        env,
        tmp_path,
        events=[{"at": "+1d", "type": "dispute"}, {"at": "+10d", "type": "dispute_resolved"}],
    )
    assert sent(timeline)[1] == ("nudge", "sms", "2028-03-11T09:00:00-05:00")


async def test_pause_and_resume(env: WorkflowEnvironment, tmp_path: Path) -> None:
    timeline = await run(
        env, tmp_path, events=[{"at": "+2d", "type": "pause"}, {"at": "+4d", "type": "resume"}]
    )
    assert sent(timeline)[1] == ("nudge", "sms", "2028-03-05T09:00:00-05:00")


async def test_engagement_sets_journey_engaged(env: WorkflowEnvironment, tmp_path: Path) -> None:
    journey = JOURNEY.replace(
        "template: nudge, fallback: email}",
        "template: nudge, fallback: email, when: 'not journey.engaged'}",
    )
    timeline = await simulate_journey(
        env,
        tmp_path,
        journey,
        templates=TEMPLATES,
        events=[{"at": "+1d", "type": "engagement", "kind": "clicked"}],
    )
    assert [(s["step"], s["reason"]) for s in timeline["skipped"]] == [("nudge", "condition_false")]


async def test_runtime_expression_error_is_false_not_fatal(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    journey = JOURNEY.replace(
        '"account.history.tenure_months >= 24"', '"account.attributes.score > 3"'
    )
    timeline = await simulate_journey(env, tmp_path, journey, templates=TEMPLATES, days=3)
    assert timeline["segment"] == "default"
    assert sent(timeline)[0][0] == "reminder"
    assert "segments.loyal" in timeline["errors"][0]
