"""The portal and the payments webhook over plain HTTP: what a forged, expired or
revoked link gets, the light identity check and its limit, CSRF, rate limits, the
webhook's signature, tolerance and dedupe, hardship and dispute."""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from click.testing import CliRunner

from rapport.cli import main
from rapport.contract.names import workflow_id
from rapport.payments.events import signature_header
from rapport.store.links import Link, LinkBook
from rapport.store.payments import PaymentLedger
from tests.payments.stripe_events import opened
from tests.web.portal_rig import Rig, portal_rig

pytestmark = pytest.mark.timeout(120)
SECRET = "whsec_dev_only_not_secret"  # the dev default
BROWSER = {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}  # a person's click


@pytest_asyncio.fixture(scope="module")
async def rig(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Rig]:
    async with portal_rig(tmp_path_factory.mktemp("portal-http")) as rigged:
        yield rigged


@pytest_asyncio.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(follow_redirects=False) as client:
        yield client


def csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert found, page.text
    return found.group(1)


async def signed_in(http: httpx.AsyncClient, link: str) -> str:
    """Pass the check; the options page's CSRF token."""
    landing = await http.get(link)
    passed = await http.post(f"{link}/check", data={"csrf": csrf(landing), "answer": "0100"})
    assert passed.status_code == 303
    return csrf(await http.get(link))


