"""The way to the provider's page and back, over HTTP, with the provider's stand-in on
two origins of its own: sessions expire in 30 minutes and are created once per tap
(Idempotency-Key; a second tap or tab goes back to the open one), return URLs carry a
server-side reference (never the portal token), the receipt is only for the browser
that paid, the provider's minimum is checked first, and amounts are read as the
customer's locale writes them."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest
import pytest_asyncio

from tests.payments.stand_in import ProviderRig, provider_rig
from tests.web.test_portal_http import signed_in

pytestmark = pytest.mark.timeout(180)


@pytest_asyncio.fixture(scope="module")
async def stand_in(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ProviderRig]:
    async with provider_rig(tmp_path_factory.mktemp("checkout")) as rigged:
        yield rigged


@pytest.mark.slow
async def test_a_tap_on_pay_makes_one_session_that_expires_and_never_names_the_token(
    stand_in: ProviderRig,
) -> None:
    rig, provider = stand_in.rig, stand_in.provider
    _, link = await rig.customer()
    token = link.rsplit("/", 1)[1]
    async with httpx.AsyncClient() as http:
        form = {"csrf": await signed_in(http, link), "amount": "full"}
        landing = await http.get(link)
        before = provider.created
        first = await http.post(f"{link}/pay", data=form)
        second = await http.post(f"{link}/pay", data=form)  # a second tap, or tab
    # browsers apply form-action to the redirect after the POST: the pages' origin is listed
    assert f"form-action 'self' {stand_in.pages}" in landing.headers["content-security-policy"]
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert first.headers["location"].startswith(f"{stand_in.pages}/pay/cs_dev_")
    assert provider.created == before + 1
    session = provider.sessions[first.headers["location"].rsplit("/", 1)[1]]
    assert 30 * 60 <= session.expires_at - time.time() <= 32 * 60
    assert session.idempotency_key.startswith("rapport-checkout-")
    assert token not in session.success_url + session.cancel_url
    assert re.fullmatch(rf"{rig.web}/p/[\w-]{{22}}", session.success_url)
    assert session.cancel_url == f"{session.success_url}/cancel"
    assert session.metadata["account_id"] == session.account_id
    assert (session.amount, session.currency) == (30000, "usd")


async def test_the_receipt_is_for_the_browser_that_paid_only(stand_in: ProviderRig) -> None:
    rig = stand_in.rig
    account_id, link = await rig.customer()
    async with httpx.AsyncClient() as http:
        form = {"csrf": await signed_in(http, link), "amount": "12.50"}
        started = await http.post(f"{link}/pay-part", data=form)
        paid = await http.post(started.headers["location"])  # the stand-in's Pay button
        receipt = await http.get(paid.headers["location"])
    async with httpx.AsyncClient() as stranger:
        elsewhere = await stranger.get(paid.headers["location"])
    assert receipt.status_code == 200
    assert "Thank you! Your payment is in." in receipt.text
    assert "$12.50" in receipt.text
    assert re.search(r"<code>pi_dev_[\w-]+</code>", receipt.text)
    assert elsewhere.status_code == 404
    assert "$12.50" not in elsewhere.text
    status = await rig.status_when(account_id, lambda s: s.payments)
    assert status.balance == Decimal("287.50")
    assert status.payments[0].payment_id in receipt.text


async def test_the_providers_minimum_is_checked_before_anyone_is_sent(
    stand_in: ProviderRig,
) -> None:
    rig = stand_in.rig
    _, link = await rig.customer()
    async with httpx.AsyncClient() as http:
        token = await signed_in(http, link)
        before = stand_in.provider.created
        answer = await http.post(f"{link}/pay-part", data={"csrf": token, "amount": "0.30"})
    assert answer.status_code == 422
    assert "That is less than $0.50." in answer.text  # the provider's least, in the hint too
    assert "Any amount from $0.50 to $300.00." in answer.text
    assert stand_in.provider.created == before


@pytest.mark.parametrize(
    ("locale", "typed", "says"),
    [
        ("en-US", "1,200", "more than you owe"),  # twelve hundred: read, then too much
        ("en-US", "$20", None),
        ("es-ES", "1,200", "Podríamos leerlo como 1.200,00 o como 1,20"),
        ("es-ES", "20,50", None),
        ("es-MX", "1.200,50", "¿Quiso decir 1,200.50?"),
        ("en-US", "20.00.00", "Please enter an amount, such as 25.00."),  # not "2,000.00?"
    ],
)
async def test_amounts_as_the_customer_types_them(
    stand_in: ProviderRig, locale: str, typed: str, says: str | None
) -> None:
    _, link = await stand_in.rig.customer(customer__locale=locale)
    async with httpx.AsyncClient() as http:
        token = await signed_in(http, link)
        answer = await http.post(f"{link}/pay-part", data={"csrf": token, "amount": typed})
    if says is None:
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"].startswith(stand_in.pages)
    else:
        assert answer.status_code == 422
        assert says in answer.text


@pytest.mark.slow
async def test_a_provider_page_the_portal_was_not_told_of_gets_a_plain_link(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Misconfigured (RAPPORT_PAYMENT_PAGE_URL unset with another provider's pages): the
    portal does not send the browser where its own CSP forbids; it offers a link."""
    async with provider_rig(tmp_path_factory.mktemp("unknown"), page_origin_known=False) as s:
        _, link = await s.rig.customer()
        async with httpx.AsyncClient() as http:
            form = {"csrf": await signed_in(http, link), "amount": "full"}
            answer = await http.post(f"{link}/pay", data=form)
    assert answer.status_code == 200
    assert f'href="{s.pages}/pay/cs_dev_' in answer.text
    assert (
        "form-action 'self' https://checkout.stripe.com"
        in answer.headers["content-security-policy"]
    )


