"""The activities on their own: load, render and deliver, idempotently."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.definitions import DefinitionActivities
from activities.delivery import DeliveryActivities
from rapport.contract.activities import LoadJourney, SendRequest
from rapport.language.account import Account
from rapport.providers.base import Router
from rapport.providers.outbox import Outbox, read_outbox
from rapport.security.links import LinkSigner
from tests.scenarios import account

ROOT = Path(__file__).resolve().parents[2]


def customer(**changes: object) -> Account:
    return Account.model_validate(account(**changes))


def send_request(key: str = "k-1", template: str = "nudge", source: str | None = None) -> SendRequest:
    body = source or "Still {{ balance }}. {{ links.pay_now }} {{ opt_out }}"
    return SendRequest(idempotency_key=key, step="nudge", channel="sms", template=template,
                       templates={f"{template}.sms.j2": body}, account=customer(),
                       balance=Decimal("120.50"), sent_at=datetime(2028, 3, 1, 14, tzinfo=UTC))


async def test_outbox_delivers_once_per_key(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox.jsonl"
    delivery = DeliveryActivities(Router({"*": Outbox(outbox)}),
                                  LinkSigner("https://pay.example.com", "k"))
    env = ActivityEnvironment()
    first = await env.run(delivery.send_message, send_request())
    again = await env.run(delivery.send_message, send_request())
    # a new worker process reads the file and still knows the key
    fresh = DeliveryActivities(Router({"*": Outbox(outbox)}),
                               LinkSigner("https://pay.example.com", "k"))
    third = await env.run(fresh.send_message, send_request())
    assert (first.status, again.status, third.status) == ("delivered", "duplicate", "duplicate")
    entries = read_outbox(outbox)
    assert len(entries) == 1
    assert entries[0]["body"].startswith("Still $120.50. https://pay.example.com/pay_now?")
    assert entries[0]["to"] == "+12125550100"
    assert json.loads(outbox.read_text().splitlines()[0])["key"] == "k-1"


async def test_a_template_that_fails_on_real_data_is_rejected_not_retried(tmp_path: Path) -> None:
    delivery = DeliveryActivities(Router({"*": Outbox(tmp_path / "o.jsonl")}),
                                  LinkSigner("https://pay.example.com", "k"))
    result = await ActivityEnvironment().run(
        delivery.send_message,
        send_request(source="{{ account.attributes.plan_name }} {{ opt_out }}"))
    assert result.status == "rejected"
    assert "template_error" in result.detail and "plan_name" in result.detail


async def test_load_journey_by_entry_rule_and_by_id() -> None:
    loader = DefinitionActivities([ROOT / "journeys"])
    env = ActivityEnvironment()
    early = await env.run(loader.load_journey, LoadJourney(journey=None, account=customer()))
    due = await env.run(loader.load_journey,
                        LoadJourney(journey=None, account=customer(days_past_due=0)))
    hardship = await env.run(loader.load_journey, LoadJourney(
        journey=None, account=customer(history={"hardship": True})))
    named = await env.run(loader.load_journey, LoadJourney(journey="hardship",
                                                           account=customer()))
    assert [s.definition.id for s in (early, due, hardship, named)] == [
        "early-stage", "pre-due", "hardship", "hardship"]
    assert "reminder_loyal.email.j2" in early.templates
    assert "hardship_plan.email.j2" not in early.templates  # only what the journey uses


async def test_load_journey_refuses_invalid_definitions(tmp_path: Path) -> None:
    from tests.journey_files import BASE, write_journey

    write_journey(tmp_path, BASE.replace("wait: 2d", "wait: never"))
    loader = DefinitionActivities([tmp_path])
    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(loader.load_journey,
                                        LoadJourney(journey="test-journey", account=customer()))
    assert raised.value.non_retryable
    assert "journey.yaml:10: steps[1].wait" in str(raised.value)
