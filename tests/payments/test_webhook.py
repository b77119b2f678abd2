"""The payments webhook against the running web app, a worker and the dev server, with
events signed as Stripe signs them (Stripe's own library signs and checks them): each
event type of the contract, replays and events out of order, money for an ended
journey, a crash between the ledger's commit and the journey's signal, new payment
details to the store, billing and the journey."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import stripe
from click.testing import CliRunner
from temporalio.client import WorkflowHandle

from rapport.cli import main
from rapport.contract.names import WORKFLOW_TYPE, workflow_id
from rapport.payments.desk import MoneyDesk, Told
from rapport.payments.events import signature_header, verified
from rapport.runtime.servers import free_port
from rapport.store.checkouts import Checkout, CheckoutBook
from rapport.store.payments import Payment, PaymentLedger
from rapport.web.app import create_app, serve_web
from tests.fakes import FakeBilling, serving
from tests.payments.stand_in import WEBHOOK_SECRET, ProviderRig, provider_rig
from tests.payments.stripe_events import (
    SECRET,
    deliver,
    deliver_ours,
    dispute_closed_event,
    dispute_event,
    opened,
    reference_of,
    refund_event,
    session_event,
    signed,
)
from tests.web.portal_rig import Rig, portal_rig

pytestmark = pytest.mark.timeout(180)


@pytest_asyncio.fixture(scope="module")
async def rig(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Rig]:
    async with portal_rig(tmp_path_factory.mktemp("webhook")) as rigged:
        yield rigged


@pytest_asyncio.fixture(scope="module")
async def stand_in(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ProviderRig]:
    """The provider's stand-in on two origins of its own, the web app in stripe mode."""
    async with provider_rig(tmp_path_factory.mktemp("order")) as rigged:
        yield rigged


@pytest_asyncio.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(follow_redirects=False, timeout=30) as client:
        yield client


def ledger(rig: Rig) -> PaymentLedger:
    return PaymentLedger(rig.store)


def row(rig: Rig, payment_id: str) -> Payment:
    found = ledger(rig).find(payment_id)
    assert found is not None, payment_id
    return found


def test_our_signatures_are_stripes() -> None:
    """The dev stand-in signs as Stripe does, and we accept what Stripe's library signs:
    neither side can drift without this failing."""
    body = json.dumps(session_event("completed", "A-1", "pi_sig", 100)).encode()
    ours = signature_header(body, SECRET, int(time.time()))
    assert stripe.Webhook.construct_event(body, ours, SECRET)["id"]
    theirs = stripe.WebhookSignature.generate_signature_header(body.decode(), SECRET)
    assert verified(body, theirs, SECRET, time.time())["type"] == "checkout.session.completed"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, signature_header(body, "whsec_other", 1), SECRET)


async def test_a_card_payment_is_counted_once_however_often_it_is_sent(
    rig: Rig, http: httpx.AsyncClient
) -> None:
    account_id, _ = await rig.customer()
    paid = session_event("completed", account_id, "pi_card", 2500)
    first = await deliver_ours(http, rig.web, rig.store, paid)
    again = await deliver_ours(http, rig.web, rig.store, paid)  # the same event id
    other = await deliver(
        http, rig.web, session_event("completed", account_id, "pi_card", 2500)
    )  # a new event id for the same payment
    assert (first.status_code, again.json(), other.status_code) == (
        200,
        {"received": True, "duplicate": True},
        200,
    )
    status = await rig.status_when(account_id, lambda s: s.payments)
    assert [(p.payment_id, p.amount) for p in status.payments] == [("pi_card", Decimal("25.00"))]
    assert status.balance == Decimal("275.00")
    assert status.duplicate_payments == []  # told once
    taken = row(rig, "pi_card")
    assert (taken.status, taken.source, taken.applied) == ("succeeded", "provider", True)
    assert taken.journey is not None
    assert taken.journey.startswith("portal/")