@pytest.mark.parametrize(("currency", "balance"), [("IDR", "150000"), ("COP", "85000")])
async def test_a_currency_stripe_writes_with_two_places_is_charged_in_full(
    stand_in: ProviderRig, currency: str, balance: str
) -> None:
    """CLDR writes rupiah and Colombian pesos without decimals; Stripe's API takes every
    currency but its zero- and three-decimal ones in hundredths. Rp 150.000 is sent as
    15000000 (not 150000, Rp 1.500 at Stripe) and read back as Rp 150.000."""
    rig = stand_in.rig
    account_id, link = await rig.customer(currency=currency, balance=balance)
    async with httpx.AsyncClient() as http:
        form = {"csrf": await signed_in(http, link), "amount": "full"}
        started = await http.post(f"{link}/pay", data=form)
        session = stand_in.provider.sessions[started.headers["location"].rsplit("/", 1)[1]]
        page = await http.get(started.headers["location"])
        paid = await http.post(started.headers["location"])  # the stand-in's Pay button
        receipt = await http.get(paid.headers["location"])
    assert (session.amount, session.currency) == (int(balance) * 100, currency.lower())
    assert f"{balance} {currency}" in page.text  # what the provider's page charges
    assert receipt.status_code == 200
    status = await rig.status_when(account_id, lambda s: s.payments)
    assert [(p.amount, status.balance) for p in status.payments] == [(Decimal(balance), Decimal(0))]
    assert status.outcome == "paid"


async def test_leaving_the_providers_page_after_paying_does_not_say_nothing_was_charged(
    stand_in: ProviderRig,
) -> None:
    """Two tabs on one session (a second tap goes back to the open one): one pays, the
    other is left with the provider's back link. The page it lands on said "Nothing was
    charged" whatever the ledger held; it says what was paid."""
    rig = stand_in.rig
    account_id, link = await rig.customer()
    async with httpx.AsyncClient() as http:
        form = {"csrf": await signed_in(http, link), "amount": "20.00"}
        started = await http.post(f"{link}/pay-part", data=form)
        session = stand_in.provider.sessions[started.headers["location"].rsplit("/", 1)[1]]
        left_before = await http.get(session.cancel_url)
        paid = await http.post(started.headers["location"])  # the first tab pays
        await rig.status_when(account_id, lambda s: s.payments)
        left_after = await http.get(session.cancel_url)  # the second tab leaves
    assert "Nothing was charged" in left_before.text
    assert left_after.status_code == 200
    assert "Nothing was charged" not in left_after.text
    assert "Thank you! Your payment is in." in left_after.text
    assert "$20.00" in left_after.text
    assert paid.headers["location"] == session.success_url
