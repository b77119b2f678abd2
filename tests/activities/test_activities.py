"""The activities on their own: load, render and deliver, idempotently."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.definitions import DefinitionActivities
from activities.delivery import DeliveryActivities
from rapport.billing.sources import LocalLedger
from rapport.catalog import registry
from rapport.catalog.archive import MemoryArchive
from rapport.catalog.library import Library
from rapport.contract.activities import PrepareJourney, SendMessage
from rapport.language.account import Account
from rapport.providers.base import Router
from rapport.providers.outbox import Outbox, read_outbox
from rapport.security.links import LinkSigner
from rapport.store.checkouts import CheckoutBook
from rapport.store.database import Store
from rapport.store.payments import MoneyEvent, PaymentLedger
from tests.scenarios import account
from tests.sends import send_message

ROOT = Path(__file__).resolve().parents[2]


def customer(**changes: object) -> Account:
    return Account.model_validate(account(**changes))


NOW = datetime.now(UTC)
SINCE = NOW - timedelta(days=1)


def send_request(
    key: str = "k-1", template: str = "nudge", source: str | None = None
) -> SendMessage:
    body = source or "Still {{ balance }}. {{ links.pay_now }} {{ opt_out }}"
    return send_message({f"{template}.sms.j2": body}, channel="sms", template=template, key=key)


async def test_outbox_delivers_once_per_key(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox.jsonl"
    delivery = DeliveryActivities(Router({"*": Outbox(outbox)}), LinkSigner("k"))
    env = ActivityEnvironment()
    first = await env.run(delivery.send_message, send_request())
    again = await env.run(delivery.send_message, send_request())
    # a new worker process reads the file and still knows the key
    fresh = DeliveryActivities(Router({"*": Outbox(outbox)}), LinkSigner("k"))
    third = await env.run(fresh.send_message, send_request())
    assert (first.status, again.status, third.status) == ("delivered", "duplicate", "duplicate")
    entries = read_outbox(outbox)
    assert len(entries) == 1
    assert entries[0]["body"].startswith("Still $120.50. http://localhost:8000/r/")
    assert entries[0]["to"] == "+12125550100"
    assert json.loads(outbox.read_text().splitlines()[0])["key"] == "k-1"


async def test_a_template_that_fails_on_real_data_is_rejected_not_retried(tmp_path: Path) -> None:
    delivery = DeliveryActivities(Router({"*": Outbox(tmp_path / "o.jsonl")}), LinkSigner("k"))
    result = await ActivityEnvironment().run(
        delivery.send_message,
        send_request(source="{{ account.attributes.plan_name }} {{ opt_out }}"),
    )
    assert result.status == "rejected"
    assert "template_error" in result.detail
    assert "plan_name" in result.detail


async def test_paid_on_a_retry_is_not_sent_and_says_an_attempt_may_have_gone(
    tmp_path: Path, sqlite_store: Store
) -> None:
    """The balance is cleared by the time the send is retried (a worker died mid-delivery):
    nothing is sent, and the journey is told an earlier attempt may have reached the
    customer. A first attempt that finds the balance paid says no such thing."""
    outbox = tmp_path / "outbox.jsonl"
    ledger = PaymentLedger(sqlite_store)
    ledger.take(MoneyEvent("P-1", "T-1", Decimal("120.50"), "USD", "cli", NOW, paid=True))
    billing = LocalLedger(ledger, CheckoutBook(sqlite_store))
    delivery = DeliveryActivities(Router({"*": Outbox(outbox)}), LinkSigner("k"), billing)
    first, retry = ActivityEnvironment(), ActivityEnvironment()
    later = NOW + timedelta(minutes=1)  # the send is after the payment reached the ledger
    first.info = dataclasses.replace(first.info, current_attempt_scheduled_time=later)
    retry.info = dataclasses.replace(retry.info, attempt=2, current_attempt_scheduled_time=later)
    request = send_request().model_copy(
        update={"account_id": "T-1", "base_balance": Decimal("120.50"), "balance_since": SINCE}
    )
    on_first = await first.run(delivery.send_message, request)
    on_retry = await retry.run(delivery.send_message, request)
    assert (on_first.status, on_first.maybe_delivered) == ("paid", False)
    assert (on_retry.status, on_retry.maybe_delivered) == ("paid", True)
    assert read_outbox(outbox) == []


def definitions(*paths: Path) -> DefinitionActivities:
    return DefinitionActivities(Library(list(paths)), MemoryArchive())


@pytest.mark.slow
async def test_prepare_journey_by_entry_rule_and_by_id() -> None:
    loader = definitions(ROOT / "journeys")
    env = ActivityEnvironment()
    picks = [
        await env.run(loader.prepare_journey, PrepareJourney(journey=name, account=who))
        for name, who in (
            (None, customer()),
            (None, customer(days_past_due=0)),
            (None, customer(history={"hardship": True})),
            ("hardship", customer()),
        )
    ]
    assert [p.pin.id for p in picks] == ["early-stage", "pre-due", "hardship", "hardship"]
    early = registry.pinned(picks[0].pin.hash)  # pinned, and found by its hash
    assert "reminder_loyal.email.j2" in early.templates.sources
    assert "hardship_plan.email.j2" not in early.templates.sources  # only what it uses
    assert picks[0].zone.name == "America/New_York"
    assert picks[0].zone.offsets


async def test_a_broken_file_fails_only_its_own_journeys(tmp_path: Path) -> None:
    from tests.journey_files import BASE, write_journey

    write_journey(tmp_path, BASE.replace("wait: 2d", "wait: never"))
    write_journey(tmp_path, BASE.replace("id: test-journey", "id: healthy"), name="ok.yaml")
    loader = definitions(tmp_path)
    env = ActivityEnvironment()
    healthy = await env.run(
        loader.prepare_journey, PrepareJourney(journey="healthy", account=customer())
    )
    assert healthy.pin.id == "healthy"
    with pytest.raises(ApplicationError) as raised:
        await env.run(
            loader.prepare_journey, PrepareJourney(journey="test-journey", account=customer())
        )
    assert raised.value.non_retryable
    assert "no journey has id 'test-journey'" in str(raised.value)
    assert "journey.yaml:10: steps[1].wait" in str(raised.value)


def test_each_content_is_validated_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rapport.catalog import library
    from rapport.language import loader
    from tests.journey_files import BASE, write_journey

    path = write_journey(tmp_path, BASE)
    loads: list[Path] = []
    real = loader.load_journey  # what the library calls, counted below

    def counted(path: Path) -> object:
        loads.append(path)
        return real(path)

    monkeypatch.setattr(library, "load_journey", counted)
    shelf = Library([tmp_path])
    for _ in range(5):
        shelf.choose("test-journey", customer())
    assert len(loads) == 1
    first = shelf.choose("test-journey", customer()).pin
    path.write_text(BASE.replace("version: 1", "version: 2"))  # an edit: validated again
    second = shelf.choose("test-journey", customer()).pin
    assert len(loads) == 2
    assert (first.version, second.version) == (1, 2)
    assert first.hash != second.hash