async def test_a_bank_debit_is_pending_until_it_succeeds(rig: Rig, http: httpx.AsyncClient) -> None:
    account_id, _ = await rig.customer()
    unpaid = session_event("completed", account_id, "pi_ach", 10000, payment_status="unpaid")
    assert (await deliver_ours(http, rig.web, rig.store, unpaid)).status_code == 200
    assert (row(rig, "pi_ach").status, row(rig, "pi_ach").net) == ("pending", Decimal(0))
    assert (await rig.status(account_id)).payments == []  # nothing counts yet
    settled = session_event("async_payment_succeeded", account_id, "pi_ach", 10000)
    assert (await deliver_ours(http, rig.web, rig.store, settled)).status_code == 200
    status = await rig.status_when(account_id, lambda s: s.payments)
    assert status.balance == Decimal("200.00")
    assert row(rig, "pi_ach").status == "succeeded"


async def test_a_failed_bank_debit_never_reaches_the_journey(
    rig: Rig, http: httpx.AsyncClient
) -> None:
    account_id, _ = await rig.customer()
    unpaid = session_event("completed", account_id, "pi_bacs", 5000, payment_status="unpaid")
    failed = session_event("async_payment_failed", account_id, "pi_bacs", 5000, "unpaid")
    assert (await deliver_ours(http, rig.web, rig.store, unpaid)).status_code == 200
    assert (await deliver_ours(http, rig.web, rig.store, failed)).status_code == 200
    assert row(rig, "pi_bacs").status == "failed"
    await asyncio.sleep(0.3)
    status = await rig.status(account_id)
    assert (status.payments, status.balance) == ([], Decimal("300.00"))


async def test_a_refund_and_a_dispute_put_the_money_back_on_the_balance(
    rig: Rig, http: httpx.AsyncClient
) -> None:
    account_id, _ = await rig.customer()
    await deliver_ours(
        http, rig.web, rig.store, session_event("completed", account_id, "pi_back", 5000)
    )
    await rig.status_when(account_id, lambda s: s.payments)
    refund = refund_event(account_id, "pi_back", 5000, 2000)
    assert (await deliver_ours(http, rig.web, rig.store, refund)).status_code == 200
    assert (await deliver_ours(http, rig.web, rig.store, refund)).json()["duplicate"] is True
    status = await rig.status_when(account_id, lambda s: s.reversals)
    assert status.balance == Decimal("270.00")
    assert row(rig, "pi_back").status == "partially_refunded"
    dispute = dispute_event("pi_back", 3000)
    assert (await deliver_ours(http, rig.web, rig.store, dispute)).status_code == 200
    status = await rig.status_when(
        account_id, lambda s: s.reversals and s.reversals[-1].amount == Decimal("50.00")
    )
    assert status.balance == Decimal("300.00")
    assert [(r.reason, r.amount) for r in status.reversals] == [
        ("refund", Decimal("20.00")),
        ("dispute", Decimal("50.00")),
    ]
    back = row(rig, "pi_back")
    assert (back.status, back.net, back.unapplied) == ("disputed", Decimal(0), Decimal(0))


@pytest.mark.slow
async def test_events_out_of_order_end_the_same(
    stand_in: ProviderRig, http: httpx.AsyncClient
) -> None:
    """Stripe does not promise order: a refund, or a dispute, may come before the
    completion. The provider's record of the payment names the checkout Rapport opened:
    the refund is taken at once, and the completion after it ends the same."""
    rig, web = stand_in.rig, stand_in.rig.web
    account_id, _ = await rig.customer()
    opened(rig.store, account_id, "pi_late", 4000, provider=stand_in.provider)
    opened(rig.store, account_id, "pi_early", 900, provider=stand_in.provider)
    refund = refund_event(account_id, "pi_late", 4000, 4000)
    dispute = dispute_event("pi_early", 900)
    for event in (refund, dispute):
        assert (await deliver(http, web, event, WEBHOOK_SECRET)).json() == {"received": True}
    for payment_id, cents in (("pi_late", 4000), ("pi_early", 900)):
        paid = session_event("completed", account_id, payment_id, cents)
        assert (await deliver(http, web, paid, WEBHOOK_SECRET)).json() == {"received": True}
    settled, disputed = row(rig, "pi_late"), row(rig, "pi_early")
    assert (settled.status, settled.net, settled.unapplied) == ("refunded", Decimal(0), Decimal(0))
    assert (disputed.status, disputed.net, disputed.unapplied) == (
        "disputed",
        Decimal(0),
        Decimal(0),
    )
    await asyncio.sleep(0.3)
    assert (await rig.status(account_id)).balance == Decimal("300.00")


