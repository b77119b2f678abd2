"""The provider's hosted page in a real browser, on another origin than the portal and
than the provider's API (two loopback ports, as Stripe's checkout.stripe.com and
api.stripe.com are): pay now and update details reach it and come back to a receipt.
Chromium applies the portal's CSP `form-action` to the redirect after the form's POST,
which is what broke the real provider's flow while the tests used the same origin."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, expect

from rapport.contract.names import workflow_id
from rapport.store.checkouts import CheckoutBook
from tests.payments.stand_in import ProviderRig, provider_rig
from tests.web.browser import PHONE, browser, shot

__all__ = ["browser"]
pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


@pytest_asyncio.fixture(scope="module")
async def stand_in(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ProviderRig]:
    async with provider_rig(tmp_path_factory.mktemp("payments-browser")) as rigged:
        yield rigged


@pytest_asyncio.fixture
async def phone(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(**PHONE)
    page = await context.new_page()
    page.set_default_timeout(15_000)
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security" in m.text else None)
    yield page
    await context.close()
    assert blocked == []  # no CSP refusal on the way


async def signed_in(page: Page, link: str) -> None:
    await page.goto(link)
    await page.get_by_label("The last 4 digits of the phone number we texted").fill("0100")
    await page.get_by_role("button", name="Continue").click()


async def test_pay_now_reaches_the_providers_page_and_comes_back_to_a_receipt(
    stand_in: ProviderRig, phone: Page
) -> None:
    rig = stand_in.rig
    account_id, link = await rig.customer()
    await signed_in(phone, link)
    await phone.get_by_role("button", name="Pay $300.00 now").click()
    await expect(phone.get_by_text("300.00 USD")).to_be_visible()
    assert phone.url.startswith(f"{stand_in.pages}/pay/")  # the provider's own origin
    await shot(phone, "payments-1-provider")
    await phone.get_by_role("button", name="Pay").click()
    await expect(
        phone.get_by_role("heading", name="Thank you! Your payment is in.")
    ).to_be_visible()
    assert phone.url.startswith(f"{rig.web}/p/")
    assert link.rsplit("/", 1)[1] not in phone.url  # a reference, never the token
    await expect(phone.get_by_text("$300.00")).to_be_visible()
    reference = (await phone.locator("code").inner_text()).strip()
    assert reference.startswith("pi_dev_")
    await shot(phone, "payments-2-receipt")
    result = await rig.client.get_workflow_handle(workflow_id(account_id)).result()
    assert (result["outcome"], result["paid"]) == ("paid", True)
    status = await rig.status(account_id)
    assert [(p.payment_id, p.amount) for p in status.payments] == [(reference, Decimal("300.00"))]


async def test_update_details_reaches_the_providers_page_and_is_saved(
    stand_in: ProviderRig, phone: Page
) -> None:
    rig = stand_in.rig
    account_id, link = await rig.customer()
    await signed_in(phone, link)
    await phone.get_by_role("link", name="Update my card or bank details").click()
    await phone.get_by_role("button", name="Continue").click()
    await expect(phone.get_by_text("new payment details")).to_be_visible()
    assert phone.url.startswith(f"{stand_in.pages}/pay/")
    await phone.get_by_role("button", name="Save details").click()
    await expect(phone.get_by_role("heading", name="Your new details are saved")).to_be_visible()
    await shot(phone, "payments-3-details-saved")
    methods = CheckoutBook(rig.store).methods(account_id)
    assert [m[0][:7] for m in methods] == ["pm_dev_"]


async def test_leaving_the_providers_page_charges_nothing(
    stand_in: ProviderRig, phone: Page
) -> None:
    rig = stand_in.rig
    account_id, link = await rig.customer(customer__locale="es-ES")
    await phone.goto(link)
    await phone.get_by_label("Los últimos 4 dígitos del teléfono al que le escribimos").fill("0100")
    await phone.get_by_role("button", name="Continuar").click()
    await phone.get_by_role("link", name="Pagar una parte").click()
    await phone.get_by_label("Importe (USD)").fill("1,200")
    await phone.get_by_role("button", name="Continuar al pago").click()
    await expect(phone.get_by_role("alert")).to_contain_text("1.200,00")
    await shot(phone, "payments-4-ambiguous-es")
    await phone.get_by_label("Importe (USD)").fill("20,50")
    await phone.get_by_role("button", name="Continuar al pago").click()
    await phone.get_by_role("link", name="Cancel").click()
    await expect(phone.get_by_role("heading", name="No se cobró nada")).to_be_visible()
    assert (await rig.status(account_id)).payments == []