async def test_forged_expired_and_revoked_links_get_the_same_404(
    rig: Rig, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    account_id, link = await rig.customer()
    expired = "E" * 16
    LinkBook(rig.store).keep(
        expired,
        Link(
            account_id=account_id,
            journey_id="portal",
            purpose="respond",
            channel="sms",
            address=None,
            expires_at=datetime.now(UTC) - timedelta(minutes=1),
        ),
        datetime.now(UTC) - timedelta(days=31),
    )
    forged = await http.get(f"{rig.web}/r/AAAAAAAAAAAAAAAA")
    too_long = await http.get(f"{rig.web}/r/{'A' * 200}")
    old = await http.get(f"{rig.web}/r/{expired}")
    live = await http.get(link)
    revoked_by = CliRunner().invoke(
        main,
        ["links", "revoke", account_id],
        env={"RAPPORT_DATABASE_URL": rig.settings.store_url()},
    )
    revoked = await http.get(link)
    assert live.status_code == 200
    assert revoked_by.exit_code == 0, revoked_by.output
    assert "revoked 1 link of account" in revoked_by.output  # the expired one was not live
    for answer in (forged, too_long, old, revoked):
        assert answer.status_code == 404
        assert answer.text == forged.text
        assert account_id not in answer.text
        assert "$300.00" not in answer.text


async def test_the_page_before_the_check_shows_only_the_creditor_and_the_amount(
    rig: Rig, http: httpx.AsyncClient
) -> None:
    _, link = await rig.customer()
    page = await http.get(f"{link}/plan")
    assert page.status_code == 200
    assert "$300.00" in page.text
    assert "Rapport Demo Energy" in page.text
    assert "Robin" not in page.text
    assert "Set up this plan" not in page.text
    assert "0100" not in page.text
    headers = page.headers
    assert headers["Cache-Control"] == "no-store"
    assert headers["X-Frame-Options"] == "DENY"
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert "<script" not in page.text


async def test_stopping_emails_asks_for_no_check(rig: Rig, http: httpx.AsyncClient) -> None:
    account_id, link = await rig.customer()
    page = await http.get(f"{link}/opt-out")
    stopped = await http.post(f"{link}/opt-out", data={"csrf": csrf(page), "channel": "email"})
    assert "$300.00" not in page.text
    assert "Done: no more emails" in stopped.text
    assert rig.consent.refusal(account_id, "email", None) is not None


async def test_five_wrong_answers_lock_the_link_even_for_the_right_one(
    rig: Rig, http: httpx.AsyncClient
) -> None:
    _, link = await rig.customer()
    token = csrf(await http.get(link))
    answers = [
        await http.post(f"{link}/check", data={"csrf": token, "answer": "9999"}) for _ in range(5)
    ]
    right = await http.post(f"{link}/check", data={"csrf": token, "answer": "0100"})
    assert [a.status_code for a in answers] == [422, 422, 422, 422, 403]
    assert "4 more times" in answers[0].text
    assert right.status_code == 403
    assert "Too many tries" in right.text
    assert "rp_" not in right.headers.get("set-cookie", "")


async def test_a_form_without_its_csrf_token_changes_nothing(
    rig: Rig, http: httpx.AsyncClient
) -> None:
    account_id, link = await rig.customer()
    await signed_in(http, link)
    forged = await http.post(f"{link}/dispute", data={})
    wrong = await http.post(f"{link}/dispute", data={"csrf": "0" * 32})
    assert (forged.status_code, wrong.status_code) == (403, 403)
    assert (await rig.status(account_id)).disputed is False


async def test_hardship_and_dispute_reach_the_journey(rig: Rig, http: httpx.AsyncClient) -> None:
    account_id, link = await rig.customer()
    token = await signed_in(http, link)
    hardship = await http.post(f"{link}/hardship", data={"csrf": token})
    dispute = await http.post(f"{link}/dispute", data={"csrf": token})
    assert "Thank you for telling us" in hardship.text
    assert "We will look into it" in dispute.text
    status = await rig.status_when(account_id, lambda s: s.disputed)
    assert status.disputed


async def test_a_part_payment_out_of_bounds_is_refused_on_the_form(
    rig: Rig, http: httpx.AsyncClient
) -> None:
    _, link = await rig.customer()
    token = await signed_in(http, link)
    for amount, says in (
        ("300.01", "more than you owe"),
        ("abc", "Please enter an amount"),
        ("1e3", "Please enter an amount"),
        ("0.001", "too many decimal places"),
        ("-5", "Please enter an amount"),
        ("NaN", "Please enter an amount"),
    ):
        answer = await http.post(f"{link}/pay-part", data={"csrf": token, "amount": amount})
        assert answer.status_code == 422, amount
        assert says in answer.text, amount
        assert 'aria-invalid="true"' in answer.text


async def test_a_call_time_that_was_not_offered_is_refused(
    rig: Rig, http: httpx.AsyncClient
) -> None:
    account_id, link = await rig.customer()
    token = await signed_in(http, link)
    at_night = "2030-01-01T03:00:00+00:00"
    answer = await http.post(f"{link}/talk", data={"csrf": token, "at": at_night})
    assert answer.status_code == 422
    assert "Please choose one of the times" in answer.text
    assert (await rig.status(account_id)).callback_at is None


def event(account_id: str, event_id: str, intent: str, cents: int) -> bytes:
    return json.dumps(
        {
            "id": event_id,
            "type": "checkout.session.completed",
            "data": {
                "object": {
                    "id": "cs_1",
                    "mode": "payment",
                    "client_reference_id": account_id,
                    "amount_total": cents,
                    "currency": "usd",
                    "payment_intent": intent,
                    "payment_status": "paid",
                }
            },
        }
    ).encode()


async def post_event(
    http: httpx.AsyncClient, rig: Rig, body: bytes, signature: str | None = None
) -> httpx.Response:
    return await http.post(
        f"{rig.web}/webhooks/payments",
        content=body,
        headers={
            "Stripe-Signature": signature or signature_header(body, SECRET, int(time.time())),
            "Content-Type": "application/json",
        },
    )


async def test_the_webhook_checks_signature_and_time_and_takes_an_event_once(
    rig: Rig, http: httpx.AsyncClient
) -> None:
    account_id, _ = await rig.customer()
    body = event(account_id, "evt_1", "pi_1", 2500)
    opened(rig.store, account_id, "pi_1", 2500, session="cs_1")  # the portal's checkout
    forged = await post_event(http, rig, body, signature_header(body, "wrong", int(time.time())))
    stale = await post_event(
        http, rig, body, signature_header(body, SECRET, int(time.time()) - 301)
    )
    altered = await post_event(
        http,
        rig,
        body.replace(b"2500", b"250000"),
        signature_header(body, SECRET, int(time.time())),
    )
    taken = await post_event(http, rig, body)
    again = await post_event(http, rig, body)
    other_event = await post_event(http, rig, event(account_id, "evt_2", "pi_1", 2500))
    other_type = await post_event(
        http, rig, json.dumps({"id": "evt_3", "type": "customer.created"}).encode()
    )
    assert [r.status_code for r in (forged, stale, altered)] == [400, 400, 400]
    assert forged.headers["content-type"] == "application/problem+json"
    assert forged.json()["field"] == "Stripe-Signature"
    assert "5-minute" in stale.json()["detail"]
    assert taken.status_code == 200
    assert again.json()["duplicate"] is True
    assert other_event.status_code == 200
    assert other_type.json()["ignored"] == "customer.created"
    status = await rig.status_when(account_id, lambda s: s.payments)
    assert [(p.payment_id, p.amount) for p in status.payments] == [("pi_1", Decimal("25.00"))]
    assert status.balance == Decimal("275.00")
    assert status.duplicate_payments == []  # the ledger knew pi_1: the journey was told once
    assert [p.payment_id for p in PaymentLedger(rig.store).for_account(account_id)] == ["pi_1"]


async def test_a_link_opened_is_one_engagement_and_too_many_requests_slow_down(
    rig: Rig, http: httpx.AsyncClient
) -> None:
    account_id, link = await rig.customer()
    answers = [(await http.get(link, headers=BROWSER)).status_code for _ in range(61)]
    assert answers[:60] == [200] * 60
    assert answers[60] == 429
    await rig.eventually(lambda: _engagements(rig, account_id))
    assert await _engagements(rig, account_id) == 1  # one per message, however many opens


async def _engagements(rig: Rig, account_id: str) -> int:
    history = await rig.client.get_workflow_handle(workflow_id(account_id)).fetch_history()
    return sum(
        1
        for e in history.events
        if e.workflow_execution_signaled_event_attributes.signal_name == "engagement"
    )