@pytest.mark.slow
async def test_money_for_an_ended_journey_is_kept_and_listed_for_billing(
    rig: Rig, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    account_id, _ = await rig.customer()
    await rig.client.get_workflow_handle(workflow_id(account_id)).terminate("test: ended")
    late = session_event("completed", account_id, "pi_orphan", 1234)
    with caplog.at_level("WARNING", logger="rapport.payments"):
        answer = await deliver_ours(http, rig.web, rig.store, late)
    assert answer.status_code == 200
    kept = row(rig, "pi_orphan")
    assert (kept.status, kept.applied, kept.unapplied) == ("succeeded", False, Decimal("12.34"))
    assert any("journey payments --unapplied" in r.getMessage() for r in caplog.records)
    listed = CliRunner().invoke(
        main,
        ["payments", "--unapplied", "--json"],
        env={"RAPPORT_DATABASE_URL": rig.settings.store_url()},
    )
    assert listed.exit_code == 0, listed.output
    orphan = [p for p in json.loads(listed.output)["payments"] if p["payment_id"] == "pi_orphan"]
    assert orphan == [
        {
            "account_id": account_id,
            "payment_id": "pi_orphan",
            "amount": "12.34",
            "currency": "USD",
            "status": "succeeded",
            "source": "provider",
            "received_at": kept.received_at.isoformat(),
            "journey": None,
            "applied": False,
            "reversed": "0.00",
            "changed_at": kept.changed_at.isoformat(),
            "reference": "cs_pi_orphan",
            "unapplied": "12.34",
        }
    ]


@pytest.mark.slow
async def test_a_second_payment_after_paid_is_left_for_billing(
    rig: Rig, http: httpx.AsyncClient
) -> None:
    """Two tabs, both paid in full: the journey counts the first, the ledger keeps the
    second as unapplied (a refund for billing to make)."""
    account_id, _ = await rig.customer()
    handle = rig.client.get_workflow_handle(workflow_id(account_id))
    first = deliver_ours(
        http, rig.web, rig.store, session_event("completed", account_id, "pi_tab1", 30000)
    )
    second = deliver_ours(
        http, rig.web, rig.store, session_event("completed", account_id, "pi_tab2", 30000)
    )
    answers = await asyncio.gather(first, second)
    assert [a.status_code for a in answers] == [200, 200]
    assert (await handle.result())["outcome"] == "paid"
    rows = {p: row(rig, p) for p in ("pi_tab1", "pi_tab2")}
    assert sorted(r.applied for r in rows.values()) == [False, True]
    assert sum(r.unapplied for r in rows.values()) == Decimal("300.00")


async def test_temporal_down_after_the_commit_means_the_retry_tells_the_journey(
    rig: Rig, http: httpx.AsyncClient
) -> None:
    """The ledger commits; Temporal does not answer: 503, the event is not taken, and the
    provider's retry (to any web process) tells the journey, which counts it once."""
    account_id, _ = await rig.customer()
    cut_off = rig.settings.model_copy(update={"temporal_address": f"127.0.0.1:{free_port()}"})
    other = await serve_web(cut_off, port=free_port())
    try:
        paid = session_event("completed", account_id, "pi_cut", 1500)
        refused = await deliver_ours(http, other.address, rig.store, paid)
    finally:
        await other.stop()
    assert refused.status_code == 503
    assert refused.headers["content-type"] == "application/problem+json"
    kept = row(rig, "pi_cut")
    assert (kept.status, kept.told_received) == ("succeeded", False)
    assert not ledger(rig).event_taken(paid["id"])
    assert (await deliver_ours(http, rig.web, rig.store, paid)).status_code == 200
    status = await rig.status_when(account_id, lambda s: s.payments)
    assert [p.payment_id for p in status.payments] == ["pi_cut"]
    assert row(rig, "pi_cut").applied


async def test_a_crash_between_commit_and_signal_is_healed_by_the_retry(
    rig: Rig, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process dies (an exception here) right after the ledger's commit, before the
    journey hears: the provider sees a 500 and sends again; nothing is counted twice."""
    account_id, _ = await rig.customer()
    real = MoneyDesk.tell
    crashed: list[str] = []

    async def crash_once(self: MoneyDesk, payment: Payment) -> Payment:
        if payment.payment_id == "pi_crash" and not crashed:
            crashed.append(payment.payment_id)
            raise RuntimeError("killed after the commit")
        return await real(self, payment)

    monkeypatch.setattr(MoneyDesk, "tell", crash_once)
    paid = session_event("completed", account_id, "pi_crash", 700)
    opened(rig.store, account_id, "pi_crash", 700)
    body, headers = signed(paid)
    transport = httpx.ASGITransport(app=create_app(rig.settings, rig.client))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as inside:
        try:  # in-process, the crash reaches the caller (a server answers 500)
            answer = await inside.post("/webhooks/payments", content=body, headers=headers)
        except RuntimeError:
            answer = httpx.Response(500)
    assert answer.status_code == 500
    assert row(rig, "pi_crash").told_received is False
    assert not ledger(rig).event_taken(paid["id"])
    assert (await deliver_ours(http, rig.web, rig.store, paid)).status_code == 200
    assert (await deliver_ours(http, rig.web, rig.store, paid)).json()["duplicate"] is True
    status = await rig.status_when(account_id, lambda s: s.payments)
    assert [(p.payment_id, p.amount) for p in status.payments] == [("pi_crash", Decimal("7.00"))]


async def test_events_that_are_not_ours_or_malformed(rig: Rig, http: httpx.AsyncClient) -> None:
    account_id, _ = await rig.customer()
    other = await deliver_ours(
        http, rig.web, rig.store, {"id": "evt_x", "type": "customer.created"}
    )
    assert other.json() == {"received": True, "ignored": "customer.created"}
    broken = session_event("completed", account_id, "pi_broken", 100)
    del broken["data"]["object"]["amount_total"]
    bad = await deliver_ours(http, rig.web, rig.store, broken)
    assert bad.status_code == 400
    assert bad.json()["field"] == "data.object.amount_total"
    yen_cents = session_event("completed", account_id, "pi_huf", 12345, currency="huf")
    assert (
        await deliver_ours(http, rig.web, rig.store, yen_cents)
    ).status_code == 400  # not whole forint
    conflict = session_event("completed", "SOMEONE-ELSE", "pi_card_x", 100)
    await deliver_ours(
        http, rig.web, rig.store, session_event("completed", account_id, "pi_card_x", 100)
    )
    answer = await deliver_ours(http, rig.web, rig.store, conflict)
    assert answer.status_code == 409
    assert ledger(rig).find("pi_broken") is None


async def test_new_payment_details_reach_the_store_billing_and_the_journey(
    rig: Rig, http: httpx.AsyncClient
) -> None:
    """Through the dev stand-in, as a browser would: a setup session, its Save button,
    the signed webhook; the payment method's reference (never card data) is kept."""
    account_id, _ = await rig.customer()
    reference = await _save_details(http, rig, account_id)
    assert re.fullmatch(r"pm_dev_[\w-]+", reference)
    history = await rig.client.get_workflow_handle(workflow_id(account_id)).fetch_history()
    told = [
        e.workflow_execution_signaled_event_attributes
        for e in history.events
        if e.workflow_execution_signaled_event_attributes.signal_name == "payment_details_updated"
    ]
    assert len(told) == 1


@pytest.mark.slow
async def test_billing_over_http_is_told_of_new_payment_details(tmp_path: Path) -> None:
    billing = FakeBilling(method_failures=1)  # down once: the provider's retry delivers
    async with serving(billing.app()) as base, portal_rig(tmp_path, billing_url=base) as rig:
        account_id, _ = await rig.customer()
        async with httpx.AsyncClient(timeout=30) as http:
            reference = await _save_details(http, rig, account_id, attempts=2)
    assert billing.payment_methods == [
        (
            account_id,
            {"reference": reference, "customer": billing.payment_methods[0][1]["customer"]},
        )
    ]
    assert billing.payment_methods[0][1]["customer"].startswith("cus_dev_")


async def _save_details(
    http: httpx.AsyncClient, rig: Rig, account_id: str, attempts: int = 1
) -> str:
    """A setup session at the dev stand-in, saved as its page's button saves it (again,
    when the first try failed); the payment method's reference the store kept."""
    key = base64.b64encode(b"sk_dev:").decode()
    session = await http.post(
        f"{rig.web}/dev-provider/v1/checkout/sessions",
        data={
            "mode": "setup",
            "client_reference_id": account_id,
            "currency": "usd",
            "success_url": f"{rig.web}/done",
            "cancel_url": f"{rig.web}/cancel",
            "expires_at": str(int(time.time()) + 31 * 60),
        },
        headers={"Authorization": f"Basic {key}"},
    )
    assert session.status_code == 200, session.text
    now = datetime.now(UTC)  # as the portal keeps the checkout it starts
    book = CheckoutBook(rig.store)
    reference = reference_of(session.json()["id"])
    book.open(Checkout(reference, account_id, "test", "setup", "USD", None, "en", "UTC", now, now))
    book.started(reference, session.json()["id"], session.json()["url"])
    answers = [(await http.post(session.json()["url"])).status_code for _ in range(attempts)]
    assert answers[-1] == 303, answers
    methods = CheckoutBook(rig.store).methods(account_id)
    assert len(methods) == 1
    return methods[0][0]


@pytest.mark.slow
async def test_another_products_checkouts_refunds_and_disputes_are_not_rapports(
    rig: Rig, http: httpx.AsyncClient
) -> None:
    """Going live on a Stripe account that sells other things too: its webhook endpoint
    gets every checkout, refund and dispute of the account. A checkout Rapport never
    created is not money for the account its `client_reference_id` happens to name (it
    ended that customer's journey paid), nor are its refunds and disputes (they were
    rows in the ledger, or 503 for three days until Stripe disables the endpoint)."""
    account_id, _ = await rig.customer()
    shop = session_event("completed", account_id, "pi_shop", 30000, session="cs_shop")
    refund = refund_event(account_id, "pi_shop_2", 5000, 5000)
    dispute = dispute_event("pi_shop_3", 2000)
    setup = session_event("completed", account_id, "pi_none", 0, session="cs_shop_setup")
    setup["data"]["object"] |= {"mode": "setup", "setup_intent": "seti_shop"}
    bare = session_event("completed", account_id, "pi_shop_4", 100, session="cs_shop_bare")
    del bare["data"]["object"]["client_reference_id"]  # was 400, retried for three days
    legacy = refund_event(account_id, "pi_none", 100, 100)
    legacy["data"]["object"]["payment_intent"] = None  # the Charges API: no Checkout's
    events = (shop, refund, dispute, setup, bare, legacy)
    answers = [await deliver(http, rig.web, e) for e in events]
    assert [a.status_code for a in answers] == [200] * 6
    assert [a.json().get("ignored") for a in answers] == [e["type"] for e in events]
    assert [ledger(rig).find(p) for p in ("pi_shop", "pi_shop_2", "pi_shop_3")] == [None] * 3
    assert CheckoutBook(rig.store).methods(account_id) == []
    await asyncio.sleep(0.3)
    status = await rig.status(account_id)
    assert (status.payments, status.balance, status.outcome) == ([], Decimal("300.00"), None)


async def test_a_dispute_won_brings_the_money_back(rig: Rig, http: httpx.AsyncClient) -> None:
    """The customer disputed, the bank took the money back (the balance went up again),
    and the merchant won: the money is the merchant's again. It was ignored, so the
    journey chased a customer who had paid, and --unapplied told billing to claim it
    again. The money coming back is a row of its own (the dispute's id, its payment as
    reference) that the journey counts; a lost dispute changes nothing."""
    account_id, _ = await rig.customer()
    ended, _ = await rig.customer()
    for who, payment_id in ((account_id, "pi_won"), (ended, "pi_won_late")):
        paid = session_event("completed", who, payment_id, 5000)
        await deliver_ours(http, rig.web, rig.store, paid)
        await rig.status_when(who, lambda s: s.payments)
    await rig.client.get_workflow_handle(workflow_id(ended)).terminate("test: ended")
    for payment_id in ("pi_won", "pi_won_late"):
        assert (await deliver(http, rig.web, dispute_event(payment_id, 5000))).status_code == 200
    await rig.status_when(account_id, lambda s: s.balance == Decimal("300.00"))
    lost = await deliver(http, rig.web, dispute_closed_event("pi_won", 5000, "lost"))
    won = dispute_closed_event("pi_won", 5000)
    answers = [await deliver(http, rig.web, e) for e in (won, won)]
    again = await deliver(http, rig.web, {**won, "id": "evt_won_2"})  # a new event id
    late = await deliver(http, rig.web, dispute_closed_event("pi_won_late", 5000))
    assert lost.json() == {"received": True, "ignored": "charge.dispute.closed"}
    assert [a.json() for a in (*answers, again, late)] == [
        {"received": True},
        {"received": True, "duplicate": True},
        {"received": True},
        {"received": True},
    ]
    status = await rig.status_when(account_id, lambda s: s.balance == Decimal("250.00"))
    assert [(p.payment_id, p.amount) for p in status.payments] == [
        ("pi_won", Decimal("50.00")),
        ("dp_pi_won", Decimal("50.00")),
    ]
    back = row(rig, "dp_pi_won")
    assert (back.status, back.reference, back.applied, back.net) == (
        "succeeded",
        "pi_won",
        True,
        Decimal("50.00"),
    )
    assert row(rig, "pi_won").status == "disputed"
    for who in (account_id, ended):  # what the ledger holds: the payment, once
        rows = ledger(rig).for_account(who)
        assert sum((p.net for p in rows), Decimal(0)) == Decimal("50.00")
    # the ended journey's: taken back, then back again: nothing left for billing
    assert sum((p.unapplied for p in ledger(rig).for_account(ended)), Decimal(0)) == 0


@pytest.mark.slow
async def test_money_told_as_the_journey_continues_as_new_reaches_the_new_run(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The desk finds the journey's run, then signals that run. Should the journey
    continue as new in between (a long history, a new worker version), the run is gone:
    the payment was kept as if no journey ran (unapplied) while the next run, running,
    chased a customer who had paid. The race is replayed by describing the journey just
    before it continues."""
    account_id = f"P-{uuid.uuid4().hex[:8]}"
    handle = await rig.client.start_workflow(
        WORKFLOW_TYPE,
        {
            "account": rig.account(account_id).model_dump(mode="json"),
            "journey": "portal",
            "history_limit": 100,
        },
        id=workflow_id(account_id),
        task_queue=rig.settings.task_queue,
    )
    await rig.status_when(account_id, lambda s: s.journey_id)
    stale = await handle.describe()  # the desk's look, just before the run continues
    while (await handle.describe()).run_id == stale.run_id:
        await handle.signal("engagement", {"kind": "opened"})
    real = WorkflowHandle.describe
    looks = [stale]

    async def describe(self: WorkflowHandle[Any, Any], **kwargs: Any) -> Any:
        return looks.pop() if looks else await real(self, **kwargs)

    monkeypatch.setattr(WorkflowHandle, "describe", describe)
    told = await rig.journeys.tell_payment(
        account_id,
        "payment_received",
        {"amount": "25.00", "payment_id": "pi_can", "currency": "USD"},
        "pi_can",
    )
    monkeypatch.undo()
    now = await handle.describe()
    assert told == Told(f"portal/{now.run_id}", True)
    status = await rig.status(account_id)
    assert [(p.payment_id, p.counted) for p in status.payments] == [("pi_can", True)]
