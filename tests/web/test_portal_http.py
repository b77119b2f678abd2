"""The portal and the payments webhook over plain HTTP: what a forged, expired or
revoked link gets, what a page says before the identity check (nothing about the debt)
and after it (the account's reference and the creditor's contact details on every
page), the check and its lock, unknown sections, CSRF, rate limits, the webhook's
signature, tolerance and dedupe, hardship and dispute, the receipt."""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import pytest_asyncio
from click.testing import CliRunner

from rapport.cli import main
from rapport.contract.names import workflow_id
from rapport.contract.portal import SECTIONS
from rapport.payments.events import signature_header
from rapport.store.links import Link, LinkBook
from rapport.store.payments import PaymentLedger
from rapport.web.portal.speech import Speech
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


async def test_before_the_check_a_page_says_nothing_about_the_debt(
    rig: Rig, http: httpx.AsyncClient
) -> None:
    """Regulation F 1006.6(d): a shared phone or inbox learns only the creditor's name,
    that a check is asked, and how to stop messages (no amount, no account)."""
    account_id, link = await rig.customer()
    for section in SECTIONS:
        if section.open:
            continue
        page = await http.get(f"{link}/{section.slug}".rstrip("/"))
        assert page.status_code == 200, section.slug
        assert "Confirm it's you" in page.text, section.slug
        assert "Rapport Demo Energy" in page.text
        assert f'<a href="/r/{link.rsplit("/", 1)[1]}/opt-out">Stop messages</a>' in page.text
        for secret in ("300.00", "300", "Amount due", "Robin", "0100", account_id[-4:]):
            assert secret not in page.text, (section.slug, secret)
        assert "555-0100" not in page.text  # no contact block either: the name alone
    headers = page.headers
    assert headers["Cache-Control"] == "no-store"
    assert headers["X-Frame-Options"] == "DENY"
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert "<script" not in page.text


async def test_after_the_check_every_page_shows_the_account_and_how_to_reach_the_creditor(
    rig: Rig, http: httpx.AsyncClient
) -> None:
    account_id, link = await rig.customer()
    await signed_in(http, link)
    for section in SECTIONS:
        page = await http.get(f"{link}/{section.slug}".rstrip("/"))
        assert page.status_code == 200, section.slug
        assert f"Account ending in {account_id[-4:]}" in page.text, section.slug
        assert '<a href="tel:+18005550100" class="phone">(800) 555-0100</a>' in page.text
        assert "We answer Monday to Friday, 8:00" in page.text, section.slug
        assert "(Eastern Time)" in page.text
    options = await http.get(link)
    assert "$300.00" in options.text
    talk = await http.get(f"{link}/talk")
    zone = ZoneInfo((await rig.status(account_id)).timezone)
    labels = re.findall(r'<label for="at-\d">([^<]+)</label>', talk.text)
    named = Speech.of("en-US", None).zone(datetime.now(zone))  # (GMT-03:00) for the rig's
    assert labels
    assert all(label.endswith(f"M {named}") for label in labels), labels  # each time, its zone


async def test_spanish_pages_write_money_hours_and_the_phone_for_mexico(
    rig: Rig, http: httpx.AsyncClient
) -> None:
    _, link = await rig.customer(customer__locale="es-MX")
    await signed_in(http, link)
    page = await http.get(link)
    assert "Pagar USD\xa0300.00 ahora" in page.text  # CLDR's es-MX, not USD300.00
    assert "+1 800-555-0100" in page.text  # dialled from Mexico
    assert (
        "Atendemos de lunes a viernes, 8:00\u202fa.m.\u2009\u2013\u20098:00\u202fp.m. (hora oriental)"
        in page.text
    )


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
    assert "1 more time." in answers[3].text
    assert right.status_code == 403
    assert "Too many tries" in right.text
    assert "rp_" not in right.headers.get("set-cookie", "")
    # the lock page says whom to call, and when (there is no bill to look at)
    assert "Call Rapport Demo Energy on" in right.text
    assert 'href="tel:+18005550100"' in right.text
    assert "We answer Monday to Friday, 8:00" in right.text
    assert "number on your bill" not in right.text
    assert "300.00" not in right.text


async def test_an_unknown_section_is_a_404_that_does_nothing(
    rig: Rig, http: httpx.AsyncClient
) -> None:
    """No slug outside the table reaches a handler, and a page without a form takes none:
    a made-up section never falls through to a default action (paying, stopping)."""
    account_id, link = await rig.customer()
    token = await signed_in(http, link)
    sent = {"csrf": token, "channel": "all", "amount": "full", "installments": "3"}
    for slug in ("nothing", "Pay", "pay-", "opt_out", "check-", "%2e%2e", "pay%2fpart"):
        shown = await http.get(f"{link}/{slug}")
        acted = await http.post(f"{link}/{slug}", data=sent)
        assert (shown.status_code, acted.status_code) == (404, 404), slug
        assert "This link does not work" in acted.text
    for slug in ("thanks",):  # a page of the table that takes no form
        acted = await http.post(f"{link}/{slug}", data=sent)
        assert acted.status_code == 405
        assert acted.headers["allow"] == "GET, HEAD"
    status = await rig.status(account_id)
    assert (status.outcome, status.payments, status.suppressed_channels) == (None, [], [])
    assert rig.consent.refusal(account_id, "sms", None) is None


async def test_the_thanks_page_is_a_receipt_of_the_latest_payment(
    rig: Rig, http: httpx.AsyncClient
) -> None:
    account_id, link = await rig.customer()
    await signed_in(http, link)
    before = await http.get(f"{link}/thanks")
    opened(rig.store, account_id, "pi_thanks", 4000)  # the portal's own checkout
    body = event(account_id, "evt_thanks", "pi_thanks", 4000, session="cs_pi_thanks")
    assert (await post_event(http, rig, body)).status_code == 200
    await rig.status_when(account_id, lambda s: s.payments)
    after = await http.get(f"{link}/thanks")
    assert "Your payment is on its way to us" in before.text
    assert "Here is your latest payment." in after.text
    for shown in ("$40.00", "USD", "<code>pi_thanks</code>", datetime.now(UTC).strftime("%Y")):
        assert shown in after.text
    assert "$260.00" in after.text  # still due


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


def event(account_id: str, event_id: str, intent: str, cents: int, session: str = "cs_1") -> bytes:
    return json.dumps(
        {
            "id": event_id,
            "type": "checkout.session.completed",
            "data": {
                "object": {
                    "id": session,
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


@pytest.mark.slow
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


async def test_a_plan_as_an_attacker_would_choose_it(rig: Rig, http: httpx.AsyncClient) -> None:
    """Forms the page never offers: a frequency not allowed, a count not allowed, the
    installment button with no plan; then the same plan twice (one plan) and, on the
    plan, an installment paid with an amount of the attacker's own (the installment's)."""
    account_id, link = await rig.customer("portal-plans")
    token = await signed_in(http, link)
    none_yet = await http.post(f"{link}/installment", data={"csrf": token, "amount": "0.01"})
    assert none_yet.status_code == 409
    assert "Spread it over a few payments" in none_yet.text  # the landing page, no checkout
    yearly = await http.post(
        f"{link}/plan", data={"csrf": token, "installments": "3", "every": "yearly"}
    )
    assert yearly.status_code == 422
    nine = await http.post(
        f"{link}/plan", data={"csrf": token, "installments": "9", "every": "monthly"}
    )
    assert nine.status_code == 409
    assert "We could not set up that plan" in nine.text
    assert (await rig.status(account_id)).plan is None
    for _ in range(2):  # a double tap
        chosen = await http.post(
            f"{link}/plan", data={"csrf": token, "installments": "3", "every": "monthly"}
        )
        assert chosen.status_code == 200
        assert "Your plan is set up" in chosen.text
    status = await rig.status(account_id)
    assert status.plan is not None
    assert (status.plan.number, status.earlier_plans) == (1, [])
    paying = await http.post(f"{link}/installment", data={"csrf": token, "amount": "0.01"})
    assert paying.status_code == 303
    page = await http.get(paying.headers["location"])
    assert "100.00" in page.text  # the provider's page: the installment's amount
    assert "0.01" not in page.text
